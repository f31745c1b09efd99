"""What the emulated messenger holds: links, chats with members and roles, calls.

One lock guards every read and write, so concurrent requests see whole operations only; with a
state file the state is loaded at start and written (atomically) after each change.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

EXECUTE_LIMIT = 25
JOIN_LINK_BASE = "https://vk.com/call/join/"
STATE_FILE_VERSION = 1

_POSITIVE = re.compile(r"[0-9]{1,18}")
_ROLES = ("admin", "member")
_CALL_STATUSES = ("scheduled", "started", "finished")


class ApiError(Exception):
    """A VK API error: `{"error": {"error_code", "error_msg", "request_params"}}`."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(detail: str) -> ApiError:
    return ApiError(100, f"One of the parameters specified was missing or invalid: {detail}")


class StateFileError(Exception):
    """The state file cannot be read as an emulator state."""


# --- parameters --------------------------------------------------------------------------


def _text(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or not value.strip():
        raise invalid(f"{name} is required")
    return value


def _positive(params: Mapping[str, str], name: str) -> int:
    value = params.get(name)
    if value is None or value == "":
        raise invalid(f"{name} is required")
    if not _POSITIVE.fullmatch(value) or int(value) <= 0:
        raise invalid(f"{name} must be a positive integer")
    return int(value)


def _timestamp(params: Mapping[str, str], name: str) -> int:
    value = params.get(name)
    if value is None or value == "":
        raise invalid(f"{name} is required")
    if not _POSITIVE.fullmatch(value):
        raise invalid(f"{name} must be Unix seconds")
    return int(value)


def execute_params(raw: Any) -> dict[str, str]:
    """An `execute` item's params as the strings a form would carry (lists comma-joined)."""
    if not isinstance(raw, dict):
        raise invalid("calls[].params must be an object")
    params = {}
    for key, value in raw.items():
        if isinstance(value, bool):
            params[key] = "1" if value else "0"
        elif isinstance(value, (str, int)):
            params[key] = str(value)
        elif isinstance(value, list) and all(
            isinstance(item, (str, int)) and not isinstance(item, bool) for item in value
        ):
            params[key] = ",".join(str(item) for item in value)
        else:
            raise invalid(f"calls[].params.{key} must be a string, a number or a list of them")
    return params


def parse_execute_calls(raw: str | None) -> list[tuple[str, dict[str, str]]]:
    """`calls` of `execute`, checked whole before anything runs: 100 for bad JSON, a wrong
    shape, more than 25 calls, or `execute` inside `execute`."""
    if raw is None or raw == "":
        raise invalid("calls is required")
    try:
        calls = json.loads(raw)
    except ValueError:
        raise invalid("calls must be a JSON list") from None
    if not isinstance(calls, list) or not calls:
        raise invalid("calls must be a non-empty JSON list")
    if len(calls) > EXECUTE_LIMIT:
        raise invalid(f"calls holds {len(calls)} items, at most {EXECUTE_LIMIT} are allowed")
    parsed = []
    for item in calls:
        if not isinstance(item, dict) or not isinstance(item.get("method"), str):
            raise invalid('calls[] must be {"method": str, "params": {...}}')
        if item["method"] == "execute":
            raise invalid("execute cannot be called inside execute")
        parsed.append((item["method"], execute_params(item.get("params", {}))))
    return parsed


# --- the state ---------------------------------------------------------------------------


class MessengerState:
    """The emulated messenger. Public methods take the lock; `_m_*` implement API methods."""

    def __init__(self, path: str | os.PathLike | None = None, join_link_base: str = JOIN_LINK_BASE):
        self.lock = threading.RLock()
        self.path = Path(path) if path else None
        self.join_link_base = join_link_base
        self._clear()
        if self.path and self.path.exists():
            self._load()
        self.methods: dict[str, Callable[[Mapping[str, str]], Any]] = {
            "messages.createChat": self._m_create_chat,
            "messages.editChat": self._m_edit_chat,
            "messages.addChatUser": self._m_add_chat_user,
            "messages.removeChatUser": self._m_remove_chat_user,
            "messages.setMemberRole": self._m_set_member_role,
            "calls.schedule": self._m_schedule_call,
            "calls.edit": self._m_edit_call,
            "calls.start": self._m_start_call,
            "calls.finish": self._m_finish_call,
            "calls.delete": self._m_delete_call,
            "account.registerLink": self._m_register_link,
            "account.unregisterLink": self._m_unregister_link,
        }

    def _clear(self) -> None:
        self.links: dict[str, int] = {}  # external_user_id → vk_user_id
        self.chats: dict[int, dict[str, Any]] = {}  # members: {vk_user_id: role}
        self.calls: dict[int, dict[str, Any]] = {}
        self._reindex()
        self.next_chat_id = 1
        self.next_call_id = 1
        self._dirty = False

    def _reindex(self) -> None:
        self.link_holders = {vk: external for external, vk in self.links.items()}
        self.chat_by_external = {chat["external_id"]: chat for chat in self.chats.values()}
        self.call_by_external = {call["external_id"]: call for call in self.calls.values()}

    # --- entry points ------------------------------------------------------------------

    def is_method(self, name: str) -> bool:
        return name in self.methods

    def call(self, method: str, params: Mapping[str, str]) -> Any:
        """One API method; raises ApiError. The method must exist (see `is_method`)."""
        with self.lock:
            try:
                return self.methods[method](params)
            finally:
                self._save_if_dirty()

    def execute(self, calls: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
        """Parsed `execute` calls in order; a failure is `false` plus an `execute_errors`
        entry, and the calls after it still run. `execute_errors` is present only when
        something failed, as in the VK API."""
        results, errors = [], []
        with self.lock:
            try:
                for method, params in calls:
                    try:
                        if method not in self.methods:
                            raise ApiError(3, "Unknown method passed")
                        results.append(self.methods[method](params))
                    except ApiError as error:
                        results.append(False)
                        errors.append(
                            {"method": method, "error_code": error.code, "error_msg": error.message}
                        )
            finally:
                self._save_if_dirty()
        reply: dict[str, Any] = {"response": results}
        if errors:
            reply["execute_errors"] = errors
        return reply

    def reset(self) -> None:
        with self.lock:
            self._clear()
            self._dirty = True
            self._save_if_dirty()

    def snapshot(self) -> dict[str, Any]:
        """`GET /emulator/state`, in the format DESIGN fixes, sorted for stable comparison."""
        with self.lock:
            return {
                "links": [
                    {"external_user_id": external, "vk_user_id": vk}
                    for external, vk in sorted(self.links.items())
                ],
                "chats": [
                    {
                        "chat_id": chat["chat_id"],
                        "external_id": chat["external_id"],
                        "title": chat["title"],
                        "members": [
                            {"vk_user_id": vk, "role": role}
                            for vk, role in sorted(chat["members"].items())
                        ],
                    }
                    for _, chat in sorted(self.chats.items())
                ],
                "calls": [dict(call) for _, call in sorted(self.calls.items())],
            }

    # --- lookups -----------------------------------------------------------------------

    def _chat(self, params: Mapping[str, str]) -> dict[str, Any]:
        chat_id = _positive(params, "chat_id")
        if chat_id not in self.chats:
            raise ApiError(927, "Chat does not exist")
        return self.chats[chat_id]

    def _member(self, params: Mapping[str, str]) -> tuple[dict[str, Any], int]:
        chat = self._chat(params)
        member_id = _positive(params, "member_id")
        if member_id not in chat["members"]:
            raise ApiError(935, "User not found in chat")
        return chat, member_id

    def _call(self, params: Mapping[str, str]) -> dict[str, Any]:
        call_id = _positive(params, "call_id")
        if call_id not in self.calls:
            raise invalid("call_id: no such call")
        return self.calls[call_id]

    # --- messages.* ----------------------------------------------------------------------

    def _m_create_chat(self, params):
        title, external_id = _text(params, "title"), _text(params, "external_id")
        chat = self.chat_by_external.get(external_id)
        if chat is not None:
            return {"chat_id": chat["chat_id"], "created": False}
        chat_id, self.next_chat_id = self.next_chat_id, self.next_chat_id + 1
        chat = {"chat_id": chat_id, "external_id": external_id, "title": title, "members": {}}
        self.chats[chat_id] = self.chat_by_external[external_id] = chat
        self._dirty = True
        return {"chat_id": chat_id, "created": True}

    def _m_edit_chat(self, params):
        chat = self._chat(params)
        title = _text(params, "title")
        if chat["title"] != title:
            chat["title"] = title
            self._dirty = True
        return 1

    def _m_add_chat_user(self, params):
        chat = self._chat(params)
        user_id = _positive(params, "user_id")
        if user_id not in self.link_holders:
            raise ApiError(15, "Access denied: the user has no registered link")
        if user_id not in chat["members"]:
            chat["members"][user_id] = "member"
            self._dirty = True
        return 1

    def _m_remove_chat_user(self, params):
        chat, member_id = self._member(params)
        del chat["members"][member_id]
        self._dirty = True
        return 1

    def _m_set_member_role(self, params):
        chat, member_id = self._member(params)
        role = params.get("role")
        if role not in _ROLES:
            raise invalid("role must be admin or member")
        if chat["members"][member_id] != role:
            chat["members"][member_id] = role
            self._dirty = True
        return 1

    # --- calls.* -------------------------------------------------------------------------

    def _join_link(self, call_id: int, external_id: str) -> str:
        digest = hashlib.sha256(f"{call_id}:{external_id}".encode()).hexdigest()[:16]
        return f"{self.join_link_base}{digest}"

    def _m_schedule_call(self, params):
        chat = self._chat(params)
        external_id, title = _text(params, "external_id"), _text(params, "title")
        starts_at = _timestamp(params, "starts_at")
        call = self.call_by_external.get(external_id)
        if call is not None:
            return {"call_id": call["call_id"], "join_link": call["join_link"], "created": False}
        call_id, self.next_call_id = self.next_call_id, self.next_call_id + 1
        call = {
            "call_id": call_id,
            "chat_id": chat["chat_id"],
            "external_id": external_id,
            "title": title,
            "starts_at": starts_at,
            "status": "scheduled",
            "join_link": self._join_link(call_id, external_id),
        }
        self.calls[call_id] = self.call_by_external[external_id] = call
        self._dirty = True
        return {"call_id": call_id, "join_link": call["join_link"], "created": True}

    def _m_edit_call(self, params):
        call = self._call(params)
        title, starts_at = _text(params, "title"), _timestamp(params, "starts_at")
        if call["status"] != "scheduled":
            raise invalid(f"call_id: the call is {call['status']}, only a scheduled one is edited")
        if (call["title"], call["starts_at"]) != (title, starts_at):
            call["title"], call["starts_at"] = title, starts_at
            self._dirty = True
        return 1

    def _m_start_call(self, params):
        call = self._call(params)
        if call["status"] == "finished":
            raise invalid("call_id: the call is finished")
        if call["status"] != "started":
            call["status"] = "started"
            self._dirty = True
        return 1

    def _m_finish_call(self, params):
        call = self._call(params)
        if call["status"] != "finished":
            call["status"] = "finished"
            self._dirty = True
        return 1

    def _m_delete_call(self, params):
        call = self._call(params)
        del self.calls[call["call_id"]]
        del self.call_by_external[call["external_id"]]
        self._dirty = True
        return 1

    # --- account.* -----------------------------------------------------------------------

    def _m_register_link(self, params):
        external_user_id = _text(params, "external_user_id")
        vk_user_id = _positive(params, "vk_user_id")
        holder = self.link_holders.get(vk_user_id)
        if holder is not None and holder != external_user_id:
            raise ApiError(15, "Access denied: the VK account is linked to another person")
        previous = self.links.get(external_user_id)
        if previous != vk_user_id:
            # A person linking another VK account replaces their link (as `vkid_link` does).
            self.link_holders.pop(previous, None)
            self.links[external_user_id] = vk_user_id
            self.link_holders[vk_user_id] = external_user_id
            self._dirty = True
        return 1

    def _m_unregister_link(self, params):
        external_user_id = _text(params, "external_user_id")
        previous = self.links.pop(external_user_id, None)
        if previous is not None:
            del self.link_holders[previous]
            self._dirty = True
        return 1

    # --- the state file ----------------------------------------------------------------

    def _save_if_dirty(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        if self.path is None:
            return
        data = self.snapshot() | {
            "version": STATE_FILE_VERSION,
            "next_chat_id": self.next_chat_id,
            "next_call_id": self.next_call_id,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(data, file, ensure_ascii=False, indent=1)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != STATE_FILE_VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {STATE_FILE_VERSION}")
            links = {
                str(link["external_user_id"]): int(link["vk_user_id"]) for link in data["links"]
            }
            chats = {}
            for chat in data["chats"]:
                members = {}
                for member in chat["members"]:
                    if member["role"] not in _ROLES:
                        raise ValueError(f"role {member['role']!r}")
                    members[int(member["vk_user_id"])] = member["role"]
                chats[int(chat["chat_id"])] = {
                    "chat_id": int(chat["chat_id"]),
                    "external_id": str(chat["external_id"]),
                    "title": str(chat["title"]),
                    "members": members,
                }
            calls = {}
            for call in data["calls"]:
                if call["status"] not in _CALL_STATUSES:
                    raise ValueError(f"status {call['status']!r}")
                calls[int(call["call_id"])] = {
                    "call_id": int(call["call_id"]),
                    "chat_id": int(call["chat_id"]),
                    "external_id": str(call["external_id"]),
                    "title": str(call["title"]),
                    "starts_at": int(call["starts_at"]),
                    "status": call["status"],
                    "join_link": str(call["join_link"]),
                }
            next_chat_id = max(int(data["next_chat_id"]), max(chats, default=0) + 1)
            next_call_id = max(int(data["next_call_id"]), max(calls, default=0) + 1)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StateFileError(
                f"{self.path}: не читается как состояние эмулятора ({exc})"
            ) from exc
        if len(set(links.values())) != len(links):
            raise StateFileError(f"{self.path}: один VK ID привязан к нескольким людям")
        for kind, items in (("чатов", chats), ("звонков", calls)):
            if len({item["external_id"] for item in items.values()}) != len(items):
                raise StateFileError(f"{self.path}: повторяется external_id {kind}")
        self.links, self.chats, self.calls = links, chats, calls
        self._reindex()
        self.next_chat_id, self.next_call_id = next_chat_id, next_call_id
