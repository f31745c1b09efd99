"""Django admin of VK ID links, for support staff: find whose VK account is whose.

Saving and deleting go through `vk_sync.services`, like the support commands, so a link made
here reaches the messenger the same way as one made by the person.
"""

from django.contrib import admin, messages

from config.admin import ReadOnlyAdmin
from directory.admin import person_search
from vk_sync.models import RemoteCall, RemoteChat, SyncRun, VkLink
from vk_sync.services import link_vk_profile, unlink_vk_profile


@admin.register(VkLink)
class VkLinkAdmin(admin.ModelAdmin):
    list_display = ("person", "login", "vk_user_id", "linked_at")
    # `__exact` on the number: an FIO typed into the search box is not an error.
    search_fields = (*person_search("person"), "vk_user_id__exact")
    list_select_related = ("person",)
    autocomplete_fields = ("person",)
    list_per_page = 50
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # A link belongs to its person: moving it to someone else is an unlink and a link.
        return ("person", "linked_at") if obj is not None else ("linked_at",)

    @admin.display(description="логин", ordering="person__login")
    def login(self, obj: VkLink) -> str:
        return obj.person.login

    def save_model(self, request, obj, form, change):
        link = link_vk_profile(obj.person, obj.vk_user_id, actor=request.user)
        obj.pk, obj.linked_at = link.pk, link.linked_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        unlink_vk_profile(obj.person, actor=request.user)

    def delete_queryset(self, request, queryset):
        for link in queryset.select_related("person"):
            unlink_vk_profile(link.person, actor=request.user)


class ReadOnly(ReadOnlyAdmin):
    """What the messenger holds and what the pushes did: written by the push alone."""


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnly):
    """B1: the history of pushes with their counts and errors; «Повторить» pushes again."""

    list_display = (
        "started_at",
        "organization",
        "trigger",
        "status",
        "chats_touched",
        "calls_touched",
        "operation_count",
        "error_count",
        "finished_at",
    )
    list_filter = ("status", "trigger", "organization")
    list_select_related = ("organization",)
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in SyncRun._meta.fields]
    actions = ["push_again"]

    @admin.display(description="операций")
    def operation_count(self, run: SyncRun) -> int:
        return sum(run.operations.values())

    @admin.display(description="ошибок")
    def error_count(self, run: SyncRun) -> int:
        return len(run.errors)

    def get_actions(self, request):
        # The built-in «delete selected» needs the delete right, which nobody has here; the
        # retry needs only the right to view the runs.
        return {
            name: action
            for name, action in super().get_actions(request).items()
            if name == "push_again"
        }

    @admin.action(description="Повторить передачу для колледжей выбранных запусков")
    def push_again(self, request, queryset):
        _push_again(self, request, queryset.values_list("organization_id", flat=True))


def _push_again(model_admin, request, organization_ids) -> None:
    """Queue a full comparison for each college; the rows are the truth, so it only sends
    what is still different."""
    from vk_sync.tasks import push_organization_task, send_push

    ids = sorted(set(organization_ids))
    for organization_id in ids:
        send_push(push_organization_task, organization_id, SyncRun.Trigger.MANUAL)
    model_admin.message_user(
        request,
        f"Передача поставлена в очередь для колледжей: {len(ids)}. Итог — в «Передачах в "
        "мессенджер».",
        messages.SUCCESS,
    )


class FailedFilter(admin.SimpleListFilter):
    title = "состояние"
    parameter_name = "failed"

    def lookups(self, request, model_admin):
        return (("yes", "с ошибкой"), ("no", "без ошибки"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(last_error="")
        if self.value() == "no":
            return queryset.filter(last_error="")
        return queryset


@admin.register(RemoteChat)
class RemoteChatAdmin(ReadOnly):
    """B1: chats as the messenger holds them; failed ones filtered, «Повторить» on them."""

    list_display = ("chat", "remote_chat_id", "title", "synced_version", "last_error", "error_at")
    list_filter = (FailedFilter, "chat__organization")
    search_fields = ("title", "chat__title", "remote_chat_id__exact")
    list_select_related = ("chat",)
    readonly_fields = [f.name for f in RemoteChat._meta.fields]
    actions = ["push_again"]

    def get_actions(self, request):
        return {k: v for k, v in super().get_actions(request).items() if k == "push_again"}

    @admin.action(description="Повторить передачу этих чатов")
    def push_again(self, request, queryset):
        from vk_sync.tasks import push_chats_task, send_push

        by_org: dict[int, list[int]] = {}
        for chat_id, org_id in queryset.values_list("chat_id", "chat__organization_id"):
            by_org.setdefault(org_id, []).append(chat_id)
        for org_id, chat_ids in by_org.items():
            send_push(push_chats_task, org_id, chat_ids)
        self.message_user(request, "Передача чатов поставлена в очередь.", messages.SUCCESS)


@admin.register(RemoteCall)
class RemoteCallAdmin(ReadOnly):
    list_display = ("call", "remote_call_id", "status", "starts_at", "join_link", "last_error")
    list_filter = (FailedFilter, "status", "call__chat__organization")
    search_fields = ("title", "call__title", "remote_call_id__exact")
    list_select_related = ("call",)
    readonly_fields = [f.name for f in RemoteCall._meta.fields]
    actions = ["push_again"]

    def get_actions(self, request):
        return {k: v for k, v in super().get_actions(request).items() if k == "push_again"}

    @admin.action(description="Повторить передачу этих звонков")
    def push_again(self, request, queryset):
        from vk_sync.tasks import push_call_task, send_push

        for call_id in queryset.values_list("call_id", flat=True):
            send_push(push_call_task, call_id)
        self.message_user(request, "Передача звонков поставлена в очередь.", messages.SUCCESS)
