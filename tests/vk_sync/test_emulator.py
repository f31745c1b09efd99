"""The VK API + VK ID emulator (issue 6 point 2), over real HTTP: every method of
docs/messenger-protocol.md with its errors, `execute`, auth and version checks, the state and
reset endpoints, each fault kind, the rate limit, concurrency, persistence, the VK ID flow with
PKCE and the management command."""

import json
import logging
import os
import secrets
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.vk_sync.emulator_fixtures import TEST_TOKEN, running_emulator
from vk_sync.emulator import StateFileError, hinted_vk_user_id, make_server, s256

ROOT = Path(__file__).resolve().parents[2]


def ok(reply):
    assert "error" not in reply, reply
    return reply["response"]


def code(reply):
    assert "response" not in reply, reply
    return reply["error"]["error_code"]


def make_chat(emulator, external_id="chat-1", title="ИС-21 Классный час"):
    return ok(emulator.api("messages.createChat", external_id=external_id, title=title))["chat_id"]


def link(emulator, login, vk_user_id):
    ok(emulator.api("account.registerLink", external_user_id=login, vk_user_id=vk_user_id))


def chat_state(emulator, chat_id):
    return next(chat for chat in emulator.state()["chats"] if chat["chat_id"] == chat_id)


def execute(emulator, calls, **extra):
    data = {"v": "5.199", "calls": calls if isinstance(calls, str) else json.dumps(calls)}
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    return emulator.http.post("/method/execute", data=data | extra, headers=headers).json()


# --- messages.* --------------------------------------------------------------------------


def test_create_chat_is_idempotent_by_external_id(emulator):
    first = ok(emulator.api("messages.createChat", external_id="chat-7", title="Группа ИС-21"))
    assert first["created"] is True
    again = ok(emulator.api("messages.createChat", external_id="chat-7", title="Другое имя"))
    assert again == {"chat_id": first["chat_id"], "created": False}
    other = ok(emulator.api("messages.createChat", external_id="chat-8", title="Группа ИС-22"))
    assert other["chat_id"] != first["chat_id"]
    assert emulator.state()["chats"] == [
        {
            "chat_id": first["chat_id"],
            "external_id": "chat-7",
            "title": "Группа ИС-21",
            "members": [],
        },
        {
            "chat_id": other["chat_id"],
            "external_id": "chat-8",
            "title": "Группа ИС-22",
            "members": [],
        },
    ]


@pytest.mark.parametrize(
    "params",
    [{"title": "Без ключа"}, {"external_id": "chat-1"}, {"external_id": "chat-1", "title": " "}],
)
def test_create_chat_needs_title_and_external_id(emulator, params):
    assert code(emulator.api("messages.createChat", **params)) == 100
    assert emulator.state()["chats"] == []


def test_edit_chat(emulator):
    chat_id = make_chat(emulator)
    assert ok(emulator.api("messages.editChat", chat_id=chat_id, title="Новое имя")) == 1
    assert chat_state(emulator, chat_id)["title"] == "Новое имя"
    assert code(emulator.api("messages.editChat", chat_id=chat_id + 100, title="x")) == 927
    assert code(emulator.api("messages.editChat", chat_id="abc", title="x")) == 100
    assert code(emulator.api("messages.editChat", chat_id=-1, title="x")) == 100
    assert code(emulator.api("messages.editChat", chat_id=chat_id)) == 100


def test_add_chat_user_needs_a_registered_link_and_is_idempotent(emulator):
    chat_id = make_chat(emulator)
    assert code(emulator.api("messages.addChatUser", chat_id=chat_id, user_id=501)) == 15
    link(emulator, "ivanov", 501)
    assert ok(emulator.api("messages.addChatUser", chat_id=chat_id, user_id=501)) == 1
    assert ok(emulator.api("messages.addChatUser", chat_id=chat_id, user_id=501)) == 1
    assert chat_state(emulator, chat_id)["members"] == [{"vk_user_id": 501, "role": "member"}]
    assert code(emulator.api("messages.addChatUser", chat_id=chat_id + 1, user_id=501)) == 927
    assert code(emulator.api("messages.addChatUser", chat_id=chat_id, user_id="5x")) == 100
    assert code(emulator.api("messages.addChatUser", chat_id=chat_id)) == 100


def test_remove_chat_user(emulator):
    chat_id = make_chat(emulator)
    link(emulator, "ivanov", 501)
    ok(emulator.api("messages.addChatUser", chat_id=chat_id, user_id=501))
    assert ok(emulator.api("messages.removeChatUser", chat_id=chat_id, member_id=501)) == 1
    assert chat_state(emulator, chat_id)["members"] == []
    assert code(emulator.api("messages.removeChatUser", chat_id=chat_id, member_id=501)) == 935
    assert code(emulator.api("messages.removeChatUser", chat_id=99, member_id=501)) == 927
    assert code(emulator.api("messages.removeChatUser", chat_id=chat_id, member_id="")) == 100


def test_set_member_role(emulator):
    chat_id = make_chat(emulator)
    link(emulator, "ivanov", 501)
    link(emulator, "petrova", 502)
    for user_id in (501, 502):
        ok(emulator.api("messages.addChatUser", chat_id=chat_id, user_id=user_id))
    set_role = "messages.setMemberRole"
    assert ok(emulator.api(set_role, chat_id=chat_id, member_id=502, role="admin")) == 1
    assert chat_state(emulator, chat_id)["members"] == [
        {"vk_user_id": 501, "role": "member"},
        {"vk_user_id": 502, "role": "admin"},
    ]
    assert ok(emulator.api(set_role, chat_id=chat_id, member_id=502, role="member")) == 1
    assert chat_state(emulator, chat_id)["members"][1]["role"] == "member"
    assert code(emulator.api(set_role, chat_id=chat_id, member_id=502, role="owner")) == 100
    assert code(emulator.api(set_role, chat_id=chat_id, member_id=503, role="admin")) == 935
    assert code(emulator.api(set_role, chat_id=chat_id + 1, member_id=502, role="admin")) == 927


# --- calls.* -----------------------------------------------------------------------------


def schedule(
    emulator, chat_id, external_id="call-1", title="Консультация", starts_at=1_760_000_000
):
    return emulator.api(
        "calls.schedule", chat_id=chat_id, external_id=external_id, title=title, starts_at=starts_at
    )


def call_state(emulator, call_id):
    return next((c for c in emulator.state()["calls"] if c["call_id"] == call_id), None)


def test_schedule_call_is_idempotent_by_external_id(emulator):
    chat_id = make_chat(emulator)
    first = ok(schedule(emulator, chat_id))
    assert first["created"] is True
    assert first["join_link"].startswith("https://")
    again = ok(schedule(emulator, chat_id, title="Другое", starts_at=1_770_000_000))
    assert again == {"call_id": first["call_id"], "join_link": first["join_link"], "created": False}
    assert emulator.state()["calls"] == [
        {
            "call_id": first["call_id"],
            "chat_id": chat_id,
            "external_id": "call-1",
            "title": "Консультация",
            "starts_at": 1_760_000_000,
            "status": "scheduled",
            "join_link": first["join_link"],
        }
    ]
    assert code(schedule(emulator, chat_id + 1, external_id="call-2")) == 927
    assert code(schedule(emulator, chat_id, external_id="call-3", starts_at="завтра")) == 100
    assert code(emulator.api("calls.schedule", chat_id=chat_id, external_id="call-4")) == 100
    assert len(emulator.state()["calls"]) == 1


def test_edit_call_only_while_scheduled(emulator):
    chat_id = make_chat(emulator)
    call_id = ok(schedule(emulator, chat_id))["call_id"]
    edit = "calls.edit"
    assert ok(emulator.api(edit, call_id=call_id, title="Перенесли", starts_at=1_760_003_600)) == 1
    assert call_state(emulator, call_id)["title"] == "Перенесли"
    assert call_state(emulator, call_id)["starts_at"] == 1_760_003_600
    assert code(emulator.api(edit, call_id=call_id, title="Без времени")) == 100
    assert code(emulator.api(edit, call_id=call_id + 1, title="x", starts_at=1)) == 100
    ok(emulator.api("calls.start", call_id=call_id))
    assert code(emulator.api(edit, call_id=call_id, title="x", starts_at=1)) == 100
    assert call_state(emulator, call_id)["title"] == "Перенесли"


def test_start_and_finish_call(emulator):
    chat_id = make_chat(emulator)
    call_id = ok(schedule(emulator, chat_id))["call_id"]
    assert ok(emulator.api("calls.start", call_id=call_id)) == 1
    assert call_state(emulator, call_id)["status"] == "started"
    assert ok(emulator.api("calls.finish", call_id=call_id)) == 1
    assert ok(emulator.api("calls.finish", call_id=call_id)) == 1
    assert call_state(emulator, call_id)["status"] == "finished"
    assert code(emulator.api("calls.start", call_id=call_id)) == 100
    assert code(emulator.api("calls.finish", call_id=call_id + 1)) == 100
    assert code(emulator.api("calls.finish", call_id="first")) == 100


def test_delete_call(emulator):
    chat_id = make_chat(emulator)
    call_id = ok(schedule(emulator, chat_id))["call_id"]
    assert ok(emulator.api("calls.delete", call_id=call_id)) == 1
    assert emulator.state()["calls"] == []
    assert code(emulator.api("calls.delete", call_id=call_id)) == 100


# --- account.* ---------------------------------------------------------------------------


def test_register_link_one_vk_account_per_person(emulator):
    register = "account.registerLink"
    assert ok(emulator.api(register, external_user_id="ivanov", vk_user_id=501)) == 1
    assert ok(emulator.api(register, external_user_id="ivanov", vk_user_id=501)) == 1
    assert code(emulator.api(register, external_user_id="petrova", vk_user_id=501)) == 15
    assert code(emulator.api(register, external_user_id="petrova", vk_user_id="id502")) == 100
    assert code(emulator.api(register, vk_user_id=502)) == 100
    # A person linking another account replaces their link, which frees the old account.
    assert ok(emulator.api(register, external_user_id="ivanov", vk_user_id=601)) == 1
    assert ok(emulator.api(register, external_user_id="petrova", vk_user_id=501)) == 1
    assert emulator.state()["links"] == [
        {"external_user_id": "ivanov", "vk_user_id": 601},
        {"external_user_id": "petrova", "vk_user_id": 501},
    ]


def test_unregister_link_is_idempotent_and_keeps_memberships(emulator):
    chat_id = make_chat(emulator)
    link(emulator, "ivanov", 501)
    ok(emulator.api("messages.addChatUser", chat_id=chat_id, user_id=501))
    assert ok(emulator.api("account.unregisterLink", external_user_id="ivanov")) == 1
    assert ok(emulator.api("account.unregisterLink", external_user_id="ivanov")) == 1
    assert code(emulator.api("account.unregisterLink")) == 100
    state = emulator.state()
    assert state["links"] == []
    assert state["chats"][0]["members"] == [{"vk_user_id": 501, "role": "member"}]
    # Without the link the account cannot be added anywhere again.
    other = make_chat(emulator, "chat-2")
    assert code(emulator.api("messages.addChatUser", chat_id=other, user_id=501)) == 15


# --- execute -----------------------------------------------------------------------------


def test_execute_runs_in_order_with_false_items_and_execute_errors(emulator):
    chat_id = make_chat(emulator)
    reply = execute(
        emulator,
        [
            {
                "method": "account.registerLink",
                "params": {"external_user_id": "a", "vk_user_id": 1},
            },
            {"method": "messages.addChatUser", "params": {"chat_id": chat_id, "user_id": 1}},
            {"method": "messages.addChatUser", "params": {"chat_id": chat_id, "user_id": 2}},
            {"method": "messages.editChat", "params": {"chat_id": 999, "title": "x"}},
            {
                "method": "messages.setMemberRole",
                "params": {"chat_id": chat_id, "member_id": 1, "role": "admin"},
            },
            {"method": "messages.nothing", "params": {}},
            {
                "method": "messages.createChat",
                "params": {"external_id": "chat-2", "title": "Второй"},
            },
        ],
    )
    assert reply["response"] == [1, 1, False, False, 1, False, {"chat_id": 2, "created": True}]
    assert reply["execute_errors"] == [
        {
            "method": "messages.addChatUser",
            "error_code": 15,
            "error_msg": "Access denied: the user has no registered link",
        },
        {"method": "messages.editChat", "error_code": 927, "error_msg": "Chat does not exist"},
        {"method": "messages.nothing", "error_code": 3, "error_msg": "Unknown method passed"},
    ]
    assert chat_state(emulator, chat_id)["members"] == [{"vk_user_id": 1, "role": "admin"}]


def test_execute_without_failures_has_no_execute_errors(emulator):
    calls = [
        {
            "method": "messages.createChat",
            "params": {"external_id": f"chat-{i}", "title": f"Чат {i}"},
        }
        for i in range(25)
    ]
    reply = execute(emulator, calls)
    assert reply == {"response": [{"chat_id": i + 1, "created": True} for i in range(25)]}


def test_execute_params_may_be_numbers_strings_and_lists(emulator):
    calls = [
        {"method": "account.registerLink", "params": {"external_user_id": "a", "vk_user_id": "7"}},
        {"method": "messages.createChat", "params": {"external_id": "chat-1", "title": "Т"}},
        {"method": "messages.addChatUser", "params": {"chat_id": 1, "user_id": [7]}},
    ]
    assert execute(emulator, calls)["response"] == [1, {"chat_id": 1, "created": True}, 1]


@pytest.mark.parametrize(
    "calls",
    [
        [
            {"method": "messages.createChat", "params": {"external_id": f"c{i}", "title": "Т"}}
            for i in range(26)
        ],
        [
            {"method": "messages.createChat", "params": {"external_id": "c1", "title": "Т"}},
            {"method": "execute", "params": {"calls": "[]"}},
        ],
        [],
        {"method": "messages.createChat"},
        [{"params": {}}],
        ["messages.createChat"],
        [{"method": "messages.createChat", "params": ["external_id", "c1"]}],
        [{"method": "messages.createChat", "params": {"external_id": {"nested": 1}, "title": "Т"}}],
        "[{not json",
    ],
    ids=[
        "26-calls",
        "nested-execute",
        "empty",
        "object",
        "no-method",
        "string-item",
        "params-list",
        "nested-param",
        "bad-json",
    ],
)
def test_execute_rejects_malformed_calls_whole(emulator, calls):
    assert code(execute(emulator, calls)) == 100
    assert emulator.state()["chats"] == []


def test_execute_needs_calls(emulator):
    assert code(emulator.api("execute")) == 100


# --- transport: auth, version, malformed input ---------------------------------------------


def test_token_is_required(emulator):
    assert code(emulator.api("messages.createChat", token=None, external_id="c", title="Т")) == 5
    empty = emulator.http.post(
        "/method/messages.createChat",
        data={"v": "5.199", "external_id": "c", "title": "Т"},
        headers={"Authorization": "Bearer"},
    )
    assert code(empty.json()) == 5
    basic = emulator.http.post(
        "/method/messages.createChat",
        data={"v": "5.199", "external_id": "c", "title": "Т"},
        headers={"Authorization": "Basic dXNlcjpwYXNz"},
    )
    assert code(basic.json()) == 5
    assert ok(emulator.api("messages.createChat", token="any", external_id="c", title="Т"))
    reply = emulator.api("messages.createChat", token=None, external_id="c", title="Т")
    assert {"key": "method", "value": "messages.createChat"} in reply["error"]["request_params"]


def test_token_option_accepts_only_that_token():
    with running_emulator(token="s3cret") as emulator:
        assert code(emulator.api("messages.createChat", external_id="c", title="Т")) == 5
        assert ok(emulator.api("messages.createChat", token="s3cret", external_id="c", title="Т"))


def test_version_is_required(emulator):
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    form = {"external_id": "c", "title": "Т"}
    reply = emulator.http.post("/method/messages.createChat", data=form, headers=headers)
    assert code(reply.json()) == 100
    reply = emulator.http.post(
        "/method/messages.createChat", data=form | {"v": "new"}, headers=headers
    )
    assert code(reply.json()) == 100
    assert emulator.state()["chats"] == []


def test_unknown_method_is_error_3(emulator):
    assert code(emulator.api("messages.send", peer_id=1)) == 3
    assert code(emulator.api("createChat", external_id="c", title="Т")) == 3
    assert code(emulator.api("messages.createChat.now", external_id="c", title="Т")) == 3
    assert emulator.state()["chats"] == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"v=5.199&title=%ff&external_id=c", "application/x-www-form-urlencoded"),
        (b"v=5.199&&&garbage", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
        (b'{"v": "5.199", "title": "T", "external_id": "c"}', "application/json"),
    ],
    ids=["bad-percent-utf8", "no-equals", "bad-utf8", "json-body"],
)
def test_malformed_form_is_error_100_and_the_server_lives_on(emulator, body, content_type):
    headers = {"Authorization": f"Bearer {TEST_TOKEN}", "Content-Type": content_type}
    reply = emulator.http.post("/method/messages.createChat", content=body, headers=headers)
    assert reply.status_code == 200
    assert code(reply.json()) == 100
    assert make_chat(emulator) == 1


def test_only_post_reaches_methods_and_unknown_paths_are_404(emulator):
    assert emulator.http.get("/method/messages.createChat").status_code == 405
    assert emulator.http.get("/nothing").status_code == 404
    assert emulator.http.get("/emulator/reset").status_code == 405
    assert emulator.http.get("/").status_code == 200


def test_one_log_line_per_request(emulator, caplog):
    caplog.set_level(logging.INFO, logger="vk_sync.emulator")
    make_chat(emulator)
    emulator.state()

    def lines():
        return [r.getMessage() for r in caplog.records if r.name == "vk_sync.emulator"]

    # The server writes its line once the answer is sent: the client may read it first.
    deadline = time.monotonic() + 2
    while len(lines()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    lines = lines()
    assert len(lines) == 2
    assert lines[0].startswith("POST /method/messages.createChat 200 ")
    assert lines[1].startswith("GET /emulator/state 200 ")


# --- /emulator/state, /emulator/reset, /emulator/faults ------------------------------------


def test_reset_empties_state_and_faults(emulator):
    chat_id = make_chat(emulator)
    link(emulator, "ivanov", 501)
    ok(emulator.api("messages.addChatUser", chat_id=chat_id, user_id=501))
    ok(schedule(emulator, chat_id))
    emulator.faults(latency_ms=5, rate_limit=100)
    emulator.reset()
    assert emulator.state() == {"links": [], "chats": [], "calls": []}
    assert emulator.faults() == {
        "fail_rate": 0.0,
        "kinds": ["http500", "timeout", "error6", "lost_reply"],
        "rate_limit": None,
        "latency_ms": 0,
        "seed": 0,
        "timeout_s": 5.0,
    }
    assert make_chat(emulator) == 1


def test_faults_are_merged_and_checked(emulator):
    assert emulator.faults(fail_rate=0.25, kinds=["error6"])["kinds"] == ["error6"]
    settings = emulator.faults(latency_ms=3)
    assert (settings["fail_rate"], settings["latency_ms"]) == (0.25, 3)
    for bad in (
        {"fail_rate": 1.5},
        {"kinds": ["meteor"]},
        {"rate_limit": -1},
        {"latency_ms": "slow"},
        {"unknown": 1},
    ):
        response = emulator.http.post("/emulator/faults", json=bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]
    assert emulator.http.post("/emulator/faults", content=b"{oops").status_code == 400
    assert emulator.faults()["fail_rate"] == 0.25


# --- fault kinds ---------------------------------------------------------------------------


def test_fault_http500_answers_html_and_applies_nothing(emulator):
    emulator.faults(fail_rate=1.0, kinds=["http500"])
    response = emulator.http.post(
        "/method/messages.createChat",
        data={"v": "5.199", "external_id": "c", "title": "Т"},
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
    )
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert emulator.state()["chats"] == []


def test_fault_error6_applies_nothing(emulator):
    emulator.faults(fail_rate=1.0, kinds=["error6"])
    assert code(emulator.api("messages.createChat", external_id="c", title="Т")) == 6
    assert emulator.state()["chats"] == []


def test_fault_timeout_keeps_silent_past_the_client_timeout(emulator):
    emulator.faults(fail_rate=1.0, kinds=["timeout"], timeout_s=0.5)
    with pytest.raises(httpx.ReadTimeout):
        emulator.http.post(
            "/method/messages.createChat",
            data={"v": "5.199", "external_id": "c", "title": "Т"},
            headers={"Authorization": f"Bearer {TEST_TOKEN}"},
            timeout=0.1,
        )
    # A patient client gets a 504 once the silence is over; nothing was applied.
    response = emulator.http.post(
        "/method/messages.createChat",
        data={"v": "5.199", "external_id": "c", "title": "Т"},
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
    )
    assert response.status_code == 504
    assert emulator.state()["chats"] == []


def test_fault_lost_reply_applies_the_call_but_answers_nothing(emulator):
    emulator.faults(fail_rate=1.0, kinds=["lost_reply"])
    with pytest.raises(httpx.RemoteProtocolError):
        emulator.api("messages.createChat", external_id="chat-1", title="Т")
    assert [chat["external_id"] for chat in emulator.state()["chats"]] == ["chat-1"]
    # Retrying after the lost reply is safe: the chat exists once.
    emulator.faults(fail_rate=0.0)
    assert ok(emulator.api("messages.createChat", external_id="chat-1", title="Т")) == {
        "chat_id": 1,
        "created": False,
    }


def test_lost_reply_applies_a_whole_execute(emulator):
    emulator.faults(fail_rate=1.0, kinds=["lost_reply"])
    calls = [
        {"method": "messages.createChat", "params": {"external_id": f"chat-{i}", "title": "Т"}}
        for i in range(3)
    ]
    with pytest.raises(httpx.RemoteProtocolError):
        execute(emulator, calls)
    assert len(emulator.state()["chats"]) == 3


def post_create_chat(emulator, external_id="chat-1"):
    return emulator.http.post(
        "/method/messages.createChat",
        data={"v": "5.199", "external_id": external_id, "title": "Т"},
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
    )


def test_fault_html_answers_a_page_with_status_200_and_applies_nothing(emulator):
    emulator.faults(fail_rate=1.0, kinds=["html"])
    response = post_create_chat(emulator)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert emulator.state()["chats"] == []


def test_fault_truncated_applies_the_call_and_cuts_the_json(emulator):
    emulator.faults(fail_rate=1.0, kinds=["truncated"])
    response = post_create_chat(emulator)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert len(emulator.state()["chats"]) == 1


def test_fault_missing_fields_applies_the_call_and_drops_fields(emulator):
    emulator.faults(fail_rate=1.0, kinds=["missing_fields"])
    assert post_create_chat(emulator).json() == {"response": {}}
    reply = emulator.api("messages.editChat", chat_id=99, title="x")
    assert "error_code" not in reply["error"] and reply["error"]["error_msg"]
    calls = [
        {"method": "messages.createChat", "params": {"external_id": f"chat-{i}", "title": "Т"}}
        for i in (2, 3)
    ]
    assert execute(emulator, calls) == {"response": [{"chat_id": 2, "created": True}]}
    assert emulator.api("account.unregisterLink", external_user_id="x") == {}
    assert len(emulator.state()["chats"]) == 3


def test_stats_count_requests_peaks_refusals_and_faults(emulator):
    chat_id = make_chat(emulator)
    emulator.faults(rate_limit=3, fail_rate=1.0, kinds=["error6"])
    emulator.monotonic.freeze()
    for _ in range(4):
        emulator.api("messages.editChat", chat_id=chat_id, title="x")
    emulator.state()  # /emulator/* is not counted
    stats = emulator.stats()
    assert stats == {
        "requests": 5,
        "max_per_second": 5,
        "rate_limited": 1,
        "methods": {"messages.createChat": 1, "messages.editChat": 4},
        "faults": {"error6": 3},
    }
    emulator.faults(fail_rate=0.0)
    assert emulator.stats()["requests"] == 5  # setting faults keeps the counters
    emulator.reset()
    assert emulator.stats()["requests"] == 0


def test_faults_never_touch_emulator_endpoints(emulator):
    emulator.faults(fail_rate=1.0, kinds=["http500", "error6", "lost_reply"], rate_limit=1)
    for _ in range(5):
        assert emulator.state() == {"links": [], "chats": [], "calls": []}
        assert emulator.faults()["fail_rate"] == 1.0
        assert emulator.oauth()["tokens_issued"] == 0
    assert emulator.http.get("/emulator/authorize").status_code == 400  # a page, not a fault


def outcomes(emulator, count=40):
    """What each of `count` requests met: ok, http500, error6."""
    seen = []
    for i in range(count):
        response = emulator.http.post(
            "/method/messages.editChat",
            data={"v": "5.199", "chat_id": "1", "title": f"t{i}"},
            headers={"Authorization": f"Bearer {TEST_TOKEN}"},
        )
        if response.status_code == 500:
            seen.append("http500")
        elif response.json().get("error", {}).get("error_code") == 6:
            seen.append("error6")
        else:
            seen.append("ok")
    return seen


def test_faults_are_deterministic_by_seed(emulator):
    make_chat(emulator)
    emulator.faults(fail_rate=0.5, kinds=["http500", "error6"], seed=7)
    first = outcomes(emulator)
    assert {"ok", "http500", "error6"} <= set(first)
    emulator.faults(seed=7)  # setting the faults re-seeds
    assert outcomes(emulator) == first
    emulator.faults(seed=8)
    assert outcomes(emulator) != first
    with running_emulator() as other:
        make_chat(other)
        other.faults(fail_rate=0.5, kinds=["http500", "error6"], seed=7)
        assert outcomes(other) == first


def test_fail_rate_is_roughly_honoured(emulator):
    make_chat(emulator)
    emulator.faults(fail_rate=0.3, kinds=["error6"], seed=1)
    failures = outcomes(emulator, 200).count("error6")
    assert 40 <= failures <= 80


def test_latency_is_added_to_api_answers_only(emulator):
    emulator.faults(latency_ms=400)
    started = time.monotonic()
    make_chat(emulator)
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    emulator.state()
    emulator.faults()
    assert time.monotonic() - started < 0.4


def test_rate_limit_answers_error_6_above_it_and_recovers(emulator):
    chat_id = make_chat(emulator)
    emulator.faults(rate_limit=5)
    emulator.monotonic.freeze()  # every request below falls in one second, however slow the CI
    replies = [emulator.api("messages.editChat", chat_id=chat_id, title=f"t{i}") for i in range(8)]
    assert [r.get("response") for r in replies[:5]] == [1] * 5
    assert [code(r) for r in replies[5:]] == [6, 6, 6]
    assert chat_state(emulator, chat_id)["title"] == "t4"
    emulator.advance_clock(0.9)
    assert code(emulator.api("messages.editChat", chat_id=chat_id, title="рано")) == 6
    emulator.advance_clock(0.15)
    assert ok(emulator.api("messages.editChat", chat_id=chat_id, title="после паузы")) == 1


def test_rate_limit_recovers_after_a_real_second(emulator):
    chat_id = make_chat(emulator)
    emulator.faults(rate_limit=2)
    replies = [emulator.api("messages.editChat", chat_id=chat_id, title="x") for _ in range(3)]
    assert code(replies[-1]) == 6
    time.sleep(1.05)
    assert ok(emulator.api("messages.editChat", chat_id=chat_id, title="после паузы")) == 1


def test_rate_limit_counts_all_clients_together(emulator):
    chat_id = make_chat(emulator)
    emulator.faults(rate_limit=10)
    emulator.monotonic.freeze()
    codes = []
    lock = threading.Lock()

    def client():
        with httpx.Client(base_url=emulator.url, verify=False) as http:
            for _ in range(5):
                reply = http.post(
                    "/method/messages.editChat",
                    data={"v": "5.199", "chat_id": str(chat_id), "title": "x"},
                    headers={"Authorization": f"Bearer {TEST_TOKEN}"},
                ).json()
                with lock:
                    codes.append(reply.get("error", {}).get("error_code", 0))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes.count(0) == 10
    assert codes.count(6) == 10


def test_stop_does_not_wait_for_a_sleeping_timeout_fault():
    server = make_server("127.0.0.1", 0).start()
    server.app.faults.update({"fail_rate": 1.0, "kinds": ["timeout"], "timeout_s": 60})
    errors = []

    def request():
        try:
            httpx.post(
                f"{server.url}/method/messages.createChat",
                data={"v": "5.199", "external_id": "c", "title": "Т"},
                headers={"Authorization": "Bearer t"},
                timeout=30,
            )
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=request)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    server.stop()
    thread.join(timeout=5)
    assert time.monotonic() - started < 2
    assert not thread.is_alive()
    assert errors  # the connection closed without an answer


# --- concurrency -------------------------------------------------------------------------


def test_twenty_threads_adding_members_leave_a_consistent_state(emulator):
    chat_id = make_chat(emulator)
    for user_id in range(1, 21):
        link(emulator, f"person{user_id}", user_id)
    barrier = threading.Barrier(20)
    replies = {}

    def add(user_id):
        with httpx.Client(base_url=emulator.url, verify=False) as http:
            barrier.wait()
            for _ in range(3):  # repeats are idempotent
                replies[user_id] = http.post(
                    "/method/messages.addChatUser",
                    data={"v": "5.199", "chat_id": str(chat_id), "user_id": str(user_id)},
                    headers={"Authorization": f"Bearer {TEST_TOKEN}"},
                ).json()

    threads = [threading.Thread(target=add, args=(user_id,)) for user_id in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(reply == {"response": 1} for reply in replies.values())
    members = chat_state(emulator, chat_id)["members"]
    assert members == [{"vk_user_id": user_id, "role": "member"} for user_id in range(1, 21)]


def test_concurrent_create_chat_makes_one_chat(emulator):
    barrier = threading.Barrier(20)
    chat_ids = []

    def create():
        with httpx.Client(base_url=emulator.url, verify=False) as http:
            barrier.wait()
            reply = http.post(
                "/method/messages.createChat",
                data={"v": "5.199", "external_id": "chat-1", "title": "Т"},
                headers={"Authorization": f"Bearer {TEST_TOKEN}"},
            ).json()
            chat_ids.append(reply["response"]["chat_id"])

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert chat_ids == [1] * 20
    assert len(emulator.state()["chats"]) == 1


# --- persistence -------------------------------------------------------------------------


def test_state_file_survives_a_restart(tmp_path):
    path = tmp_path / "emulator" / "state.json"
    with running_emulator(state_file=path) as emulator:
        chat_id = make_chat(emulator)
        link(emulator, "ivanov", 501)
        ok(emulator.api("messages.addChatUser", chat_id=chat_id, user_id=501))
        ok(emulator.api("messages.setMemberRole", chat_id=chat_id, member_id=501, role="admin"))
        call = ok(schedule(emulator, chat_id))
        ok(emulator.api("calls.delete", call_id=call["call_id"]))
        ok(schedule(emulator, chat_id, external_id="call-2"))
        before = emulator.state()
    assert json.loads(path.read_text(encoding="utf-8"))["chats"] == before["chats"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json"]  # no temp files left
    with running_emulator(state_file=path) as emulator:
        assert emulator.state() == before
        # Ids go on from where they were, never reusing a deleted call's id.
        assert ok(schedule(emulator, chat_id, external_id="call-3"))["call_id"] == 3
        assert make_chat(emulator, "chat-2") == 2
        assert (
            ok(emulator.api("messages.createChat", external_id="chat-1", title="x"))["created"]
            is False
        )
        emulator.reset()
    assert json.loads(path.read_text(encoding="utf-8"))["chats"] == []


def test_a_broken_state_file_stops_the_start(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(StateFileError):
        make_server("127.0.0.1", 0, state_file=path)
    path.write_text(json.dumps({"version": 1, "links": []}), encoding="utf-8")
    with pytest.raises(StateFileError):
        make_server("127.0.0.1", 0, state_file=path)


# --- VK ID -------------------------------------------------------------------------------

REDIRECT = "http://127.0.0.1:8000/vk/callback"


def pkce():
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


def authorize_params(challenge, **overrides):
    return {
        "response_type": "code",
        "client_id": "epos-spo",
        "redirect_uri": REDIRECT,
        "state": "st-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": "vkid.personal_info",
    } | overrides


def sign_in(emulator, challenge, vk_user_id="777000", **overrides):
    """Submit the page's form with «Разрешить»: the redirect's query."""
    form = authorize_params(challenge, **overrides) | {
        "vk_user_id": vk_user_id,
        "decision": "allow",
    }
    response = emulator.http.post("/emulator/authorize", data=form)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    return location, {key: values[0] for key, values in parse_qs(location.query).items()}


def token(emulator, redirect_query, verifier, **overrides):
    """Exchange the code of a sign-in's redirect at the token endpoint."""
    form = {
        "grant_type": "authorization_code",
        "code": redirect_query["code"],
        "code_verifier": verifier,
        "client_id": "epos-spo",
        "redirect_uri": REDIRECT,
        "device_id": redirect_query["device_id"],
        "state": "st-123",
    } | overrides
    return emulator.http.post("/emulator/token", data=form)


def test_vkid_page_offers_allow_and_deny_with_a_hinted_vk_id(emulator):
    _, challenge = pkce()
    page = emulator.http.get(
        "/emulator/authorize", params=authorize_params(challenge, login_hint="ivanov.ka")
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for text in ("Вход через VK ID", "VK ID пользователя", "Разрешить", "Отказать"):
        assert text in page.text
    hinted = hinted_vk_user_id("ivanov.ka")
    assert f'value="{hinted}"' in page.text
    assert hinted == hinted_vk_user_id("ivanov.ka") and 100_000_000 <= hinted < 1_000_000_000
    plain = emulator.http.get("/emulator/authorize", params=authorize_params(challenge))
    assert 'name="vk_user_id" value=""' in plain.text


def test_vkid_flow_end_to_end_with_pkce(emulator):
    verifier, challenge = pkce()
    location, query = sign_in(emulator, challenge, vk_user_id="777000")
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert query["state"] == "st-123"
    assert query["code"] and query["device_id"]
    response = token(emulator, query, verifier)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert set(reply) == {
        "access_token",
        "refresh_token",
        "id_token",
        "token_type",
        "expires_in",
        "user_id",
        "state",
        "scope",
    }
    assert reply["user_id"] == 777000
    assert reply["token_type"] == "Bearer"
    assert reply["state"] == "st-123"
    assert reply["scope"] == "vkid.personal_info"
    assert reply["id_token"].count(".") == 2
    assert emulator.oauth()["tokens_issued"] == 1
    assert emulator.state() == {"links": [], "chats": [], "calls": []}


def test_vkid_redirect_keeps_the_callbacks_own_query(emulator):
    _, challenge = pkce()
    _, query = sign_in(emulator, challenge, redirect_uri=REDIRECT + "?next=%2Fchats%2F")
    assert query["next"] == "/chats/" and query["code"]


def test_vkid_wrong_verifier_is_invalid_grant_and_spends_the_code(emulator):
    verifier, challenge = pkce()
    _, query = sign_in(emulator, challenge)
    wrong = token(emulator, query, secrets.token_urlsafe(48))
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert token(emulator, query, verifier).status_code == 400
    assert emulator.oauth()["tokens_issued"] == 0


def test_vkid_code_is_single_use(emulator):
    verifier, challenge = pkce()
    _, query = sign_in(emulator, challenge)
    assert token(emulator, query, verifier).status_code == 200
    replay = token(emulator, query, verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert emulator.oauth()["tokens_issued"] == 1


def test_vkid_code_expires_in_ten_minutes(emulator):
    verifier, challenge = pkce()
    _, fresh = sign_in(emulator, challenge)
    _, stale = sign_in(emulator, challenge)
    emulator.advance_clock(9 * 60)
    assert token(emulator, fresh, verifier).status_code == 200
    emulator.advance_clock(61)
    expired = token(emulator, stale, verifier)
    assert expired.status_code == 400
    assert expired.json() == {
        "error": "invalid_grant",
        "error_description": "срок действия кода истёк",
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "someone-else"},
        {"redirect_uri": "http://127.0.0.1:8000/other"},
        {"device_id": "another-device"},
    ],
    ids=["client", "redirect", "device"],
)
def test_vkid_code_is_bound_to_client_redirect_and_device(emulator, overrides):
    verifier, challenge = pkce()
    _, query = sign_in(emulator, challenge)
    response = token(emulator, query, verifier, **overrides)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "overrides",
    [
        {"grant_type": "password"},
        {"code": ""},
        {"code_verifier": "short"},
        {"state": ""},
    ],
    ids=["grant", "code", "verifier", "state"],
)
def test_vkid_token_request_errors_are_invalid_request(emulator, overrides):
    verifier, challenge = pkce()
    _, query = sign_in(emulator, challenge)
    response = token(emulator, query, verifier, **overrides)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_vkid_token_endpoint_survives_a_malformed_form(emulator):
    response = emulator.http.post(
        "/emulator/token",
        content=b"grant_type=%ff",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_vkid_denied_redirects_with_access_denied(emulator):
    _, challenge = pkce()
    form = authorize_params(challenge) | {"decision": "deny"}
    response = emulator.http.post("/emulator/authorize", data=form)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert parse_qs(location.query) == {"error": ["access_denied"], "state": ["st-123"]}
    assert emulator.oauth()["codes_issued"] == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"response_type": "token"},
        {"client_id": ""},
        {"redirect_uri": "javascript:alert(1)"},
        {"redirect_uri": "/relative"},
        {"state": ""},
        {"code_challenge_method": "plain"},
        {"code_challenge": "too-short"},
    ],
    ids=[
        "response-type",
        "client",
        "redirect-scheme",
        "redirect-relative",
        "state",
        "method",
        "challenge",
    ],
)
def test_vkid_authorize_checks_its_parameters(emulator, overrides):
    _, challenge = pkce()
    page = emulator.http.get("/emulator/authorize", params=authorize_params(challenge, **overrides))
    assert page.status_code == 400
    assert "invalid_request" in page.text
    form = authorize_params(challenge, **overrides) | {"vk_user_id": "1", "decision": "allow"}
    assert emulator.http.post("/emulator/authorize", data=form).status_code == 400


def test_vkid_page_asks_again_for_a_bad_vk_id(emulator):
    _, challenge = pkce()
    form = authorize_params(challenge) | {"vk_user_id": "ivanov", "decision": "allow"}
    response = emulator.http.post("/emulator/authorize", data=form)
    assert response.status_code == 400
    assert "VK ID — целое положительное число" in response.text
    assert 'value="ivanov"' in response.text
    assert emulator.oauth()["codes_issued"] == 0


def test_vkid_client_id_option_restricts_the_client():
    _, challenge = pkce()
    with running_emulator(client_id="epos-spo") as emulator:
        params = authorize_params(challenge, client_id="stranger")
        assert emulator.http.get("/emulator/authorize", params=params).status_code == 400
        assert (
            emulator.http.get("/emulator/authorize", params=authorize_params(challenge)).status_code
            == 200
        )


def test_reset_forgets_vkid_codes(emulator):
    verifier, challenge = pkce()
    _, query = sign_in(emulator, challenge)
    emulator.reset()
    assert token(emulator, query, verifier).status_code == 400
    assert emulator.oauth() == {
        "codes_issued": 0,
        "codes_pending": 0,
        "tokens_issued": 0,
        "denied": 0,
    }


# --- the management command --------------------------------------------------------------


def start_command(*args):
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "vk_emulator", "--port", "0", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_line(process, deadline_s=30):
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    if not selector.select(timeout=deadline_s):
        process.kill()
        pytest.fail("the emulator printed nothing")
    return process.stdout.readline()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["term", "ctrl-c"])
def test_management_command_serves_and_stops_cleanly(stop_signal):
    process = start_command("--seed", "3", "--rate-limit", "50", "--token", "cmd-token")
    try:
        line = first_line(process)
        assert line.startswith("Эмулятор VK API: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        assert httpx.get(f"{url}/emulator/state").json() == {"links": [], "chats": [], "calls": []}
        assert httpx.get(f"{url}/emulator/faults").json()["rate_limit"] == 50
        reply = httpx.post(
            f"{url}/method/messages.createChat",
            data={"v": "5.199", "external_id": "chat-1", "title": "Т"},
            headers={"Authorization": "Bearer cmd-token"},
        ).json()
        assert reply == {"response": {"chat_id": 1, "created": True}}
    finally:
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "Эмулятор остановлен." in out
    assert "POST /method/messages.createChat 200" in err
    assert "Traceback" not in err


def test_management_command_rejects_bad_fault_kinds():
    process = start_command("--fault-kinds", "meteor")
    _, err = process.communicate(timeout=30)
    assert process.returncode != 0
    assert "meteor" in err
