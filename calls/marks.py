"""F27: the mark next to «Сообщения» for a person of a chat where a call was just published,
asked at most once a request, and cleared when the VK block of «Чаты» is shown."""

from __future__ import annotations

from django.http import HttpRequest

from calls import selectors, services

_ANSWER = "_calls_unseen"


def has_unseen_call(request: HttpRequest) -> bool:
    """Whether the signed-in person's current college has a call new to them."""
    user = getattr(request, "user", None)
    organization = getattr(request, "organization", None)
    if user is None or not user.is_authenticated or organization is None:
        return False
    if not hasattr(request, _ANSWER):
        setattr(request, _ANSWER, selectors.has_unseen_call(user, organization))
    return getattr(request, _ANSWER)


def vk_block_opened(request: HttpRequest) -> None:
    """The VK block of «Чаты» is on the screen: the calls published so far are seen. Writes
    only when there was something to clear, so a page view is usually a read."""
    if has_unseen_call(request):
        services.mark_calls_seen(person=request.user, organization=request.organization)
        setattr(request, _ANSWER, False)


class CallsMark:
    """True in a template when the mark is due; asks the database only when looked at, so a
    fragment that does not show the menu costs nothing."""

    __slots__ = ("request",)

    def __init__(self, request: HttpRequest):
        self.request = request

    def __bool__(self) -> bool:
        return has_unseen_call(self.request)
