"""Content-Security-Policy for every response: only our own static files run or style the page.

htmx is vendored (django-htmx serves it from /static/), so `script-src 'self'` admits it; the
`hx-on:*` attributes it would `eval` are replaced by static/js/dialogs.js. The one origin
outside ours a form may go to is VK ID's sign-in page (the «Привязать» round trip).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

HEADER = "Content-Security-Policy"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def policy() -> str:
    form_action = " ".join(
        filter(None, ["'self'", _origin(getattr(settings, "VK_ID_AUTHORIZE_URL", ""))])
    )
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
            f"form-action {form_action}",
        ]
    )


def content_security_policy(get_response):
    header = policy()

    def middleware(request):
        response = get_response(request)
        # A view that set its own policy (none do today) keeps it.
        response.headers.setdefault(HEADER, header)
        return response

    return middleware
