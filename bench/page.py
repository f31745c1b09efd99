"""`python -m bench page [--scale small|region] [--json]`: «Чаты» (/chats/) for an OO admin of
a college with 1 000 chats and about 5 000 people, and for a student of it: median and p95 over
200 requests through the full middleware stack (django.test.Client), against a trivial view
measured the same way in the same run; and the SQL queries per request at 10 and at 1 000
chats, which must be the same number. The page and the trivial view are timed in turns."""

from __future__ import annotations

from bench.common import (
    TRIVIAL,
    Report,
    bench_client,
    ensure_college,
    measure,
    measure_against,
    run_main,
)

URL = "/chats/"
MEMBERS_PER_CHAT = 6


def grow_chats(organization, people: list[int], viewers: list[int], total: int) -> None:
    """Custom VK chats up to `total` in the college, each with the viewers and a few people."""
    from django.db import connection
    from django.utils import timezone

    from epos_chats.models import Chat, ChatMember

    have = Chat.objects.filter(organization=organization).count()
    now = timezone.now()
    chats = Chat.objects.bulk_create(
        [
            Chat(
                organization=organization,
                kind=Chat.Kind.CUSTOM,
                title=f"Бенчмарк {n:04d}",
                created_at=now,
                changed_at=now,
            )
            for n in range(have, total)
        ]
    )
    rows = []
    for n, chat in enumerate(chats):
        chosen = dict.fromkeys(viewers)
        for k in range(MEMBERS_PER_CHAT):
            chosen.setdefault(people[(n * MEMBERS_PER_CHAT + k) % len(people)])
        rows.extend(
            ChatMember(chat=chat, person_id=pk, is_admin=pk == viewers[0], added_at=now)
            for pk in chosen
        )
    ChatMember.objects.bulk_create(rows, batch_size=5000)
    # Steady state, as autovacuum leaves it within a minute of a bulk insert: the page is
    # measured with the statistics of the table it reads, not those of an empty one.
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Chat._meta.db_table}, {ChatMember._meta.db_table}")


def link(person_ids: list[int]) -> None:
    """The viewers have a VK ID link: without one «Чаты» shows no VK block at all."""
    from vk_sync.models import VkLink

    VkLink.objects.bulk_create(
        [VkLink(person_id=pk, vk_user_id=900_000_000 + pk) for pk in person_ids],
        ignore_conflicts=True,
    )


def body(report: Report) -> None:
    from django.db.models import Q

    from directory.models import Person, StaffMember, Student
    from epos_chats.models import Chat
    from epos_chats.selectors import CHATS_PER_PAGE

    scale = report.scale
    organization = ensure_college("page", groups=scale.page_groups, students=25, seed=7)
    Chat.objects.filter(organization=organization).delete()
    admin = (
        StaffMember.objects.filter(organization=organization, is_admin=True, is_active=True)
        .select_related("person")
        .first()
        .person
    )
    student = Student.objects.filter(organization=organization, is_active=True).first().person
    viewers = [admin.pk, student.pk]
    link(viewers)
    people = list(
        Person.objects.filter(student_roles__organization=organization).values_list(
            "pk", flat=True
        )[:2000]
    )
    people_in_college = Person.objects.filter(
        Q(student_roles__organization=organization)
        | Q(guardian_roles__organization=organization)
        | Q(staff_roles__organization=organization)
    ).distinct()
    report.add("людей в колледже", people_in_college.count())

    client = bench_client()
    queries = {}
    for total in scale.page_chats:
        grow_chats(organization, people, viewers, total)
        trivial = measure(client, TRIVIAL, scale.requests)
        for role, person in (("администратор ОО", admin), ("обучающийся", student)):
            client.force_login(person)
            # In turns, page and trivial view: a change in the machine's load falls on both.
            timing, trivial_logged = measure_against(client, URL, scale.requests)
            queries[(role, total)] = timing.queries
            label = f"{role}, {total} чатов"
            report.add(f"{label}: медиана", timing.median_ms, "мс")
            report.add(f"{label}: p95", timing.p95_ms, "мс")
            report.add(f"{label}: тривиальный вид, медиана", trivial_logged.median_ms, "мс")
            ratio = timing.median_ms / trivial_logged.median_ms
            report.add(f"{label}: медиана / тривиальный", ratio, "×", goal="≤ 3", ok=ratio <= 3)
            report.add(f"{label}: запросов SQL", timing.queries)
            client.logout()
        report.add(f"тривиальный вид без входа ({total} чатов)", trivial.median_ms, "мс")
    report.add("чатов на странице", CHATS_PER_PAGE)
    first, last = scale.page_chats[0], scale.page_chats[-1]
    for role in ("администратор ОО", "обучающийся"):
        a, b = queries[(role, first)], queries[(role, last)]
        report.add(
            f"{role}: запросов при {first} и {last} чатах",
            f"{a} и {b}",
            goal="равны",
            ok=a == b,
        )


def main(argv: list[str]) -> int:
    return run_main("page", __doc__, argv, body)
