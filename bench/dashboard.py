"""`python -m bench dashboard [--scale small|region] [--json]`: «Мониторинг» of the whole region
(/reports/region/) for a region administrator, over the region's colleges after their nightly
rebuild: median and p95 through the full middleware stack against the trivial view. Goal:
median ≤ 5 × the trivial view. Skipped, without failing, where there is no region view."""

from __future__ import annotations

from bench.common import Report, bench_client, ensure_region, measure, run_main

TRIVIAL = "/__bench__/trivial/"


def region_url() -> str | None:
    from django.apps import apps
    from django.urls import NoReverseMatch, reverse

    if not apps.is_installed("reports"):
        return None
    try:
        return reverse("reports:region", urlconf="bench.urls")
    except NoReverseMatch:
        return None


def body(report: Report) -> None:
    url = region_url()
    if url is None:
        report.say("пропущено: нет региональной панели")
        report.add("региональная панель", "пропущено: нет региональной панели")
        return
    from directory.models import Organization, StaffMember
    from epos_chats.models import Chat
    from epos_chats.services import rebuild_mandatory_chats
    from reports.models import RegionAdministrator

    org_ids = ensure_region(report.scale, report)
    if not Chat.objects.filter(organization__in=org_ids).exists():
        for organization in Organization.objects.filter(pk__in=org_ids):
            rebuild_mandatory_chats(organization)
    person = (
        StaffMember.objects.filter(organization__in=org_ids, is_admin=True)
        .select_related("person")
        .first()
        .person
    )
    RegionAdministrator.objects.get_or_create(person=person)
    client = bench_client()
    client.force_login(person)
    trivial = measure(client, TRIVIAL, report.scale.requests)
    page = measure(client, url, report.scale.requests)
    ratio = page.median_ms / trivial.median_ms
    report.add("колледжей в регионе", len(org_ids))
    report.add("тривиальный вид, медиана", trivial.median_ms, "мс")
    report.add("«Мониторинг» региона: медиана", page.median_ms, "мс")
    report.add("«Мониторинг» региона: p95", page.p95_ms, "мс")
    report.add("«Мониторинг» региона: запросов SQL", page.queries)
    report.add("медиана / тривиальный", ratio, "×", goal="≤ 5", ok=ratio <= 5)


def main(argv: list[str]) -> int:
    return run_main("dashboard", __doc__, argv, body)
