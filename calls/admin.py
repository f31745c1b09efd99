"""Django admin of online calls, for support staff: find a call and see who did what to it.

View only: every change to a call goes through `calls.services`, which checks the person's
rights, writes the audit log and hands the call to the messenger; an edit here would skip all
three. The audit log itself lists the call's history.
"""

from django.contrib import admin

from calls.models import OnlineCall
from config.admin import ReadOnlyAdmin


class DeletedFilter(admin.SimpleListFilter):
    title = "удалён"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return (("no", "Нет"), ("yes", "Да"))

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(OnlineCall)
class OnlineCallAdmin(ReadOnlyAdmin):
    list_display = ("title", "chat", "organization", "status", "starts_at", "last_actor", "deleted")
    list_filter = ("status", DeletedFilter, "chat__organization")
    search_fields = ("title", "chat__title")
    list_select_related = ("chat__organization", "last_actor")
    list_per_page = 50
    # The unfiltered total costs a second COUNT over a region's table on every page.
    show_full_result_count = False
    fields = (
        "chat",
        "title",
        "starts_at",
        "lesson",
        "status",
        "created_by",
        "created_at",
        "last_actor",
        "published_at",
        "finished_at",
        "changed_at",
        "deleted_at",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("chat__organization", "last_actor", "created_by", "lesson")
        )

    @admin.display(description="организация", ordering="chat__organization__short_name")
    def organization(self, obj: OnlineCall) -> str:
        return str(obj.chat.organization)

    @admin.display(description="удалён", boolean=True, ordering="deleted_at")
    def deleted(self, obj: OnlineCall) -> bool:
        return obj.is_deleted
