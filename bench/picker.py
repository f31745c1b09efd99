"""`python -m bench picker [--scale small|region] [--json]`: the participant picker of a new
chat (/chats/new/custom/) in a college of about 20 000 people, searched by part of a FIO and
narrowed by filters, through the full middleware stack against the trivial view; and
EXPLAIN's verdict on the queries the picker runs: the search (the trigram index of the
college's people, directory/migrations/0007) and the list without one (their FIO order)."""

from __future__ import annotations

from urllib.parse import urlencode

from bench.common import Report, bench_client, ensure_college, measure_against, run_main
from bench.page import link

INDEX = "directory_collegeperson_fio_search_trgm"
FIO_INDEX = "collegeperson_fio_order"


def explain(organization, query, index: str = INDEX) -> tuple[str, str]:
    """(verdict, plan) for the page query the picker runs with `query` (the last one of
    `page_of`: with a search it is the only one, without one it follows the count)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from epos_chats.picker import page_of

    with CaptureQueriesContext(connection) as queries:
        page_of(organization, query, None, 1)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + queries.captured_queries[-1]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    if index in plan:
        verdict = f"индекс {index}"
    elif "Index" in plan:
        verdict = "другой индекс"
    else:
        verdict = "без индекса (Seq Scan)"
    if "JIT:" in plan:  # compiling the plan costs more than running it at this scale
        verdict += ", JIT"
    return verdict, plan


def body(report: Report) -> None:
    from directory.models import Group, Person, StaffMember
    from epos_chats import picker

    scale = report.scale
    organization = ensure_college("picker", groups=scale.picker_groups, students=25, seed=11)
    admin = (
        StaffMember.objects.filter(organization=organization, is_admin=True, is_active=True)
        .select_related("person")
        .first()
        .person
    )
    people = (
        Person.objects.filter(student_roles__organization=organization).count()
        + Person.objects.filter(guardian_roles__organization=organization).count()
        + Person.objects.filter(staff_roles__organization=organization).count()
    )
    report.add("ролей в колледже (обучающиеся, родители, кадры)", people)
    link([admin.pk])  # creating chats comes after a VK ID link (F8)
    draft = picker.draft_open(owner=admin, organization=organization)
    sample = Person.objects.filter(student_roles__organization=organization).first()
    group = Group.objects.filter(organization=organization, is_active=True).first()
    part = sample.last_name[1:5]  # a part from the middle of a surname
    searches = {
        f"часть ФИО «{part}»": {"q": part},
        "часть ФИО и имени": {"q": f"{part} {sample.first_name[:3]}"},
        "фильтр: обучающиеся 2 курса": {"tab": "students", "course": 2},
        "фильтр: группа + часть ФИО": {"tab": "students", "group": group.pk, "q": part},
        "фильтр: родители + часть ФИО": {"tab": "parents", "q": part},
    }
    client = bench_client()
    client.force_login(admin)
    for label, params in searches.items():
        url = f"/chats/new/custom/?{urlencode({'draft': draft.pk, **params})}"
        # Each against the trivial view taken in turns with it (bench.common.measure_against).
        timing, trivial = measure_against(client, url, scale.requests)
        ratio = timing.median_ms / trivial.median_ms
        report.add(f"{label}: тривиальный вид, медиана", trivial.median_ms, "мс")
        report.add(f"{label}: медиана", timing.median_ms, "мс")
        report.add(f"{label}: p95", timing.p95_ms, "мс")
        report.add(f"{label}: / тривиальный", ratio, "×", goal="≤ 3", ok=ratio <= 3)
        report.add(f"{label}: SQL-запросов на запрос", timing.queries)
    # Not a goal, for comparison: the first page, as the picker opens, with no search.
    plain, trivial = measure_against(
        client, f"/chats/new/custom/?{urlencode({'draft': draft.pk})}", scale.requests
    )
    report.add("без поиска и фильтров: медиана", plain.median_ms, "мс")
    report.add("без поиска и фильтров: / тривиальный", plain.median_ms / trivial.median_ms, "×")
    report.add("SQL-запросов на запрос (без поиска)", plain.queries)

    verdict, plan = explain(organization, picker.PickerQuery(q=part.upper()))
    report.say("EXPLAIN поиска по части ФИО:\n    " + plan.replace("\n", "\n    "))
    report.add(
        "EXPLAIN поиска по части ФИО",
        verdict,
        goal="индекс",
        ok=verdict.startswith("индекс"),
    )
    verdict, plan = explain(organization, picker.PickerQuery(), FIO_INDEX)
    report.say("EXPLAIN списка без поиска:\n    " + plan.replace("\n", "\n    "))
    report.add("EXPLAIN списка без поиска", verdict)


def main(argv: list[str]) -> int:
    return run_main("picker", __doc__, argv, body)
