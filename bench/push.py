"""`python -m bench push [--scale small|region] [--json]`: the first push of chats to the VK API
emulator (a real HTTP server, started here in a thread) with a rate limit of R requests/s on
both sides (the client's limiter and the emulator's). The ceiling is 25 × R operations/s (an
`execute` carries 25 calls); the figure is operations/s against it, without faults and with
10 % injected faults, whose end state must equal the journal's (/emulator/state against the
chats and their linked members here).

The colleges go at once, one thread each, as the nightly fan-out pushes them from Celery
workers, under one limit of R; within a college the product's own settings apply (its
default backoff too): VK_API_IN_FLIGHT requests at once (different chats), VK_API_TIMEOUT
seconds before a silent request is given up and retried. The emulator's «timeout» fault
stays silent for its default 5 s, longer than the client waits.

At region scale the push takes a subset of the region (Scale.push_orgs colleges): the full
region's ~300 000 operations at R = 50 would take 4 minutes a run and say nothing more.
"""

from __future__ import annotations

import time

from bench.common import Report, ensure_region, reset_chats, run_main

RATE = 50
FAULT_RATE = 0.10
EXECUTE = 25
LINK_SHARES = {"staff": 0.7, "students": 0.6, "parents": 0.45}  # as the demo's (demo.py)


def link_people(org_ids) -> int:
    """Give a share of each college's people a VK ID link, as seed_demo does."""
    from directory.models import Guardian, StaffMember, Student
    from vk_sync.models import VkLink

    VkLink.objects.filter(vk_user_id__gte=800_000_000, vk_user_id__lt=900_000_000).delete()
    links = []
    for model, share in (
        (StaffMember, LINK_SHARES["staff"]),
        (Student, LINK_SHARES["students"]),
        (Guardian, LINK_SHARES["parents"]),
    ):
        every = max(1, round(1 / share))
        person_ids = model.objects.filter(organization__in=org_ids).values_list(
            "person_id", flat=True
        )
        links.extend(
            VkLink(person_id=pk, vk_user_id=800_000_000 + pk)
            for n, pk in enumerate(person_ids)
            if n % every == 0 or (share > 0.5 and n % 5 != 0)
        )
    VkLink.objects.bulk_create(links, ignore_conflicts=True, batch_size=5000)
    return len(links)


def journal_state(org_ids) -> dict[str, set]:
    """What the messenger should hold by the journal: chat external id → (vk id, role)."""
    from epos_chats.models import ChatMember
    from vk_sync.reconcile import chat_external_id

    wanted: dict[str, dict[int, bool]] = {}
    for chat_id, vk_user_id, is_admin in ChatMember.objects.filter(
        chat__organization__in=org_ids,
        chat__deleted_at__isnull=True,
        person__vk_link__isnull=False,
    ).values_list("chat_id", "person__vk_link__vk_user_id", "is_admin"):
        chat = wanted.setdefault(chat_external_id(chat_id), {})
        chat[vk_user_id] = chat.get(vk_user_id, False) or is_admin
    return {
        key: {(vk, "admin" if admin else "member") for vk, admin in members.items()}
        for key, members in wanted.items()
    }


def emulator_state(handle) -> dict[str, set]:
    state = handle.get("/emulator/state").json()
    return {
        chat["external_id"]: {(m["vk_user_id"], m["role"]) for m in chat["members"]}
        for chat in state["chats"]
    }


def push_all(org_ids, url: str, rate: int) -> tuple[float, int, int]:
    """(seconds, operations done, requests) of pushing every college once — all at once, one
    thread a college, as the nightly fan-out does on Celery workers, under one limit of
    `rate` requests/s (the Redis limiter's part in production)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from directory.models import Organization
    from vk_sync.adapter import VkMessengerGateway
    from vk_sync.ratelimit import LocalRateLimiter
    from vk_sync.reconcile import push_organization

    limiter = LocalRateLimiter(rate)
    organizations = list(Organization.objects.filter(pk__in=org_ids).order_by("pk"))

    def push(organization) -> tuple[int, int]:
        try:
            with VkMessengerGateway(base_url=url, token="bench-token", limiter=limiter) as gateway:
                run = push_organization(organization, gateway=gateway)
                return sum(run.operations.values()), gateway.requests
        finally:
            connection.close()  # this thread's own

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(organizations)) as pool:
        done = list(pool.map(push, organizations))
    seconds = time.perf_counter() - started
    return seconds, sum(ops for ops, _ in done), sum(requests for _, requests in done)


def one_run(report: Report, org_ids, *, fail_rate: float, label: str, goal: float) -> None:
    import httpx

    from vk_sync.emulator import FaultSettings, make_server
    from vk_sync.models import RemoteChat, RemoteLink, SyncRun

    RemoteChat.objects.filter(chat__organization__in=org_ids).delete()
    RemoteLink.objects.all().delete()
    SyncRun.objects.filter(organization__in=org_ids).delete()
    faults = FaultSettings(fail_rate=fail_rate, rate_limit=RATE, seed=9)
    server = make_server("127.0.0.1", 0, token="bench-token", faults=faults).start(
        poll_interval=0.05
    )
    try:
        with httpx.Client(base_url=server.url, timeout=30) as handle:
            seconds, operations, requests = push_all(org_ids, server.url, RATE)
            extra = 0
            if fail_rate:
                # What failed for good waits for the next push: run until nothing is left.
                for _ in range(5):
                    _, more, _ = push_all(org_ids, server.url, RATE)
                    extra += more
                    if not more:
                        break
            same = emulator_state(handle) == journal_state(org_ids)
            stats = handle.get("/emulator/stats").json()
    finally:
        server.stop()
    ceiling = EXECUTE * RATE
    rate = operations / seconds
    report.add(f"{label}: операций", operations)
    report.add(f"{label}: запросов", requests)
    report.add(f"{label}: время", seconds, "с")
    report.add(f"{label}: операций/с", rate, "1/с")
    report.add(
        f"{label}: доля потолка 25 × R",
        rate / ceiling,
        "×",
        goal=f"≥ {goal}",
        ok=rate >= goal * ceiling,
    )
    report.add(f"{label}: отказов эмулятора по лимиту", stats.get("rate_limited", 0))
    if fail_rate:
        report.add(f"{label}: операций в повторных передачах", extra)
    report.add(
        f"{label}: состояние эмулятора = журнал",
        "да" if same else "нет",
        goal="да",
        ok=same,
    )


def body(report: Report) -> None:
    import logging

    from django.conf import settings

    from directory.models import Organization

    for name in ("vk_sync.emulator", "vk_sync.adapter", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from epos_chats.services import rebuild_mandatory_chats

    all_orgs = ensure_region(report.scale, report)
    org_ids = all_orgs[: report.scale.push_orgs]
    reset_chats(org_ids)
    for organization in Organization.objects.filter(pk__in=org_ids):
        rebuild_mandatory_chats(organization)
    report.add("колледжей в передаче", len(org_ids))
    report.add("людей с привязкой VK ID", link_people(org_ids))
    report.add("R, запросов/с", RATE)
    report.add("запросов в полёте (VK_API_IN_FLIGHT)", settings.VK_API_IN_FLIGHT)
    report.add("ожидание ответа (VK_API_TIMEOUT)", settings.VK_API_TIMEOUT, "с")
    report.add("потолок 25 × R, операций/с", EXECUTE * RATE)
    one_run(report, org_ids, fail_rate=0.0, label="без сбоев", goal=0.8)
    one_run(report, org_ids, fail_rate=FAULT_RATE, label="10 % сбоев", goal=0.5)


def main(argv: list[str]) -> int:
    return run_main("push", __doc__, argv, body)
