"""F27: the mark next to «Сообщения» for a person of a chat where a call was just published,
asked at most once a request, and cleared when the VK block of «Чаты» is shown."""

from __future__ import annotations

from django.http import HttpRequest

from calls import selectors, services
from epos_chats import menu


def has_unseen_call(request: HttpRequest) -> bool:
    """Whether the signed-in person's current college has a call new to them; read with the
    ЭПОС mark of the menu (epos_chats/menu.py)."""
    return menu.mark(request, menu.UNSEEN_CALL)


def vk_block_opened(request: HttpRequest) -> None:
    """The VK block of «Чаты» is on the screen: the calls published so far are seen. Writes
    only when there was something to clear, so a page view is usually a read."""
    if not menu.in_college(request):
        return
    if not hasattr(request, menu.UNSEEN_CALL):
        # Asked alone, not with the ЭПОС mark: «Чаты» counts that one from its own list.
        unseen = selectors.has_unseen_call(request.user, request.organization)
        setattr(request, menu.UNSEEN_CALL, unseen)
    if getattr(request, menu.UNSEEN_CALL):
        services.mark_calls_seen(person=request.user, organization=request.organization)
        setattr(request, menu.UNSEEN_CALL, False)


class CallsMark:
    """True in a template when the mark is due; asks the database only when looked at, so a
    fragment that does not show the menu costs nothing."""

    __slots__ = ("request",)

    def __init__(self, request: HttpRequest):
        self.request = request

    def __bool__(self) -> bool:
        return has_unseen_call(self.request)
