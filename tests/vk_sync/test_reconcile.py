"""The push (F28) against the emulator over real HTTP: the messenger ends up holding exactly
what the journal says, whatever fails on the way (issue 6, point 6)."""

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from calls.models import OnlineCall
from directory.selectors import roles_of
from epos_chats.models import Chat, ChatMember
from epos_chats.services import (
    chat_create_custom,
    chat_delete,
    chat_rename,
    rebuild_mandatory_chats,
)
from tests import factories
from vk_sync.adapter import VkMessengerGateway
from vk_sync.models import RemoteChat, RemoteMember, SyncRun, VkLink
from vk_sync.ratelimit import LocalRateLimiter
from vk_sync.reconcile import PushBusy, push_call, push_organization
from vk_sync.services import unlink_vk_profile

pytestmark = pytest.mark.django_db

ALL_FAULTS = ["http500", "timeout", "error6", "lost_reply"]
MALFORMED = ["html", "truncated", "missing_fields"]


def gateway(emulator, *, rate=1000, attempts=6, timeout=0.5, backoff=0.01):
    return VkMessengerGateway(
        base_url=emulator.url,
        token="test-token",
        limiter=LocalRateLimiter(rate),
        timeout=timeout,
        max_attempts=attempts,
        backoff=backoff,
        max_backoff=backoff * 8,
    )


class College:
    """A college with mandatory chats; most people linked to VK ID, some not."""

    def __init__(self, groups=2, students=4):
        self.org = org = factories.OrganizationFactory()
        self.admin = factories.StaffMemberFactory(organization=org, is_admin=True)
        self.curator = factories.StaffMemberFactory(organization=org)
        self.groups = []
        for _ in range(groups):
            group = factories.GroupFactory(organization=org, curators=[self.curator])
            for _ in range(students):
                student = factories.StudentFactory(organization=org, group=group)
                factories.GuardianFactory(organization=org, children=[student])
            self.groups.append(group)
        rebuild_mandatory_chats(org)
        people = ChatMember.objects.filter(chat__organization=org).values_list(
            "person_id", flat=True
        )
        for n, person_id in enumerate(sorted(set(people))):
            if n % 4 != 3:  # three in four linked
                factories.VkLinkFactory(person_id=person_id, vk_user_id=500000 + person_id)

    def roles(self, staff):
        return roles_of(staff.person, self.org)


def expected(org):
    """What the messenger must hold, from the journal alone."""
    links = {
        (f"person-{person_id}", vk)
        for person_id, vk in VkLink.objects.filter(
            person__chat_memberships__chat__organization=org
        ).values_list("person_id", "vk_user_id")
    }
    chats = {}
    for chat in Chat.objects.filter(organization=org, platform="vk"):
        members = {}
        if chat.deleted_at is None:
            for vk, admin in ChatMember.objects.filter(
                chat=chat, person__vk_link__isnull=False
            ).values_list("person__vk_link__vk_user_id", "is_admin"):
                members[vk] = "admin" if admin else "member"
        chats[f"chat-{chat.pk}"] = (chat.title, members)
    return links, chats


def actual(emulator):
    state = emulator.state()
    links = {(link["external_user_id"], link["vk_user_id"]) for link in state["links"]}
    chats = {
        chat["external_id"]: (chat["title"], {m["vk_user_id"]: m["role"] for m in chat["members"]})
        for chat in state["chats"]
    }
    return links, chats, state


def assert_in_step(org, emulator):
    want_links, want_chats = expected(org)
    have_links, have_chats, state = actual(emulator)
    assert have_links == want_links
    # Deleted chats stay in the messenger, empty; chats never pushed (deleted first) are absent.
    for external_id, (title, members) in want_chats.items():
        if external_id in have_chats:
            assert have_chats[external_id][1] == members, external_id
            if members:
                assert have_chats[external_id][0] == title
        else:
            assert not members, f"{external_id} is missing in the messenger"
    externals = Counter(chat["external_id"] for chat in state["chats"])
    assert all(n == 1 for n in externals.values()), "a journal chat has two messenger chats"


def test_the_first_push_creates_every_chat_with_its_linked_members_and_rights(emulator):
    college = College()
    run = push_organization(college.org, gateway=gateway(emulator))
    assert run.status == SyncRun.Status.OK and not run.errors
    assert run.chats_touched == Chat.objects.filter(organization=college.org).count() == 5
    assert_in_step(college.org, emulator)
    # Only linked people went in; the unlinked ones are counted but not sent.
    assert RemoteMember.objects.count() < ChatMember.objects.count()


def test_a_second_push_sends_nothing(emulator):
    college = College()
    push_organization(college.org, gateway=gateway(emulator))
    before = emulator.stats()["requests"]
    run = push_organization(college.org, gateway=gateway(emulator))
    assert emulator.stats()["requests"] == before
    assert run.operations == {} and run.status == SyncRun.Status.OK


def test_only_the_difference_is_sent(emulator):
    college = College()
    push_organization(college.org, gateway=gateway(emulator))
    custom = chat_create_custom(
        actor=college.admin.person,
        roles=college.roles(college.admin),
        organization=college.org,
        title="Кружок",
        members={college.curator.person_id: True},
    ).chat
    chat_rename(
        actor=college.admin.person,
        roles=college.roles(college.admin),
        chat=custom,
        title="Кружок 2",
    )
    run = push_organization(college.org, gateway=gateway(emulator))
    assert run.operations == {
        "messages.createChat": 1,
        "messages.addChatUser": 1,
        "messages.setMemberRole": 1,
    }
    assert_in_step(college.org, emulator)


def test_an_unlinked_person_leaves_every_messenger_chat_and_the_link_is_withdrawn(emulator):
    college = College()
    push_organization(college.org, gateway=gateway(emulator))
    person = college.curator.person
    vk = person.vk_link.vk_user_id
    unlink_vk_profile(person)
    push_organization(college.org, gateway=gateway(emulator))
    _, chats, state = actual(emulator)
    assert all(vk not in members for _, members in chats.values())
    assert all(link["vk_user_id"] != vk for link in state["links"])
    assert_in_step(college.org, emulator)


def test_a_deleted_chat_loses_all_its_members_and_stays_in_the_messenger(emulator):
    college = College()
    custom = chat_create_custom(
        actor=college.admin.person,
        roles=college.roles(college.admin),
        organization=college.org,
        title="Кружок",
        members={college.curator.person_id: True, college.admin.person_id: False},
    ).chat
    push_organization(college.org, gateway=gateway(emulator))
    chat_delete(actor=college.admin.person, roles=college.roles(college.admin), chat=custom)
    push_organization(college.org, gateway=gateway(emulator))
    _, chats, _ = actual(emulator)
    assert chats[f"chat-{custom.pk}"] == ("Кружок", {})


def test_a_renamed_group_renames_its_messenger_chats(emulator):
    college = College()
    push_organization(college.org, gateway=gateway(emulator))
    group = college.groups[0]
    group.name = "ИС-99"
    group.save()
    rebuild_mandatory_chats(college.org)
    push_organization(college.org, gateway=gateway(emulator))
    _, chats, _ = actual(emulator)
    assert {"Группа ИС-99", "Родители ИС-99"} <= {title for title, _ in chats.values()}


def test_calls_are_scheduled_finished_and_deleted_in_the_messenger(emulator):
    college = College()
    chat = Chat.objects.get(organization=college.org, kind="teachers")
    call = factories.CallFactory(chat=chat, status="published")
    run = push_call(call, gateway=gateway(emulator))
    assert run.status == SyncRun.Status.OK
    [remote] = emulator.state()["calls"]
    assert remote["external_id"] == f"call-{call.pk}" and remote["status"] == "scheduled"
    assert call.remote.join_link == remote["join_link"] != ""
    assert remote["chat_id"] == RemoteChat.objects.get(chat=chat).remote_chat_id

    OnlineCall.objects.filter(pk=call.pk).update(
        status="finished", finished_at=timezone.now(), changed_at=timezone.now()
    )
    push_call(OnlineCall.objects.get(pk=call.pk), gateway=gateway(emulator))
    assert emulator.state()["calls"][0]["status"] == "finished"

    OnlineCall.objects.filter(pk=call.pk).update(
        deleted_at=timezone.now(), changed_at=timezone.now()
    )
    push_call(OnlineCall.objects.get(pk=call.pk), gateway=gateway(emulator))
    assert emulator.state()["calls"] == []


def test_a_permanent_error_is_recorded_on_the_chat_and_the_run(emulator):
    college = College(groups=1, students=1)
    push_organization(college.org, gateway=gateway(emulator))
    # The messenger lost a chat the journal believes it has: 927 on the next change.
    chat = Chat.objects.get(organization=college.org, kind="teachers")
    RemoteChat.objects.filter(chat=chat).update(remote_chat_id=999999)
    chat_rename_target = Chat.objects.filter(pk=chat.pk)
    chat_rename_target.update(title="Преподаватели (новое)", changed_at=timezone.now())
    run = push_organization(college.org, gateway=gateway(emulator))
    assert run.status == SyncRun.Status.ERRORS
    assert run.errors[0]["object"] == "chat" and "927" in run.errors[0]["error"]
    assert "927" in RemoteChat.objects.get(chat=chat).last_error


# --- faults: the push converges --------------------------------------------------------------


@pytest.mark.parametrize("kinds", [ALL_FAULTS, MALFORMED], ids=["faults", "malformed"])
def test_with_30_percent_faults_repeated_pushes_converge_exactly(emulator, kinds):
    college = College(groups=3, students=5)
    emulator.faults(fail_rate=0.3, kinds=kinds, timeout_s=0.8, seed=7)
    gw = gateway(emulator, attempts=3, timeout=0.4)
    for _ in range(12):
        run = push_organization(college.org, gateway=gw)
        if run.status == SyncRun.Status.OK:
            break
    # Then the journal changes and the messenger follows, still through the faults.
    person = college.curator.person
    unlink_vk_profile(person)
    custom = chat_create_custom(
        actor=college.admin.person,
        roles=college.roles(college.admin),
        organization=college.org,
        title="Кружок",
        members={college.admin.person_id: True},
    ).chat
    chat_delete(
        actor=college.admin.person,
        roles=college.roles(college.admin),
        chat=Chat.objects.get(pk=custom.pk),
    )
    for _ in range(12):
        run = push_organization(college.org, gateway=gw)
        if run.status == SyncRun.Status.OK:
            break
    emulator.faults(fail_rate=0.0)
    final = push_organization(college.org, gateway=gw, full=True)
    assert final.status == SyncRun.Status.OK
    assert_in_step(college.org, emulator)
    assert emulator.stats()["faults"], "the faults really happened"


def test_the_push_respects_the_rate_limit(emulator):
    college = College(groups=3, students=5)
    emulator.faults(rate_limit=10)
    run = push_organization(college.org, gateway=gateway(emulator, rate=10))
    stats = emulator.stats()
    assert run.status == SyncRun.Status.OK
    assert stats["rate_limited"] == 0 and stats["max_per_second"] <= 10
    assert_in_step(college.org, emulator)


def test_the_push_recovers_from_error_6_when_the_messenger_is_stricter(emulator):
    # Several requests go at once: a messenger allowing two a second refuses some of them.
    college = College(groups=4, students=6)
    emulator.faults(rate_limit=2)
    run = push_organization(
        college.org, gateway=gateway(emulator, rate=100, attempts=8, backoff=0.25)
    )
    assert emulator.stats()["rate_limited"] > 0
    assert run.status == SyncRun.Status.OK
    assert_in_step(college.org, emulator)


def test_a_push_finds_the_college_busy_while_another_runs():
    college = College(groups=1, students=1)
    SyncRun.objects.create(organization=college.org, trigger="nightly", status="running")
    with pytest.raises(PushBusy):
        push_organization(college.org, gateway=None)


def test_a_push_left_running_by_a_killed_process_is_taken_over(emulator):
    college = College(groups=1, students=1)
    stale = SyncRun.objects.create(
        organization=college.org,
        trigger="nightly",
        status="running",
        heartbeat_at=timezone.now() - dt.timedelta(hours=1),
    )
    run = push_organization(college.org, gateway=gateway(emulator))
    stale.refresh_from_db()
    assert stale.status == SyncRun.Status.ABANDONED and run.status == SyncRun.Status.OK


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_pushes_at_once_for_one_college_do_not_interleave(emulator):
    college = College(groups=2, students=4)
    emulator.faults(latency_ms=20)
    outcomes, barrier = [], threading.Barrier(2)

    def push():
        try:
            barrier.wait()
            outcomes.append(push_organization(college.org, gateway=gateway(emulator)).status)
        except PushBusy:
            outcomes.append("busy")
        finally:
            connection.close()

    threads = [threading.Thread(target=push) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["busy", "ok"]
    assert_in_step(college.org, emulator)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_push_killed_mid_way_and_run_again_converges(emulator):
    import os
    import signal
    import subprocess
    import sys
    import time

    from django.conf import settings as django_settings

    college = College(groups=4, students=6)
    emulator.faults(latency_ms=40)
    db = connection.settings_dict
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{host}/{db['NAME']}",
        "VK_API_BASE_URL": emulator.url,
        "VK_API_TOKEN": "test-token",
        "VK_API_RATE_LIMIT": "1000",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "vk_push", "--org", college.org.code],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while emulator.stats()["requests"] < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert emulator.stats()["requests"] >= 4, "the push was killed before it sent anything"
    _, chats, _ = actual(emulator)
    _, want_chats = expected(college.org)
    assert chats != want_chats, "killed too late to prove anything"

    # The killed push left its «running» row; after the stale window the next push takes over.
    SyncRun.objects.filter(status="running").update(
        heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )
    emulator.faults(latency_ms=0)
    run = push_organization(college.org, gateway=gateway(emulator))
    assert run.status == SyncRun.Status.OK
    assert_in_step(college.org, emulator)


@pytest.mark.parametrize(("mode", "sent"), [("immediate", True), ("nightly", False)])
def test_chat_changes_go_at_once_only_in_immediate_mode(
    emulator, settings, django_capture_on_commit_callbacks, mode, sent
):
    settings.VK_API_BASE_URL = emulator.url
    settings.VK_API_RATE_LIMIT = 1000
    settings.VK_SYNC_ENABLED = True
    settings.VK_SYNC_MODE = mode
    college = College(groups=1, students=1)
    with django_capture_on_commit_callbacks(execute=True):
        chat = chat_create_custom(
            actor=college.admin.person,
            roles=college.roles(college.admin),
            organization=college.org,
            title="Кружок",
            members={college.curator.person_id: True},
        ).chat
    titles = {c["external_id"]: c["title"] for c in emulator.state()["chats"]}
    assert (titles.get(f"chat-{chat.pk}") == "Кружок") is sent
