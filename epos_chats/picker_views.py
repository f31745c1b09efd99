"""The participant picker on its two pages — «Произвольный чат» (F15) and «Редактировать состав
участников» (F17): the list by tab, filters and FIO search, and the ticks.

The selection is a `ChatDraft` on the server (see `picker`): the page carries its id in the
URL, each tick is one small POST, and the list, tabs and filters only read it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from epos_chats import picker
from epos_chats.models import ChatDraft
from epos_chats.picker import PAGE_SIZE, TABS, PickerQuery
from epos_chats.templatetags.chats import options
from epos_chats.views import _pager as pager_links

TEMPLATE = "epos_chats/picker.html"
NOT_OF_COLLEGE = "Выбрать можно только сотрудников, обучающихся и родителей вашей организации."


def page_url(draft: ChatDraft) -> str:
    """Where the draft is edited: the members of its chat, or a new «Произвольный чат»."""
    if draft.chat_id:
        return reverse("epos_chats:members", args=[draft.chat_id])
    return reverse("epos_chats:create_custom")


def select_options(choices: list[picker.Choice], chosen) -> SafeString:
    """The `<option>`s of the «Группа» or «Дисциплина» select: a college has hundreds of
    groups, joined by the `options` tag rather than a template loop."""
    return options((choice.pk, choice.name, choice.pk == chosen) for choice in choices)


def picker_context(
    params, draft: ChatDraft, *, notice: str = "", counts: tuple[int, int] | None = None
) -> dict:
    """The picker's state from the query string (or the state fields of a POST): a fixed
    number of queries — the filters' options, the page (with its count), and the draft's
    counts unless they are known (`counts`: selected, admins)."""
    organization = draft.organization
    options = picker.filter_options(organization)
    query = picker.consistent(PickerQuery.from_params(params), options)
    page = picker.page_of(organization, query, draft, params.get("page"))
    selected, admins = counts or picker.draft_counts(draft)
    base = page_url(draft)
    return {
        "draft": draft,
        "query": query,
        "filters": picker.FILTERS[query.tab],
        "options": options,
        "group_options": select_options(options.groups_of(query.course), query.group),
        "discipline_options": select_options(options.disciplines, query.discipline),
        "no_discipline": picker.NO_DISCIPLINE,
        "page": page,
        "pager": pager_links(page, lambda number: query.url(base, draft, page=number)),
        # A tab keeps the search and the filters it offers; «Выбранные» shows the whole
        # selection, so its list matches the count on its label.
        "tabs": [
            {
                "key": key,
                "label": label,
                "url": query.url(base, draft, tab=key, **({"q": ""} if key == "selected" else {})),
            }
            for key, label in TABS.items()
        ],
        "picker_url": base,
        "reset_url": query.url(base, draft, q="", course=None, group=None, discipline=None),
        "change_url": reverse("epos_chats:draft_change", args=[draft.pk]),
        "selected_count": selected,
        "admin_count": admins,
        "editing_chat": draft.chat_id is not None,
        "notice": notice,
    }


def render_picker_page(
    request: HttpRequest, draft: ChatDraft, template: str, context: dict
) -> HttpResponse:
    """The whole page, or the part htmx asked for: the picker after a tab change, or its
    results (with the controls that follow them) after a search, a filter or paging."""
    # The draft comes from `draft_of`, with its counts as read.
    counts = (draft.selected_count, draft.admin_count)
    context = {**context, **picker_context(request.GET, draft, counts=counts)}
    target = (
        request.htmx.target if request.htmx and not request.htmx.history_restore_request else ""
    )
    if target == "picker":
        template = f"{TEMPLATE}#picker"
    elif target == "picker-results":
        template, context["oob"] = f"{TEMPLATE}#results", True
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def _ids(values, limit: int = PAGE_SIZE * 4) -> list[int]:
    ids = []
    for value in values[:limit]:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return ids


def _apply_page(draft: ChatDraft, post) -> bool:
    """Without JavaScript the page's ticks come at once: each row shown takes the state of its
    two checkboxes."""
    selected, admins = set(_ids(post.getlist("selected"))), set(_ids(post.getlist("admin")))
    ok = True
    for person_id in _ids(post.getlist("shown")):
        if person_id in admins:
            ok &= picker.draft_set_admin(draft, person_id, is_admin=True)
        elif person_id in selected:
            ok &= picker.draft_select(draft, person_id, selected=True)
            picker.draft_set_admin(draft, person_id, is_admin=False)
        else:
            picker.draft_select(draft, person_id, selected=False)
    return ok


@login_required
@require_POST
def draft_change(request, draft_id: int):
    """A tick, «Администратор чата», «Выбрать всех» or «Снять всех» on the person's own draft."""
    draft = picker.draft_of(
        owner=request.user, organization=request.organization, draft_id=draft_id
    )
    if draft is None:
        raise Http404("Выбор участников не найден: откройте страницу создания чата заново.")
    post = request.POST
    action = post.get("action")
    query = PickerQuery.from_params(post)
    notice = ""
    if action in ("select", "admin"):
        person_ids = _ids([post.get("person")], limit=1)
        if not person_ids:
            return HttpResponseBadRequest("Не указан участник.")
        person_id = person_ids[0]
        if action == "select":
            ticked = str(person_id) in post.getlist("selected")
            done = picker.draft_select(draft, person_id, selected=ticked)
        else:
            ticked = str(person_id) in post.getlist("admin")
            done = picker.draft_set_admin(draft, person_id, is_admin=ticked)
        if request.htmx:
            row = picker.row_of(draft, person_id) if done else None
            if row is None:
                return HttpResponseBadRequest(NOT_OF_COLLEGE)
            selected, admins = picker.draft_counts(draft)
            return render(
                request,
                f"{TEMPLATE}#row-changed",
                {
                    "person": row,
                    "change_url": reverse("epos_chats:draft_change", args=[draft.pk]),
                    "selected_count": selected,
                    "admin_count": admins,
                    "editing_chat": draft.chat_id is not None,
                    "oob": True,
                },
            )
        if not done:
            notice = NOT_OF_COLLEGE
    elif action == "apply":
        if not _apply_page(draft, post):
            notice = NOT_OF_COLLEGE
    elif action == "select_all":
        notice = f"Отмечены все найденные: {picker.draft_select_all(draft, query)}."
    elif action == "unselect_all":
        notice = f"Отметка снята: {picker.draft_unselect_all(draft, query)}."
    else:
        return HttpResponseBadRequest("Неизвестное действие.")

    if request.htmx:
        context = picker_context(post, draft, notice=notice)
        return render(request, f"{TEMPLATE}#results", {**context, "oob": True})
    if notice:
        messages.info(request, notice)
    page = _ids([post.get("page")], limit=1)
    return redirect(query.url(page_url(draft), draft, page=page[0] if page else None))
