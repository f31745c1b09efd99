"""Who looks at the region: the people allowed to see «Мониторинг» across every college."""

from django.db import models
from django.utils import timezone

from directory.models import Person


class RegionAdministrator(models.Model):
    """A region administrator (РОИВ): sees «Мониторинг» of all colleges and drills into any.

    Kept apart from `Person` so that the directory import never touches it: support grants it
    in Django admin."""

    person = models.OneToOneField(
        Person,
        on_delete=models.CASCADE,
        verbose_name="человек",
        related_name="region_administrator",
    )
    granted_at = models.DateTimeField("назначен", default=timezone.now)

    class Meta:
        verbose_name = "администратор региона"
        verbose_name_plural = "администраторы региона"
        ordering = ["person__last_name", "person__first_name"]

    def __str__(self) -> str:
        return str(self.person)
