"""VK ID authorization for «Привязать учебный профиль VK ID» (F9): OAuth 2.1 authorization
code with PKCE (S256). Only the VK user id is kept; the tokens die with the exchange."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import secrets
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.utils import timezone

from directory.models import Person
from vk_sync.models import VkIdAttempt

log = logging.getLogger(__name__)

ATTEMPT_LIFETIME = dt.timedelta(minutes=10)


class VkIdError(Exception):
    """Why the linking did not happen, in words for the person."""


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def start(person: Person, *, redirect_uri: str) -> str:
    """A new attempt; returns the VK ID authorize URL to send the person to."""
    verifier = secrets.token_urlsafe(48)
    attempt = VkIdAttempt.objects.create(
        person=person,
        state=secrets.token_urlsafe(24),
        code_verifier=verifier,
        redirect_uri=redirect_uri,
    )
    # Old attempts of anyone are of no use: keep the table small.
    VkIdAttempt.objects.filter(created_at__lt=timezone.now() - ATTEMPT_LIFETIME * 6).delete()
    query = {
        "response_type": "code",
        "client_id": settings.VK_ID_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "state": attempt.state,
        "code_challenge": _challenge(verifier),
        "code_challenge_method": "S256",
        "scope": "vkid.personal_info",
        "login_hint": person.login,
    }
    return f"{settings.VK_ID_AUTHORIZE_URL}?{urlencode(query)}"


def finish(person: Person, params) -> int:
    """The callback: check the state (once, in time, this person's), exchange the code, and
    return the VK user id. Raises VkIdError with a message for the person."""
    state = str(params.get("state") or "")
    attempt = VkIdAttempt.objects.filter(state=state, person=person).first() if state else None
    fresh = timezone.now() - ATTEMPT_LIFETIME
    if attempt is None or attempt.used_at is not None or attempt.created_at < fresh:
        raise VkIdError(
            "Ссылка привязки устарела или уже использована. Нажмите «Привязать учебный профиль "
            "VK ID» ещё раз."
        )
    # Claimed by a conditional update: a replayed callback finds it used.
    if not VkIdAttempt.objects.filter(pk=attempt.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    ):
        raise VkIdError("Эта привязка уже обработана.")
    if params.get("error"):
        if params.get("error") == "access_denied":
            raise VkIdError("Привязка отменена: доступ в VK ID не был разрешён.")
        raise VkIdError(f"VK ID отказал в привязке ({str(params.get('error'))[:50]}).")
    code = str(params.get("code") or "")
    if not code:
        raise VkIdError("VK ID не передал код авторизации. Попробуйте ещё раз.")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": attempt.code_verifier,
        "client_id": settings.VK_ID_CLIENT_ID,
        "redirect_uri": attempt.redirect_uri,
        "device_id": str(params.get("device_id") or ""),
        "state": state,
    }
    try:
        response = httpx.post(settings.VK_ID_TOKEN_URL, data=form, timeout=10.0)
        reply = response.json()
    except (httpx.HTTPError, ValueError):
        log.warning("VK ID: обмен кода не удался", exc_info=True)
        raise VkIdError("Сервис VK ID сейчас недоступен. Попробуйте позже.") from None
    if response.status_code != 200 or not isinstance(reply, dict) or "error" in reply:
        log.warning("VK ID: отказ обмена кода: %s %s", response.status_code, str(reply)[:200])
        raise VkIdError("VK ID не подтвердил привязку. Нажмите «Привязать» ещё раз.")
    user_id = reply.get("user_id")
    if isinstance(user_id, str) and user_id.isdigit():
        user_id = int(user_id)
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
        raise VkIdError("VK ID вернул непонятный ответ. Попробуйте позже.")
    return user_id
