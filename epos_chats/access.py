"""Who may see and do what with chats (F7, F12, F14): each helper returns what the person may
have, or raises 404/403, so a view never decides rights by itself."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest

from directory.models import Organization, Person
from directory.selectors import Roles
from epos_chats.models import Chat, ChatMember


def membership_of(person: Person | int, *, admin: bool = False) -> Exists:
    """`Exists` of the person's membership in the outer chat (as its admin when `admin`)."""
    members = ChatMember.objects.filter(chat=OuterRef("pk"), person=person)
    if admin:
        members = members.filter(is_admin=True)
    return Exists(members)


def visible_chats(
    person: Person, organization: Organization | None, roles: Roles, *, platform: str = "vk"
) -> QuerySet[Chat]:
    """F7: an OO admin sees every live chat of the college, everyone else the chats they are
    in. Only the current college's chats, ever."""
    if organization is None:
        return Chat.objects.none()
    chats = Chat.objects.alive().filter(organization=organization, platform=platform)
    if not roles.is_admin:
        chats = chats.filter(membership_of(person))
    return chats


def may_create_chats(roles: Roles) -> bool:
    """F14: an OO admin, or a teacher with at least one active group-by-discipline."""
    if roles.is_admin:
        return True
    return bool(roles.staff and roles.staff.teachings.filter(is_active=True).exists())


def may_manage(chat: Chat, roles: Roles, *, is_chat_admin: bool) -> bool:
    """F17/F18: edit or delete a chat — an OO admin, or the chat's admin; never a mandatory
    chat (F12)."""
    if chat.is_mandatory or chat.is_deleted:
        return False
    return roles.is_admin or is_chat_admin


def chat_for_view(request: HttpRequest, chat_id: int) -> Chat:
    """The chat whose settings the person opens: 404 for a chat of another college or a
    deleted one, 403 for a chat of the college the person may not see (F7).

    The chat comes with `is_member` and `is_chat_admin` for the person.
    """
    organization = request.organization
    if organization is None:
        raise Http404("Чат не найден.")
    chat = (
        Chat.objects.alive()
        .filter(pk=chat_id, organization=organization)
        .select_related("group", "teaching__group", "teaching__discipline", "created_by")
        .annotate(
            is_member=membership_of(request.user),
            is_chat_admin=membership_of(request.user, admin=True),
        )
        .first()
    )
    if chat is None:
        raise Http404("Чат не найден.")
    # An OO admin oversees the college's messenger chats (F7); ЭПОС conversations stay
    # between their members.
    oversees = request.roles.is_admin and chat.platform == Chat.Platform.VK
    if not (chat.is_member or oversees):
        raise PermissionDenied("Этот чат вам недоступен: вы не его участник.")
    return chat
