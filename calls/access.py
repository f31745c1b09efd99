"""Who may manage a chat's online calls (F19): the one rule the pages and the services share."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404

from calls.models import OnlineCall
from directory.models import Organization, Person
from directory.selectors import Roles
from epos_chats.access import membership_of
from epos_chats.models import Chat, ChatMember

NOT_ALLOWED = "Онлайн-звонками чата управляют администратор ОО и администраторы этого чата."


def acts_in(roles: Roles, organization_id: int) -> bool:
    """Roles are per college: rights in one college give nothing in another."""
    return any(
        role is not None and role.organization_id == organization_id
        for role in (roles.staff, roles.student, roles.guardian)
    )


def can_manage_calls(person: Person, roles: Roles, chat: Chat) -> bool:
    """F19: an OO admin for every chat of the college, a chat admin for their chats, mandatory
    chats included; in a deleted chat nobody."""
    if chat.is_deleted or not acts_in(roles, chat.organization_id):
        return False
    if roles.is_admin:
        return True
    # A page that read the chat with the person's `is_chat_admin` need not ask again.
    is_chat_admin = getattr(chat, "is_chat_admin", None)
    if is_chat_admin is not None:
        return bool(is_chat_admin)
    return ChatMember.objects.filter(chat=chat, person=person, is_admin=True).exists()


def call_for_manage(
    person: Person, roles: Roles, organization: Organization | None, call_id: int
) -> OnlineCall:
    """The call the person acts on: 404 for a call of another college, a deleted call or a
    call of a deleted chat; 403 when the person may not manage the chat's calls."""
    if organization is None:
        raise Http404("Онлайн-звонок не найден.")
    call = (
        OnlineCall.objects.alive()
        .filter(pk=call_id, chat__organization=organization, chat__deleted_at__isnull=True)
        .select_related("chat", "lesson", "last_actor")
        .first()
    )
    if call is None:
        raise Http404("Онлайн-звонок не найден.")
    if not can_manage_calls(person, roles, call.chat):
        raise PermissionDenied(NOT_ALLOWED)
    return call


def chat_for_calls(
    person: Person, roles: Roles, organization: Organization | None, chat_id: int
) -> Chat:
    """The chat whose calls the person manages (F19): 404 for a chat of another college, a
    deleted one or an ЭПОС conversation (calls live in the messenger); 403 when the person may
    not manage its calls. The chat comes with `is_chat_admin` for the person."""
    if organization is None:
        raise Http404("Чат не найден.")
    chat = (
        Chat.objects.alive()
        .filter(pk=chat_id, organization=organization, platform=Chat.Platform.VK)
        .select_related("organization", "teaching__discipline", "teaching__group")
        .annotate(is_chat_admin=membership_of(person, admin=True))
        .first()
    )
    if chat is None:
        raise Http404("Чат не найден.")
    if not can_manage_calls(person, roles, chat):
        raise PermissionDenied(NOT_ALLOWED)
    return chat


NOT_A_MEMBER = "Перейти к онлайн-звонку могут участники чата и администратор ОО."


def call_for_join(
    person: Person, roles: Roles, organization: Organization | None, call_id: int
) -> OnlineCall:
    """The call whose page the person opens (F26): its chat's members and the OO admin may.
    404 for a call of another college, a deleted call or chat, and for a call not yet published
    to anyone who does not manage the chat's calls (the members do not know of it); 403 for
    someone of the college outside the chat.

    The call comes with its chat, and the chat with `is_member` and `is_chat_admin`."""
    if organization is None:
        raise Http404("Онлайн-звонок не найден.")
    members = ChatMember.objects.filter(chat=OuterRef("chat_id"), person=person)
    call = (
        OnlineCall.objects.alive()
        .filter(
            pk=call_id,
            chat__organization=organization,
            chat__deleted_at__isnull=True,
            chat__platform=Chat.Platform.VK,
        )
        .select_related("chat__organization", "last_actor")
        .annotate(is_member=Exists(members), is_chat_admin=Exists(members.filter(is_admin=True)))
        .first()
    )
    if call is None:
        raise Http404("Онлайн-звонок не найден.")
    chat = call.chat
    chat.is_member, chat.is_chat_admin = call.is_member, call.is_chat_admin
    if not (chat.is_member or roles.is_admin):
        raise PermissionDenied(NOT_A_MEMBER)
    if call.status == OnlineCall.Status.CREATED and not can_manage_calls(person, roles, chat):
        raise Http404("Онлайн-звонок не найден.")
    return call
