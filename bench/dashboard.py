"""`python -m bench dashboard [--scale small|region] [--json]`: «Мониторинг» of the whole region
(/reports/region/) for a region administrator, over the region's colleges after their nightly
rebuild: median and p95 through the full middleware stack against the trivial view. Goal:
median ≤ 5 × the trivial view. Skipped, without failing, where there is no region view.

The page reads the colleges' stored summaries, which the nightly jobs and Celery beat recount
(reports/services.py); the bench recounts them once before measuring, as the night would, and
prints what that count and the first view after it cost."""

from __future__ import annotations

import statistics
import time

from bench.common import Report, bench_client, ensure_region, measure_against, run_main


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
    summarized = _summarize()
    client = bench_client()
    client.force_login(person)
    page, trivial = measure_against(client, url, report.scale.requests)
    ratio = page.median_ms / trivial.median_ms
    report.add("колледжей в регионе", len(org_ids))
    report.add("тривиальный вид, медиана", trivial.median_ms, "мс")
    report.add("«Мониторинг» региона: медиана", page.median_ms, "мс")
    report.add("«Мониторинг» региона: p95", page.p95_ms, "мс")
    report.add("«Мониторинг» региона: запросов SQL", page.queries)
    report.add("медиана / тривиальный", ratio, "×", goal="≤ 5", ok=ratio <= 5)
    if summarized is not None:
        report.add("пересчёт сводки региона (фоновый)", summarized, "мс")
        first = _first_views(client, url)
        report.add("первый просмотр после пересчёта: медиана", first, "мс")


def _first_views(client, url: str, rounds: int = 5) -> float:
    """The view that follows each recount draws the tables anew (later ones reuse them)."""
    samples = []
    for _ in range(rounds):
        _summarize()
        started = time.perf_counter()
        client.get(url, secure=True)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _summarize() -> float | None:
    """The region's summaries as the nightly jobs leave them: ms of the count, or None where
    the page counts live (a `reports` without summaries)."""
    try:
        from reports.services import summarize_colleges
    except ImportError:
        return None
    started = time.perf_counter()
    summarize_colleges()
    return (time.perf_counter() - started) * 1000


def main(argv: list[str]) -> int:
    return run_main("dashboard", __doc__, argv, body)
