"""Production settings (issue 10, point 3): `check --deploy` clean, HSTS, secure cookies, a
Content-Security-Policy of our own files only, expiring sessions, Django's default hasher."""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DEBUG": "false",
    "SECRET_KEY": "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(50)),
    "ALLOWED_HOSTS": "epos.example.ru",
    "DATABASE_URL": "sqlite:///:memory:",
}


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_"))}
    environ.pop("DEBUG", None)
    environ |= PRODUCTION | env
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_without_a_single_warning():
    result = _run("manage.py", "check", "--deploy", "--fail-level", "DEBUG")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output and "?: (security" not in output, output
    assert "System check identified no issues" in output, output


PRINT = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in (
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_AGE", "SESSION_EXPIRE_AT_BROWSER_CLOSE", "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY", "PASSWORD_HASHERS", "MIDDLEWARE", "X_FRAME_OPTIONS")}))
"""


def _production_settings(**env: str) -> dict:
    result = _run("-c", PRINT, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_mode_is_https_only_with_expiring_sessions():
    s = _production_settings()
    assert s["SECURE_HSTS_SECONDS"] == 31536000 and s["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert s["SECURE_SSL_REDIRECT"]
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"] and s["SESSION_COOKIE_HTTPONLY"]
    assert s["SESSION_COOKIE_AGE"] == 12 * 60 * 60 and s["SESSION_EXPIRE_AT_BROWSER_CLOSE"]
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] and s["SECURE_REFERRER_POLICY"] == "same-origin"
    assert s["X_FRAME_OPTIONS"] == "DENY"
    assert "config.security.content_security_policy" in s["MIDDLEWARE"]


def test_passwords_are_hashed_with_djangos_default():
    from django.conf import global_settings

    assert _production_settings()["PASSWORD_HASHERS"] == global_settings.PASSWORD_HASHERS
    assert global_settings.PASSWORD_HASHERS[0].endswith("PBKDF2PasswordHasher")


def test_development_mode_keeps_plain_http():
    s = _production_settings(DEBUG="true")
    assert not s["SECURE_SSL_REDIRECT"] and not s["SESSION_COOKIE_SECURE"]
    assert s["SECURE_HSTS_SECONDS"] == 0


def test_the_redirect_can_be_left_to_the_proxy():
    assert not _production_settings(SECURE_SSL_REDIRECT="false")["SECURE_SSL_REDIRECT"]


# --- the Content-Security-Policy, on real responses -----------------------------------------


@pytest.mark.parametrize("url_name", ["login", "desktop"])
def test_every_page_carries_the_content_security_policy(client, db, url_name, settings):
    from tests import factories

    client.force_login(factories.StaffMemberFactory(is_admin=True).person)
    response = client.get(reverse(url_name))
    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # htmx is served from our static files
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"].split()[0] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_policy_lets_forms_go_to_vk_id_only(settings):
    from config.security import policy

    settings.VK_ID_AUTHORIZE_URL = "https://id.vk.com/authorize"
    form_action = dict(p.strip().split(" ", 1) for p in policy().split(";"))["form-action"]
    assert form_action == "'self' https://id.vk.com"


TEMPLATES = [*BASE_DIR.glob("templates/**/*.html"), *BASE_DIR.glob("*/templates/**/*.html")]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(BASE_DIR)))
def test_no_template_has_inline_script_style_or_handlers(path):
    """What the policy would block: inline <script>, style= and on*=/hx-on attributes."""
    import re

    text = path.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert not re.search(r"<style\b", text), "inline <style>"
    assert not re.search(r"\sstyle=", text), "style= attribute"
    assert not re.search(r"\s(on[a-z]+|hx-on[:\w-]*)=", text), "event handler attribute"
    assert "javascript:" not in text


def test_sessions_expire(client, db, settings):
    from tests import factories

    person = factories.StaffMemberFactory(is_admin=True).person
    response = client.post(reverse("login"), {"username": person.login, "password": "pass-1234"})
    assert response.status_code == 302
    assert client.session.get_expire_at_browser_close()
    assert client.session.get_expiry_age() <= 12 * 60 * 60
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and not cookie["max-age"]  # a browser-session cookie
