"""VK ID (OAuth 2.1 authorization code + PKCE S256): the sign-in page and the token endpoint.

Codes are single-use, expire in 10 minutes and are bound to the client, the redirect URI, the
PKCE challenge and the device. The clock is injectable, so tests can make a code expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode, urlsplit, urlunsplit

CODE_TTL_S = 600
TOKEN_TTL_S = 3600
DEFAULT_SCOPE = "vkid.personal_info"
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_VK_USER_ID = re.compile(r"[0-9]{1,18}")


class OAuthError(Exception):
    """An OAuth error: `error` is the code (`invalid_request`, `invalid_grant`)."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description

    def as_json(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def s256(verifier: str) -> str:
    """base64url(sha256(verifier)) without padding: the PKCE S256 challenge."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def hinted_vk_user_id(login_hint: str) -> int:
    """A stable nine-digit VK ID for a login hint, so a demo person gets the same one each time."""
    digest = hashlib.sha256(login_hint.encode("utf-8")).digest()
    return 100_000_000 + int.from_bytes(digest[:8], "big") % 900_000_000


def with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


@dataclass
class AuthorizeRequest:
    client_id: str
    redirect_uri: str
    state: str
    code_challenge: str
    scope: str
    login_hint: str

    def hidden_fields(self) -> dict[str, str]:
        return {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
            "scope": self.scope,
            "login_hint": self.login_hint,
        }


@dataclass
class _Code:
    request: AuthorizeRequest
    device_id: str
    vk_user_id: int
    expires_at: float


class VkIdProvider:
    def __init__(self, client_id: str | None = None, clock: Callable[[], float] = time.time):
        self.client_id = client_id
        self.clock = clock
        self.lock = threading.Lock()
        self.secret = secrets.token_bytes(32)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.codes: dict[str, _Code] = {}
            self.codes_issued = 0
            self.tokens_issued = 0
            self.denied = 0

    def counters(self) -> dict[str, int]:
        with self.lock:
            now = self.clock()
            return {
                "codes_issued": self.codes_issued,
                "codes_pending": sum(code.expires_at > now for code in self.codes.values()),
                "tokens_issued": self.tokens_issued,
                "denied": self.denied,
            }

    # --- authorize -----------------------------------------------------------------------

    def parse_authorize(self, params: Mapping[str, str]) -> AuthorizeRequest:
        """The authorize parameters, checked; OAuthError(invalid_request) names what is wrong."""
        if params.get("response_type") != "code":
            raise OAuthError("invalid_request", "response_type должен быть code")
        client_id = params.get("client_id", "")
        if not client_id or (self.client_id is not None and client_id != self.client_id):
            raise OAuthError("invalid_request", "неизвестный client_id")
        redirect_uri = params.get("redirect_uri", "")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            raise OAuthError("invalid_request", "redirect_uri должен быть адресом http(s)")
        if not params.get("state"):
            raise OAuthError("invalid_request", "нет параметра state")
        if params.get("code_challenge_method") != "S256":
            raise OAuthError("invalid_request", "code_challenge_method должен быть S256")
        challenge = params.get("code_challenge", "")
        if not _CHALLENGE.fullmatch(challenge):
            raise OAuthError("invalid_request", "code_challenge должен быть base64url от SHA-256")
        return AuthorizeRequest(
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=params["state"],
            code_challenge=challenge,
            scope=params.get("scope") or DEFAULT_SCOPE,
            login_hint=params.get("login_hint", ""),
        )

    def deny(self, request: AuthorizeRequest) -> str:
        with self.lock:
            self.denied += 1
        return with_query(request.redirect_uri, {"error": "access_denied", "state": request.state})

    def allow(self, request: AuthorizeRequest, vk_user_id: str) -> str:
        """The redirect carrying a fresh code; OAuthError when the VK ID is not a number."""
        vk_user_id = vk_user_id.strip()
        if not _VK_USER_ID.fullmatch(vk_user_id) or int(vk_user_id) <= 0:
            raise OAuthError("invalid_request", "VK ID — целое положительное число")
        code, device_id = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
        with self.lock:
            now = self.clock()
            self.codes = {key: c for key, c in self.codes.items() if c.expires_at > now}
            self.codes[code] = _Code(request, device_id, int(vk_user_id), now + CODE_TTL_S)
            self.codes_issued += 1
        return with_query(
            request.redirect_uri, {"code": code, "state": request.state, "device_id": device_id}
        )

    # --- token ---------------------------------------------------------------------------

    def exchange(self, form: Mapping[str, str]) -> dict:
        """The token response for an authorization code; OAuthError otherwise. A code found
        is spent by the attempt, whatever its outcome."""
        if form.get("grant_type") != "authorization_code":
            raise OAuthError("invalid_request", "grant_type должен быть authorization_code")
        for name in ("code", "code_verifier", "client_id", "redirect_uri", "device_id", "state"):
            if not form.get(name):
                raise OAuthError("invalid_request", f"нет параметра {name}")
        verifier = form["code_verifier"]
        if not _VERIFIER.fullmatch(verifier):
            raise OAuthError("invalid_request", "code_verifier: 43–128 символов [A-Za-z0-9-._~]")
        with self.lock:
            code = self.codes.pop(form["code"], None)
            if code is None:
                raise OAuthError("invalid_grant", "код неизвестен или уже использован")
            if code.expires_at <= self.clock():
                raise OAuthError("invalid_grant", "срок действия кода истёк")
            request = code.request
            if form["client_id"] != request.client_id:
                raise OAuthError("invalid_grant", "код выдан другому client_id")
            if form["redirect_uri"] != request.redirect_uri:
                raise OAuthError("invalid_grant", "redirect_uri не совпадает с запросом кода")
            if form["device_id"] != code.device_id:
                raise OAuthError("invalid_grant", "device_id не совпадает")
            if not hmac.compare_digest(s256(verifier), request.code_challenge):
                raise OAuthError("invalid_grant", "code_verifier не соответствует code_challenge")
            self.tokens_issued += 1
            now = self.clock()
        return {
            "access_token": secrets.token_urlsafe(48),
            "refresh_token": secrets.token_urlsafe(48),
            "id_token": self._id_token(code, now),
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_S,
            "user_id": code.vk_user_id,
            "state": form["state"],
            "scope": request.scope,
        }

    def _id_token(self, code: _Code, now: float) -> str:
        def part(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

        header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {
            "iss": "vk-emulator",
            "sub": str(code.vk_user_id),
            "aud": code.request.client_id,
            "iat": int(now),
            "exp": int(now) + TOKEN_TTL_S,
        }
        payload = part(json.dumps(claims).encode())
        signature = hmac.new(self.secret, f"{header}.{payload}".encode(), hashlib.sha256)
        return f"{header}.{payload}.{part(signature.digest())}"


# --- the page ----------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="ru">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Вход через VK ID</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #edeef0; margin: 0; }}
main {{ max-width: 26rem; margin: 4rem auto; background: #fff; border-radius: 12px;
  padding: 1.5rem 2rem; box-shadow: 0 1px 4px rgba(0,0,0,.12); }}
h1 {{ font-size: 1.35rem; margin-top: 0; }}
label {{ display: block; margin: 1rem 0 .3rem; font-weight: 600; }}
input[type=text] {{ width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }}
.hint {{ color: #626d7a; font-size: .9rem; }}
.error {{ color: #b3261e; }}
.buttons {{ display: flex; gap: .75rem; margin-top: 1.25rem; }}
button {{ padding: .55rem 1.2rem; font-size: 1rem; border-radius: 8px; border: 0;
  cursor: pointer; }}
button[value=allow] {{ background: #0077ff; color: #fff; }}
button[value=deny] {{ background: #e5ebf1; color: #2c2d2e; }}
</style>
</head>
<body>
<main>
<h1>Вход через VK ID</h1>
<p class="hint">Эмулятор VK ID. Приложение <b>{client_id}</b> просит доступ к вашему
учебному профилю VK ID.</p>
{error}<form method="post" action="{action}">
{hidden}<label for="vk_user_id">VK ID пользователя</label>
<input type="text" id="vk_user_id" name="vk_user_id" value="{vk_user_id}" required
  inputmode="numeric" pattern="[0-9]+" autocomplete="off" autofocus>
<p class="hint">Число: под ним человек появится в чатах мессенджера.</p>
<div class="buttons">
<button type="submit" name="decision" value="allow">Разрешить</button>
<button type="submit" name="decision" value="deny" formnovalidate>Отказать</button>
</div>
</form>
</main>
</body>
</html>
"""

_ERROR_PAGE = """<!doctype html>
<html lang="ru">
<head><meta charset="utf-8"><title>Вход через VK ID — ошибка</title></head>
<body>
<main>
<h1>Вход через VK ID</h1>
<p>Запрос на вход неверен: {description}.</p>
<p><code>{error}</code></p>
</main>
</body>
</html>
"""


def authorize_page(
    request: AuthorizeRequest, action: str, vk_user_id: str | None = None, error: str = ""
) -> str:
    if vk_user_id is None:
        vk_user_id = str(hinted_vk_user_id(request.login_hint)) if request.login_hint else ""
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">\n'
        for name, value in request.hidden_fields().items()
    )
    return _PAGE.format(
        client_id=escape(request.client_id),
        action=escape(action),
        hidden=hidden,
        vk_user_id=escape(vk_user_id),
        error=f'<p class="error">{escape(error)}</p>\n' if error else "",
    )


def error_page(error: OAuthError) -> str:
    return _ERROR_PAGE.format(description=escape(error.description), error=escape(error.error))
