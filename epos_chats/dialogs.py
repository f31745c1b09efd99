"""One dialog, two ways to show it: a modal `<dialog>` when htmx asked for it, a page of its own
otherwise (no JavaScript, a link opened in a new tab, a reload)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

PAGE = "epos_chats/dialog_page.html"
MODAL = "epos_chats/dialog_modal.html"


def is_modal(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def render_dialog(
    request: HttpRequest, body: str, context: dict, *, status: int = 200
) -> HttpResponse:
    """`body` is the dialog's content template; it gets `modal` to choose its controls."""
    modal = is_modal(request)
    if modal and request.htmx.target and request.htmx.target.startswith("dialog-"):
        # A form inside an open dialog was sent again (an error to show): only its content.
        return render(request, body, {**context, "modal": True}, status=status)
    template = MODAL if modal else PAGE
    response = render(request, template, {**context, "body": body, "modal": modal}, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
