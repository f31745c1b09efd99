from django.apps import AppConfig


class EposChatsConfig(AppConfig):
    name = "epos_chats"
    verbose_name = "Чаты"
