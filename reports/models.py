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


class CollegeSummary(models.Model):
    """One college's «Мониторинг» figures as of `computed_at`: what the region's page reads.

    The region's figures over every person, chat and call take a second or more to count at a
    region's size (issue 9), so they are counted ahead, all colleges in one statement
    (`reports.services.summarize_colleges`), and the page reads a row per college and says how
    old they are. A college's own page still counts live."""

    organization = models.OneToOneField(
        "directory.Organization",
        on_delete=models.CASCADE,
        primary_key=True,
        verbose_name="организация",
        related_name="monitoring_summary",
    )
    computed_at = models.DateTimeField("данные на")
    staff_total = models.PositiveIntegerField("сотрудников")
    staff_linked = models.PositiveIntegerField("сотрудников с VK ID")
    teachers_total = models.PositiveIntegerField("преподавателей")
    teachers_linked = models.PositiveIntegerField("преподавателей с VK ID")
    students_total = models.PositiveIntegerField("обучающихся")
    students_linked = models.PositiveIntegerField("обучающихся с VK ID")
    parents_total = models.PositiveIntegerField("родителей")
    parents_linked = models.PositiveIntegerField("родителей с VK ID")
    groups_total = models.PositiveIntegerField("групп")
    groups_uncurated = models.PositiveIntegerField("групп без куратора")
    chats_total = models.PositiveIntegerField("чатов VK Мессенджера")
    chats_unadministered = models.PositiveIntegerField("чатов без администратора с VK ID")
    chats_with_call = models.PositiveIntegerField("чатов со звонком на этой неделе")
    last_run_status = models.CharField("последняя передача", max_length=16, blank=True)
    last_run_started_at = models.DateTimeField("начало передачи", null=True, blank=True)
    last_run_finished_at = models.DateTimeField("окончание передачи", null=True, blank=True)
    failed_chats = models.PositiveIntegerField("чатов с ошибкой")
    failed_calls = models.PositiveIntegerField("звонков с ошибкой")
    # Calls published in each of the eight weeks from `weeks_from` (a Monday on the product's
    # clock, the region chart's), oldest first.
    weeks_from = models.DateField("недели звонков с")
    week_0 = models.PositiveIntegerField(default=0)
    week_1 = models.PositiveIntegerField(default=0)
    week_2 = models.PositiveIntegerField(default=0)
    week_3 = models.PositiveIntegerField(default=0)
    week_4 = models.PositiveIntegerField(default=0)
    week_5 = models.PositiveIntegerField(default=0)
    week_6 = models.PositiveIntegerField(default=0)
    week_7 = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "сводка «Мониторинга» колледжа"
        verbose_name_plural = "сводки «Мониторинга» колледжей"

    def __str__(self) -> str:
        return f"{self.organization_id} на {self.computed_at:%d.%m.%Y %H:%M}"
