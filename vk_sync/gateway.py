"""The messenger behind one small interface (B5).

The reconciler speaks only in `Op`s and reads only `OpResult`s, so a second messenger (MAX,
where Sferum chats moved in 2025) is a second implementation of `MessengerGateway`, with no
change to the chats code or the reconciler.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

# The messenger's error codes (docs/messenger-protocol.md).
TRANSIENT_CODES = frozenset({6, 9, 10})
PERMANENT_CODES = frozenset({3, 5, 7, 15, 100, 917, 925, 927, 935})
USER_NOT_IN_CHAT = 935


class MessengerError(Exception):
    """A failed operation; `transient` says whether trying again later may succeed."""

    def __init__(self, message: str, *, code: int | None = None, transient: bool = False):
        super().__init__(message)
        self.code = code
        self.transient = transient

    def __str__(self) -> str:
        text = super().__str__()
        return f"[{self.code}] {text}" if self.code is not None else text


@dataclass(frozen=True)
class Op:
    """One messenger call. `key` ties the result back to what it was for; codes in `done_codes`
    mean the wanted state already holds (removing someone already gone)."""

    method: str
    params: dict[str, Any]
    key: Hashable = None
    done_codes: frozenset[int] = field(default_factory=frozenset)


@dataclass
class OpResult:
    op: Op
    value: Any = None
    error: MessengerError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Pipeline(AbstractContextManager, Protocol):
    """Operations in lanes: a lane's operations apply in order, one request of it at a time;
    different lanes travel together and in parallel, as the messenger allows."""

    queued: int  # operations submitted and not sent yet

    def submit(self, lane: Hashable, ops: Sequence[Op]) -> None:
        """Queue `ops` after the lane's earlier ones."""

    def wait(self) -> list[OpResult]:
        """The results of the next answered request(s), waiting for one; [] once nothing is
        queued or in flight."""


class MessengerGateway(Protocol):
    """What the reconciler needs from a messenger: run operations, in order, as few requests
    as the messenger allows, each result telling success or the error."""

    def run(self, ops: Sequence[Op]) -> list[OpResult]: ...

    def pipeline(self) -> Pipeline: ...


# Builders of the operations the journal uses, so the method names live in one place.


def create_chat(*, external_id: str, title: str, key=None) -> Op:
    return Op("messages.createChat", {"external_id": external_id, "title": title}, key)


def rename_chat(*, chat_id: int, title: str, key=None) -> Op:
    return Op("messages.editChat", {"chat_id": chat_id, "title": title}, key)


def add_member(*, chat_id: int, vk_user_id: int, key=None) -> Op:
    return Op("messages.addChatUser", {"chat_id": chat_id, "user_id": vk_user_id}, key)


def remove_member(*, chat_id: int, vk_user_id: int, key=None) -> Op:
    return Op(
        "messages.removeChatUser",
        {"chat_id": chat_id, "member_id": vk_user_id},
        key,
        done_codes=frozenset({USER_NOT_IN_CHAT}),
    )


def set_role(*, chat_id: int, vk_user_id: int, admin: bool, key=None) -> Op:
    role = "admin" if admin else "member"
    return Op(
        "messages.setMemberRole", {"chat_id": chat_id, "member_id": vk_user_id, "role": role}, key
    )


def schedule_call(*, chat_id: int, external_id: str, title: str, starts_at: int, key=None) -> Op:
    params = {"chat_id": chat_id, "external_id": external_id, "title": title}
    return Op("calls.schedule", params | {"starts_at": starts_at}, key)


def edit_call(*, call_id: int, title: str, starts_at: int, key=None) -> Op:
    return Op("calls.edit", {"call_id": call_id, "title": title, "starts_at": starts_at}, key)


def finish_call(*, call_id: int, key=None) -> Op:
    return Op("calls.finish", {"call_id": call_id}, key)


def delete_call(*, call_id: int, key=None) -> Op:
    # A lost reply to an earlier delete leaves the call gone: «unknown call» is success.
    return Op("calls.delete", {"call_id": call_id}, key, done_codes=frozenset({100}))


def register_link(*, external_user_id: str, vk_user_id: int, key=None) -> Op:
    params = {"external_user_id": external_user_id, "vk_user_id": vk_user_id}
    return Op("account.registerLink", params, key)


def unregister_link(*, external_user_id: str, key=None) -> Op:
    return Op("account.unregisterLink", {"external_user_id": external_user_id}, key)
