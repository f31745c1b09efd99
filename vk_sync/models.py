"""What ties the journal to VK Messenger: people's VK ID links (the remote-state tables come
with the push)."""

from django.db import models
from django.utils import timezone

from directory.models import Person


class VkLink(models.Model):
    """A person's «учебный профиль VK ID»: one VK account per person and one person per account."""

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, verbose_name="человек", related_name="vk_link"
    )
    vk_user_id = models.BigIntegerField("VK ID пользователя", unique=True)
    linked_at = models.DateTimeField("привязан", default=timezone.now)

    class Meta:
        verbose_name = "привязка VK ID"
        verbose_name_plural = "привязки VK ID"
        ordering = ["-linked_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(vk_user_id__gt=0), name="vklink_vk_user_id_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} → id{self.vk_user_id}"
