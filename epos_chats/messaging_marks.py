"""F30: the unread total of ЭПОС conversations for the menu, asked only when a template looks
at it and at most once a request."""

from __future__ import annotations

from functools import cached_property

from django.http import HttpRequest

from epos_chats import menu
from epos_chats.messaging import epos_open


class EposUnread:
    __slots__ = ("__dict__", "request")

    def __init__(self, request: HttpRequest):
        self.request = request

    @cached_property
    def count(self) -> int:
        return menu.mark(self.request, menu.UNREAD)

    @cached_property
    def open(self) -> bool:
        """Whether the ЭПОС block is on «Чаты» (until `EPOS_CHATS_HIDDEN_FROM`)."""
        return epos_open(getattr(self.request, "organization", None))

    @property
    def shown(self) -> bool:
        """Next to «Сообщения» only while the ЭПОС block is on «Чаты» (point 5)."""
        return self.open and self.count > 0
