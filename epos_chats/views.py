"""The «Чаты» page (F4–F8) and a chat's settings, view-only for now (F12)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRefresh, push_url

from calls.marks import vk_block_opened
from directory.selectors import today_in
from epos_chats import access, selectors
from epos_chats.forms import EXPAND_EPOS, EXPAND_VK, ChatListForm, ChatListParams
from epos_chats.messaging import epos_open
from epos_chats.messaging_marks import EposUnread
from epos_chats.models import Chat

TEMPLATE = "epos_chats/index.html"


def _pager(page: Page, url_of: Callable[[int], str]) -> dict:
    """The pager under a list: numbered links (elided in the middle), previous and next."""
    links = []
    for number in page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1):
        if number == page.paginator.ELLIPSIS:
            links.append({"ellipsis": True})
        else:
            links.append(
                {"number": number, "url": url_of(number), "current": number == page.number}
            )
    return {
        "links": links,
        "prev_url": url_of(page.number - 1) if page.has_previous() else "",
        "next_url": url_of(page.number + 1) if page.has_next() else "",
    }


def _epos_block(organization) -> tuple[bool, dt.date | None, dt.date]:
    """F4: whether the ЭПОС block is shown (by the college's day), the date it goes, today."""
    return epos_open(organization), settings.EPOS_CHATS_HIDDEN_FROM, today_in(organization)


def _group_options(form: ChatListForm, chosen: int | None) -> list[tuple[str, str, bool]]:
    """The group select's options: value, name and whether chosen. A college has dozens of
    groups, so the template gets plain strings, not objects to look into and numbers to
    localize."""
    return [(str(group.pk), group.name, group.pk == chosen) for group in form.group_choices]


def _unread_of_all(request, conversations: list[Chat]) -> EposUnread:
    """The menu's unread ЭПОС total (F30) when the block lists every conversation of the
    person: the sum of their own counts, with no query of its own."""
    unread = EposUnread(request)
    unread.count = sum(chat.unread for chat in conversations)
    return unread


@login_required
def index(request):
    organization = request.organization
    if organization is None:
        return render(request, TEMPLATE, {"params": ChatListParams()})

    epos_shown, epos_hidden_from, today = _epos_block(organization)
    partial = request.htmx and not request.htmx.history_restore_request
    frame = selectors.chats_frame(
        request.user, organization, conversations=epos_shown and not partial
    )
    vk_link = frame.vk_linked
    form = ChatListForm(request.GET, groups=frame.groups)
    params = form.params
    if params.expand == EXPAND_EPOS and not epos_shown:
        params = replace(params, expand="")
    expand = params.expand
    if expand != EXPAND_EPOS:
        vk_block_opened(request)  # F27: the calls published so far are seen

    context = {
        "params": params,
        "form": form,
        "group_options": _group_options(form, params.query.group),
        "expand": expand,
        "vk_link": vk_link,
        "epos_shown": epos_shown and expand != EXPAND_VK,
        "epos_hidden_from": epos_hidden_from,
        "today": today,
        "expand_vk_url": params.urlencode(expand=EXPAND_VK),
        "expand_epos_url": params.urlencode(expand=EXPAND_EPOS),
        "collapse_url": params.urlencode(expand=""),
        "page": None,
    }
    if expand != EXPAND_EPOS and vk_link:
        page = selectors.chat_page(
            request.user, organization, request.roles, params.query, request.GET.get("page")
        )
        for chat in page.object_list:
            chat.may_manage = access.may_manage(
                chat, request.roles, is_chat_admin=chat.is_chat_admin
            )
        context.update(
            page=page,
            pager=_pager(page, lambda number: params.urlencode(page=number)),
            reset_url=ChatListParams(expand=expand).urlencode(),
            kinds=Chat.Kind.choices,
            sorts=selectors.SORTS,
            may_create=access.may_create_chats(request.roles),
            messenger_url=selectors.messenger_url(),
        )
    if context["epos_shown"] and not partial:
        # The frame said whether there is anything: no query for an empty block.
        epos_chats, more = [], False
        if frame.has_conversations:
            epos_chats, more = selectors.epos_chats_of(request.user, organization)
        context["epos_chats"], context["epos_more"] = epos_chats, more
        if not more:
            context["epos_unread"] = _unread_of_all(request, epos_chats)

    if partial:
        if context["page"] is None:
            # The link was removed in another tab: the whole block changes, not the list.
            return HttpResponseClientRefresh()
        response = render(request, TEMPLATE + "#chat-list", {**context, "oob": True})
        # The address bar gets the list's canonical URL: no empty fields, no dropped values.
        query = params.urlencode(page=context["page"].number)
        push_url(response, request.path + (query if query != "?" else ""))
    else:
        response = render(request, TEMPLATE, context)
    # The same URL answers a page or its list: caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def chat_settings(request, chat_id: int):
    """F12: a chat's settings and members, for those who see the chat on «Чаты» (F7)."""
    chat = access.chat_for_view(request, chat_id)
    members = selectors.members_page(chat, request.GET.get("page"))
    return render(
        request,
        "epos_chats/settings.html",
        {
            "chat": chat,
            "counts": selectors.member_counts(chat),
            "members": members,
            "pager": _pager(members, lambda number: f"?page={number}" if number > 1 else "?"),
            # F17/F18: the edit and delete controls; never on a mandatory chat (F12).
            "may_manage": access.may_manage(chat, request.roles, is_chat_admin=chat.is_chat_admin),
        },
    )
