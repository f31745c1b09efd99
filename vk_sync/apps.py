from django.apps import AppConfig


class VkSyncConfig(AppConfig):
    name = "vk_sync"
    verbose_name = "VK Мессенджер"
