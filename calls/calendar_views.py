"""B6: the calendar feed by its secret URL, and the profile page that shows and resets it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from calls import ical

CALENDAR_NAME = "ЭПОС.СПО — онлайн-звонки"


@require_safe
def calendar_feed(request, token: str):
    """No session: the token is the credential. An unknown or reset token is a 404."""
    person = ical.person_by_token(token)
    if person is None:
        raise Http404("Календарь не найден.")
    body = ical.calendar(
        ical.calls_of(person),
        join_url=lambda call: request.build_absolute_uri(reverse("calls:join", args=[call.pk])),
        name=CALENDAR_NAME,
    )
    response = HttpResponse(body.encode("utf-8"), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="epos-calls.ics"'
    # The URL is a secret: neither shared caches nor search engines keep it.
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


@login_required
@require_safe
def calendar_settings(request):
    token = ical.calendar_token_of(request.user)
    feed_url = None
    if token is not None:
        feed_url = request.build_absolute_uri(reverse("calls:calendar_feed", args=[token.token]))
    return render(request, "calls/calendar.html", {"token": token, "feed_url": feed_url})


@login_required
@require_POST
def calendar_reset(request):
    had_token = ical.calendar_token_of(request.user) is not None
    ical.calendar_token_reset(person=request.user)
    if had_token:
        messages.success(request, "Выдана новая ссылка. Старая больше не работает.")
    else:
        messages.success(request, "Ссылка на календарь создана.")
    return redirect("calls:calendar")
