"""Django admin of chats, for support staff.

F12 holds here as on every other path: a mandatory chat, its name and its members can be looked
at, not changed or deleted, whatever request is crafted; `ensure_editable` decides, as it does
for the services. Deleting a chat only marks it deleted (F18): the push then removes its members
in the messenger, where the chat itself stays.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.text import Truncator

from config.admin import ReadOnlyAdmin
from directory.admin import person_search
from directory.models import Teaching
from epos_chats.models import AuditEvent, Chat, ChatMember, RebuildRun
from epos_chats.services import ChatError, chat_delete_by_support, ensure_editable

# What support may create here; the mandatory kinds come only from the nightly rebuild (F11).
CREATABLE_KINDS = [(kind.value, kind.label) for kind in (Chat.Kind.CUSTOM, Chat.Kind.DISCIPLINE)]
MANDATORY_REFUSED = (
    "Обязательные чаты («Преподаватели», «Группа …», «Родители …») создаёт и пересобирает по "
    "справочнику только ночная пересборка: создать или изменить такой чат здесь нельзя."
)


def is_locked(chat: Chat) -> bool:
    """True when the rules (F12, or a deleted chat) keep `chat` from being changed."""
    try:
        ensure_editable(chat)
    except ChatError:
        return True
    return False


def _member_total() -> Coalesce:
    """Members per chat as a subquery: one page query, and the changelist keeps its ordering."""
    members = ChatMember.objects.filter(chat=OuterRef("pk")).order_by().values("chat")
    members = members.annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(members, output_field=IntegerField()), 0)


class DeletedFilter(admin.SimpleListFilter):
    title = "удалён"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Действующие"), ("yes", "Удалённые")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class ChatForm(forms.ModelForm):
    class Meta:
        model = Chat
        fields = ("organization", "kind", "platform", "title", "group", "teaching", "created_by")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:
            self.fields["kind"].choices = CREATABLE_KINDS

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind", self.instance.kind)
        if kind in Chat.MANDATORY_KINDS:
            raise ValidationError(MANDATORY_REFUSED, code="mandatory")
        organization = cleaned.get("organization") or getattr(self.instance, "organization", None)
        teaching = cleaned.get("teaching")
        if "teaching" in self.fields and kind == Chat.Kind.DISCIPLINE and teaching is None:
            self.add_error("teaching", "Для чата «Дисциплина» выберите группу по дисциплине.")
        for name in ("group", "teaching"):
            value = cleaned.get(name)
            if value is not None and organization and value.organization_id != organization.pk:
                self.add_error(name, f"Выберите из организации «{organization}».")
        return cleaned


class ChatMemberInline(admin.TabularInline):
    """The members as they are: the person is fixed, the admin right and removal are not.

    The person is shown read-only so a chat of hundreds renders without a query per row.
    """

    model = ChatMember
    verbose_name_plural = "участники"
    extra = 0
    fields = ("person", "login", "is_admin", "added_at")
    readonly_fields = ("person", "login", "added_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person")

    @admin.display(description="логин")
    def login(self, obj: ChatMember) -> str:
        return obj.person.login

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return not (obj and is_locked(obj)) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj and is_locked(obj)) and super().has_delete_permission(request, obj)


class NewMembersFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        # Django leaves a UniqueConstraint through the parent's key unchecked in inline forms,
        # so a repeated member would reach the database as an IntegrityError.
        present = set()
        if self.instance.pk is not None:
            present = set(self.instance.members.values_list("person_id", flat=True))
        repeated = []
        for form in self.forms:
            person = getattr(form, "cleaned_data", {}).get("person")
            if person is None:
                continue
            if person.pk in present:
                repeated.append(person)
            present.add(person.pk)
        if repeated:
            names = ", ".join(person.short_name for person in repeated)
            raise ValidationError(f"Уже в чате: {names}.")


class NewChatMemberInline(admin.TabularInline):
    """Rows to add people by login or FIO."""

    model = ChatMember
    formset = NewMembersFormSet
    verbose_name = "новый участник"
    verbose_name_plural = "добавить участников"
    extra = 3
    fields = ("person", "is_admin")
    autocomplete_fields = ("person",)

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def has_add_permission(self, request, obj=None):
        return not (obj and is_locked(obj)) and super().has_add_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
    form = ChatForm
    list_display = (
        "title",
        "organization",
        "kind",
        "platform",
        "member_count",
        "changed_at",
        "deleted_at",
    )
    list_filter = ("organization", "kind", "platform", DeletedFilter)
    search_fields = ("title", *person_search("members__person"))
    list_select_related = ("organization",)
    autocomplete_fields = ("organization", "group", "teaching", "created_by")
    list_per_page = 50
    # The unfiltered total costs a second COUNT over a region's chats on every page.
    show_full_result_count = False
    actions = ["delete_selected"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)
            .annotate(member_total=_member_total())
        )

    @admin.display(description="участников", ordering="member_total")
    def member_count(self, obj: Chat) -> int:
        return obj.member_total

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("organization", "kind", "platform", "title", "teaching", "created_by")
        return (
            "organization",
            "kind",
            "platform",
            "title",
            "group",
            "teaching",
            "created_by",
            "created_at",
            "changed_at",
            "deleted_at",
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # What a chat is (its college, kind, platform, group) is fixed once it exists; the
        # name of a «Дисциплина» chat follows its group-by-discipline (F16).
        fixed = ["organization", "kind", "platform", "group", "teaching", "created_by"]
        fixed += ["created_at", "changed_at", "deleted_at"]
        if obj.kind == Chat.Kind.DISCIPLINE:
            fixed.append("title")
        return fixed

    def get_inlines(self, request, obj):
        if obj is None:
            return (NewChatMemberInline,)
        if is_locked(obj):
            return (ChatMemberInline,)
        return (ChatMemberInline, NewChatMemberInline)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "teaching":
            # str() of a teaching reads its group and discipline.
            kwargs["queryset"] = Teaching.objects.select_related("group", "discipline")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return not (obj and is_locked(obj)) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj and is_locked(obj)) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # The permission checks already stopped a mandatory chat; this is the last line.
        if obj.is_mandatory or (change and is_locked(obj)):
            raise PermissionDenied(MANDATORY_REFUSED)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change and (form.has_changed() or any(fs.has_changed() for fs in formsets)):
            # The push compares this moment with what the messenger was last told.
            Chat.objects.filter(pk=form.instance.pk).update(changed_at=timezone.now())

    # Deletion: nothing cascades, the chat is only marked deleted.

    def get_deleted_objects(self, objs, request):
        chats = list(objs)
        perms_needed = {"обязательный чат"} if any(chat.is_mandatory for chat in chats) else set()
        described = [f"Чат «{chat}»: будет помечен удалённым, состав сохранится" for chat in chats]
        return described, {Chat._meta.verbose_name_plural: len(chats)}, perms_needed, []

    def delete_model(self, request, obj):
        self.delete_queryset(request, Chat.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        if queryset.mandatory().exists():
            raise PermissionDenied(MANDATORY_REFUSED)
        # Through the service: the same soft delete and audit record as on the «Чаты» page.
        for chat in queryset.filter(deleted_at__isnull=True):
            chat_delete_by_support(actor=request.user, chat=chat)

    @admin.action(permissions=["delete"], description="Удалить выбранные %(verbose_name_plural)s")
    def delete_selected(self, request, queryset):
        mandatory = list(queryset.mandatory().values_list("title", flat=True)[:6])
        if mandatory:
            shown = ", ".join(f"«{title}»" for title in mandatory[:5])
            more = " и другие" if len(mandatory) > 5 else ""
            self.message_user(
                request,
                f"Ничего не удалено: среди выбранных есть обязательные чаты ({shown}{more}). "
                "Их ведёт ночная пересборка по справочнику, удалить их нельзя — снимите их "
                "с выбора.",
                messages.ERROR,
            )
            return None
        return django_delete_selected(self, request, queryset)


@admin.register(RebuildRun)
class RebuildRunAdmin(ReadOnlyAdmin):
    """What each night's rebuild changed, or why it stopped (B2): read-only."""

    list_display = ("started_at", "organization", "status", "chats", "members", "short_message")
    list_filter = ("organization", "status")
    list_select_related = ("organization",)
    date_hierarchy = "started_at"
    list_per_page = 50
    show_full_result_count = False

    @admin.display(description="чаты")
    def chats(self, obj: RebuildRun) -> str:
        return _counts(
            ("создано", obj.chats_created),
            ("восстановлено", obj.chats_restored),
            ("переименовано", obj.chats_renamed),
            ("удалено", obj.chats_deleted),
        )

    @admin.display(description="участники")
    def members(self, obj: RebuildRun) -> str:
        return _counts(
            ("добавлено", obj.members_added),
            ("удалено", obj.members_removed),
            ("прав изменено", obj.admins_changed),
        )

    @admin.display(description="пояснение")
    def short_message(self, obj: RebuildRun) -> str:
        return Truncator(obj.message).chars(120) or "—"


def _counts(*pairs: tuple[str, int]) -> str:
    return ", ".join(f"{label} {n}" for label, n in pairs if n) or "—"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """B4: the journal of actions, read-only: a record that could be edited proves nothing."""

    list_display = ("at", "organization", "actor_display", "action", "object_type", "object_repr")
    list_filter = ("action", "object_type", "organization", ("at", admin.DateFieldListFilter))
    search_fields = ("object_repr", "actor__login", "actor__last_name", "actor__first_name")
    list_select_related = ("organization", "actor")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    @admin.display(description="кто", ordering="actor__last_name")
    def actor_display(self, event):
        return event.actor.short_name if event.actor_id else "система"
