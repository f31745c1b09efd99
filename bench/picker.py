"""`python -m bench picker [--scale small|region] [--json]`: the participant picker of a new
chat (/chats/new/custom/) in a college of about 20 000 people, searched by part of a FIO and
narrowed by filters, through the full middleware stack against the trivial view; and
EXPLAIN's verdict on the search query (the trigram index of directory/migrations/0003)."""

from __future__ import annotations

from urllib.parse import urlencode

from bench.common import Report, bench_client, ensure_college, measure, run_main
from bench.page import link

TRIVIAL = "/__bench__/trivial/"
INDEX = "directory_person_fio_search_trgm"


def explain(organization, query) -> tuple[str, str]:
    """(verdict, the plan's first lines) for the picker's query with `query`."""
    from django.db import connection

    from epos_chats.picker import candidates

    people = candidates(organization, query)[:50]
    sql, params = people.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    if INDEX in plan:
        verdict = f"индекс {INDEX}"
    elif "Index" in plan:
        verdict = "индекс (не триграммный)"
    else:
        verdict = "без индекса (Seq Scan)"
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
    trivial = measure(client, TRIVIAL, scale.requests)
    report.add("тривиальный вид, медиана", trivial.median_ms, "мс")
    for label, params in searches.items():
        url = f"/chats/new/custom/?{urlencode({'draft': draft.pk, **params})}"
        timing = measure(client, url, scale.requests)
        ratio = timing.median_ms / trivial.median_ms
        report.add(f"{label}: медиана", timing.median_ms, "мс")
        report.add(f"{label}: p95", timing.p95_ms, "мс")
        report.add(f"{label}: / тривиальный", ratio, "×", goal="≤ 3", ok=ratio <= 3)
    verdict, plan = explain(organization, picker.PickerQuery(q=part.upper()))
    report.say("EXPLAIN поиска по части ФИО:\n    " + plan.replace("\n", "\n    "))
    report.add(
        "EXPLAIN поиска по части ФИО",
        verdict,
        goal="индекс",
        ok=verdict.startswith("индекс"),
    )


def main(argv: list[str]) -> int:
    return run_main("picker", __doc__, argv, body)
