"""The two marks of «Сообщения» in every page's menu, read together: a new online call (F27,
calls.selectors) and the unread ЭПОС messages (F30, messaging_selectors). Both are shown on
every page of a college, so they are one query, asked when a template first looks at either
(calls.marks, messaging_marks) and kept on the request."""

from __future__ import annotations

from django.http import HttpRequest

from calls.selectors import unseen_call_query
from directory.selectors import fetch
from epos_chats.messaging_selectors import unread_total_query

UNSEEN_CALL = "_calls_unseen"  # cleared by calls.marks.vk_block_opened
UNREAD = "_epos_unread"


def in_college(request: HttpRequest) -> bool:
    """Whether a signed-in person acts in a college: without one there is nothing to mark."""
    user = getattr(request, "user", None)
    return (
        user is not None
        and user.is_authenticated
        and getattr(request, "organization", None) is not None
    )


def read(request: HttpRequest) -> None:
    """Set both marks on the request; one query."""
    if not in_college(request):
        setattr(request, UNSEEN_CALL, False)
        setattr(request, UNREAD, 0)
        return
    user, organization = request.user, request.organization
    call_sql, call_params = unseen_call_query(user, organization)
    unread_sql, unread_params = unread_total_query(user, organization)
    ((unseen, unread),) = fetch(
        f"SELECT EXISTS ({call_sql}), ({unread_sql})", [*call_params, *unread_params]
    )
    setattr(request, UNSEEN_CALL, bool(unseen))
    setattr(request, UNREAD, unread)


def mark(request: HttpRequest, name: str):
    """One mark (`UNSEEN_CALL` or `UNREAD`), read with the other the first time."""
    if not hasattr(request, name):
        read(request)
    return getattr(request, name)
