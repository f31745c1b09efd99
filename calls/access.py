"""Who may manage a chat's online calls (F19): the one rule the pages and the services share."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from calls.models import OnlineCall
from directory.models import Organization, Person
from directory.selectors import Roles
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
