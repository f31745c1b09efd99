"""«Мониторинг» (B3) and the audit log (B4): pages, their printable form and CSV exports.

Every page reads through `reports.selectors`/`reports.audit`. The region's page reads the
colleges' stored summaries (`reports.services`); it writes only a missing college's first one,
and «Обновить» recounts them, at most once a minute.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST, require_safe

from reports import access, audit, chart, csvexport, selectors, services
from reports.signals import SESSION_FLAG

SORTS = {
    "overall": "всего",
    "staff": "сотрудники",
    "teachers": "преподаватели",
    "students": "обучающиеся",
    "parents": "родители",
    "name": "по названию",
}


def _is_print(request) -> bool:
    return request.GET.get("print") == "1"


@login_required
@require_safe
def index(request):
    """The OO admin's own college; the region administrator's region."""
    if request.organization is not None and request.roles.is_admin:
        return redirect("reports:college", organization_id=request.organization.pk)
    access.region_for(request)
    return redirect("reports:region")


# A version of the region's tables lives until the next recount (minutes); the hour only
# bounds what an abandoned version occupies in the cache.
TABLES_TTL = 60 * 60


def _region_report() -> selectors.RegionReport:
    report = selectors.region_report()
    if report.missing:
        services.summarize_missing()
        report = selectors.region_report()
    return report


def _sort(value: str | None) -> str:
    return value if value in SORTS else "overall"


def _region_tables(version: selectors.RegionVersion, sort: str) -> str:
    """The tables, rendered once per version of the summaries and sort order: drawing a
    hundred colleges costs several times a whole page (issue 9). No invalidation is needed: a
    recount makes a new version. Should one commit between the version and the report read
    below, the old version gets the newer tables, and the next request the new one."""
    key = f"reports:region-tables:{version.digest}:{sort}"
    tables = cache.get(key)
    if tables is None:
        report = _region_report()
        tables = render_to_string(
            "reports/_region_tables.html",
            {
                "report": report,
                "colleges": selectors.sort_colleges(report.colleges, sort),
                "sort": sort,
                "sorts": SORTS,
                "bars": chart.bars(report.weeks),
                "chart": chart,
                "target": selectors.TARGET_PERCENT,
            },
        )
        cache.set(key, str(tables), TABLES_TTL)
    # Our own template's output, escaped when it was drawn.
    return mark_safe(tables)


@login_required
@require_safe
def region(request):
    access.region_for(request)
    sort = _sort(request.GET.get("sort"))
    version = selectors.region_version()
    if version.missing:
        services.summarize_missing()
        version = selectors.region_version()
    return render(
        request,
        "reports/region.html",
        {
            "tables": _region_tables(version, sort),
            "as_of": version.as_of,
            "stale": version.is_stale(),
            "sort": sort,
            "refresh_minutes": int(selectors.REFRESH_EVERY.total_seconds() // 60),
            "print": _is_print(request),
            "target": selectors.TARGET_PERCENT,
        },
    )


@login_required
@require_POST
def region_refresh(request):
    """«Обновить»: recount the region now, unless it was recounted less than a minute ago or
    is being recounted (then the page shows that count when it is done)."""
    access.region_for(request)
    result = services.refresh_region()
    if result.outcome is services.Outcome.REFRESHED:
        messages.success(request, f"Пересчитано: данные на {_when(result.as_of)}.")
    elif result.outcome is services.Outcome.FRESH:
        messages.info(
            request,
            f"Данные на {_when(result.as_of)} только что пересчитаны: "
            "обновить их снова можно через минуту.",
        )
    else:
        messages.info(request, "Данные уже пересчитываются: обновите страницу через минуту.")
    url = reverse("reports:region")
    sort = _sort(request.POST.get("sort"))
    return redirect(url if sort == "overall" else f"{url}?sort={sort}")


@login_required
@require_safe
def college(request, organization_id: int):
    organization = access.college_for(request, organization_id)
    report = selectors.college_report(organization)
    sort = request.GET.get("sort", "overall")
    return render(
        request,
        "reports/college.html",
        {
            "report": report,
            "figures": report.figures,
            "groups": selectors.sort_groups(report.groups, sort),
            "sort": sort,
            "group_sorts": {k: SORTS[k] for k in ("overall", "students", "parents", "name")},
            "bars": chart.bars(report.weeks),
            "chart": chart,
            "print": _is_print(request),
            "target": selectors.TARGET_PERCENT,
            # Only a region administrator reaches a college that is not their own as its admin.
            "from_region": request.session.get(SESSION_FLAG, False)
            or not (request.roles.is_admin and request.organization == organization),
        },
    )


# CSV ------------------------------------------------------------------------------------------


def _when(value) -> str:
    return timezone.localtime(value).strftime("%d.%m.%Y %H:%M") if value else ""


def _share_cells(share) -> list:
    return [share.total, share.linked, csvexport.percent(share.percent), share.missing]


SHARE_HEADER = ["Всего", "С VK ID", "Доля, %", "Не хватает до 100 %"]


def _college_table(report, table: str):
    figures = report.figures
    if table == "shares":
        header = ["Категория", *SHARE_HEADER]
        rows = [[s.label, *_share_cells(s)] for s in [*figures.shares, figures.overall]]
    elif table == "groups":
        header = [
            "Группа",
            "Курс",
            *(f"Обучающиеся: {h}" for h in SHARE_HEADER),
            *(f"Родители: {h}" for h in SHARE_HEADER),
            "Итого, %",
            "Куратор",
        ]
        rows = [
            [
                r.group.name,
                r.group.course,
                *_share_cells(r.students),
                *_share_cells(r.parents),
                csvexport.percent(r.overall.percent),
                csvexport.yes_no(r.has_curator),
            ]
            for r in report.groups
        ]
    elif table == "uncurated":
        header = ["Группа", "Курс", "Куратор", "Чат «Группа»", "Чат «Родители»"]
        rows = [
            [
                r.group.name,
                r.group.course,
                csvexport.yes_no(r.has_curator),
                csvexport.yes_no(r.has_group_chat),
                csvexport.yes_no(r.has_parents_chat),
            ]
            for r in report.uncurated_groups
        ]
    elif table == "chats":
        header = ["Чат", "Тип", "Участников"]
        rows = [
            [c.title, c.get_kind_display(), c.member_count]
            for c in report.chats_without_linked_admin
        ]
    elif table == "weeks":
        header = ["Неделя с", "Опубликовано звонков"]
        rows = [[w.start.strftime("%d.%m.%Y"), w.calls] for w in report.weeks]
    elif table == "sync":
        sync = figures.sync
        header = [
            "Последняя передача",
            "Начало",
            "Окончание",
            "Чатов с ошибкой",
            "Звонков с ошибкой",
        ]
        rows = [
            [
                sync.last_status_label,
                _when(sync.last_started_at),
                _when(sync.last_finished_at),
                sync.failed_chats,
                sync.failed_calls,
            ]
        ]
    else:
        raise Http404("Нет такой таблицы.")
    return header, rows


@login_required
@require_safe
def college_csv(request, organization_id: int, table: str):
    organization = access.college_for(request, organization_id)
    report = selectors.college_report(organization)
    header, rows = _college_table(report, table)
    return csvexport.response(f"monitoring-{organization.code}-{table}.csv", header, rows)


@login_required
@require_safe
def region_csv(request, table: str):
    access.region_for(request)
    report = _region_report()
    if table == "colleges":
        header = [
            "Организация",
            *(f"{label}: {h}" for _, label in selectors.SHARES for h in SHARE_HEADER),
            "Итого, %",
            "Групп без куратора",
            "Чатов без администратора с VK ID",
            "Чатов со звонком на этой неделе",
            "Последняя передача",
            "Чатов с ошибкой",
            "Звонков с ошибкой",
            "Данные на",
        ]
        rows = [
            [
                c.organization.short_name or c.organization.name,
                *(cell for s in c.shares for cell in _share_cells(s)),
                csvexport.percent(c.overall.percent),
                c.groups_without_curator,
                c.chats_without_linked_admin,
                c.chats_with_call_this_week,
                c.sync.last_status_label,
                c.sync.failed_chats,
                c.sync.failed_calls,
                _when(c.as_of),
            ]
            for c in report.colleges
        ]
    elif table == "shares":
        header = ["Категория", *SHARE_HEADER]
        rows = [[s.label, *_share_cells(s)] for s in report.shares]
    elif table == "weeks":
        header = ["Неделя с", "Опубликовано звонков"]
        rows = [[w.start.strftime("%d.%m.%Y"), w.calls] for w in report.weeks]
    else:
        raise Http404("Нет такой таблицы.")
    # The summaries' time in the name: a file saved today and opened next week says how old it is.
    as_of = timezone.localtime(report.as_of).strftime("-%Y%m%d-%H%M") if report.as_of else ""
    return csvexport.response(f"monitoring-region-{table}{as_of}.csv", header, rows)


# Audit log (B4) -------------------------------------------------------------------------------


def _audit_rows(request, organization):
    form = audit.AuditFilterForm(request.GET or None, organization=organization)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    rows = audit.events(
        organization,
        person=filters.get("person"),
        chat=filters.get("chat"),
        action=filters.get("action") or "",
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    if form.is_bound and not form.is_valid():
        rows = rows.none()
    return form, rows


@login_required
@require_safe
def audit_log(request):
    organization = access.audit_college_for(request)
    form, rows = _audit_rows(request, organization)
    page = Paginator(rows, audit.PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reports/audit.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "print": _is_print(request),
        },
    )


@login_required
@require_safe
def audit_csv(request):
    organization = access.audit_college_for(request)
    _, rows = _audit_rows(request, organization)
    header = ["Когда", "Кто", "Действие", "Объект", "Название"]
    data = (
        [
            _when(event.at),
            event.actor.full_name if event.actor_id else "система",
            event.get_action_display(),
            event.object_type,
            event.object_repr,
        ]
        for event in rows.iterator(chunk_size=2000)
    )
    return csvexport.response(f"audit-{organization.code}.csv", header, data)
