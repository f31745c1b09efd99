"""The emulator's HTTP server: the VK API methods under `/method/`, `execute`, the VK ID pages
and the `/emulator/*` controls, on the standard library's ThreadingHTTPServer.

Faults (rate limit, failures, latency) apply to `/method/*` only, never to `/emulator/*`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from vk_sync.emulator.faults import FaultInjector, FaultSettings, FaultSettingsError
from vk_sync.emulator.state import ApiError, MessengerState, invalid, parse_execute_calls
from vk_sync.emulator.vkid import OAuthError, VkIdProvider, authorize_page, error_page

log = logging.getLogger("vk_sync.emulator")

MAX_BODY = 2 * 1024 * 1024
IDLE_CONNECTION_TIMEOUT_S = 30
TOO_MANY = ApiError(6, "Too many requests per second")
_VERSION = re.compile(r"[0-9]+\.[0-9]+")
_ERROR_PAGE = (
    "<!doctype html><html><head><title>{status}</title></head>"
    "<body><h1>{status}</h1><p>VK API emulator</p></body></html>"
)


class EmulatorApp:
    """Everything the server holds: the messenger state, the faults, VK ID, the access token."""

    def __init__(
        self,
        *,
        state_file: str | Path | None = None,
        faults: FaultSettings | None = None,
        token: str | None = None,
        client_id: str | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        """`clock` dates VK ID codes, `monotonic` drives the rate limit (tests inject both)."""
        self.state = MessengerState(state_file)
        self.faults = FaultInjector(faults, monotonic=monotonic)
        self.vkid = VkIdProvider(client_id=client_id, clock=clock)
        self.token = token
        self.stopping = threading.Event()

    def reset(self) -> None:
        self.state.reset()
        self.faults.clear()
        self.vkid.reset()

    def api_reply(self, name: str, params: Mapping[str, str], authorization: str) -> dict:
        """The JSON reply to `/method/<name>`: `{"response": …}` or `{"error": …}`."""
        try:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(5, "User authorization failed: no access_token passed.")
            if self.token is not None and token.strip() != self.token:
                raise ApiError(5, "User authorization failed: invalid access_token.")
            if not params.get("v"):
                raise invalid("v is required")
            if not _VERSION.fullmatch(params["v"]):
                raise invalid("v must look like 5.199")
            if name == "execute":
                return self.state.execute(parse_execute_calls(params.get("calls")))
            if not self.state.is_method(name):
                raise ApiError(3, "Unknown method passed")
            return {"response": self.state.call(name, params)}
        except ApiError as error:
            return error_reply(error, name, params)


def error_reply(error: ApiError, name: str, params: Mapping[str, str]) -> dict:
    request_params = [{"key": "method", "value": name}]
    request_params += [{"key": key, "value": value} for key, value in params.items()]
    return {
        "error": {
            "error_code": error.code,
            "error_msg": error.message,
            "request_params": request_params,
        }
    }


def without_fields(reply: dict) -> dict:
    """The reply with a field gone, as a broken server might send it: an error without its
    code, an object response without its keys, a list response without its last item."""
    if "error" in reply:
        return {"error": {k: v for k, v in reply["error"].items() if k != "error_code"}}
    value = reply["response"]
    if isinstance(value, dict):
        return reply | {"response": {}}
    if isinstance(value, list) and value:
        return reply | {"response": value[:-1]}
    return {}


class _BadRequest(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "VkEmulator/1.0"
    timeout = IDLE_CONNECTION_TIMEOUT_S
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stall
    server: EmulatorServer

    # --- plumbing ------------------------------------------------------------------------

    def log_message(self, format, *args):  # http.server's own stderr lines: not wanted
        log.debug("%s " + format, self.client_address[0], *args)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PATCH(self):
        self._dispatch("PATCH")

    @property
    def app(self) -> EmulatorApp:
        return self.server.app

    def _dispatch(self, verb: str) -> None:
        started = time.monotonic()
        path, _, query = self.path.partition("?")
        self._status: int | str = "-"
        self._note = ""
        try:
            self._route(verb, path, query)
        except (ConnectionError, TimeoutError):
            self._status, self.close_connection = "gone", True
        except Exception:
            log.exception("%s %s: сбой эмулятора", verb, path)
            self.close_connection = True
            if self._status == "-":
                if path.startswith("/method/"):
                    error = ApiError(10, "Internal server error")
                    self._json(200, error_reply(error, path.removeprefix("/method/"), {}))
                else:
                    self._json(500, {"error": "internal error"})
        finally:
            elapsed = (time.monotonic() - started) * 1000
            log.info("%s %s %s %.1fms%s", verb, path, self._status, elapsed, self._note)

    def _route(self, verb: str, path: str, query: str) -> None:
        if path.startswith("/method/"):
            return self._need(verb, "POST") and self._api(path.removeprefix("/method/"), query)
        routes = {
            "/emulator/state": ("GET", lambda: self._json(200, self.app.state.snapshot())),
            "/emulator/reset": ("POST", self._reset),
            "/emulator/faults": ("GET, POST", self._faults),
            "/emulator/oauth": ("GET", lambda: self._json(200, self.app.vkid.counters())),
            "/emulator/stats": ("GET", lambda: self._json(200, self.app.faults.stats())),
            "/emulator/authorize": ("GET, POST", lambda: self._authorize(verb, query)),
            "/emulator/token": ("POST", self._token),
            "/": ("GET", self._index),
        }
        if path not in routes:
            self._drain()
            return self._json(404, {"error": "not found", "path": path})
        allowed, handler = routes[path]
        if self._need(verb, allowed):
            handler()

    def _need(self, verb: str, allowed: str) -> bool:
        if verb in allowed.split(", "):
            return True
        self._drain()
        self._json(405, {"error": f"method {verb} not allowed"}, {"Allow": allowed})
        return False

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise _BadRequest("chunked bodies are not supported")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise _BadRequest("bad Content-Length") from None
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            raise _BadRequest("body too large")
        return self.rfile.read(length) if length else b""

    def _drain(self) -> None:
        with contextlib.suppress(_BadRequest):
            self._body()

    def _form(self, body: bytes, query: str = "") -> dict[str, str]:
        """Form fields (query string first, the body over it); _BadRequest when malformed."""
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if body and content_type not in ("", "application/x-www-form-urlencoded"):
            raise _BadRequest(f"Content-Type {content_type} is not a form")
        try:
            fields = parse_qsl(query, keep_blank_values=True, errors="strict")
            fields += parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, errors="strict"
            )
        except ValueError as exc:  # UnicodeDecodeError included
            raise _BadRequest(f"malformed form: {exc}") from None
        return dict(fields)

    def _send(self, status: int, body: bytes, content_type: str, headers=None) -> None:
        self._status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any, headers=None) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", headers)

    def _html(self, status: int, page: str, headers=None) -> None:
        self._send(status, page.encode("utf-8"), "text/html; charset=utf-8", headers)

    def _pause(self, seconds: float) -> bool:
        """Sleep unless the server stops meanwhile; True when it is stopping."""
        return seconds > 0 and self.app.stopping.wait(seconds)

    # --- /method/<name> ------------------------------------------------------------------

    def _api(self, name: str, query: str) -> None:
        try:
            body = self._body()
        except _BadRequest as exc:
            body, broken = b"", str(exc)
        else:
            broken = ""
        faults = self.app.faults
        settings = faults.current
        admitted = faults.admit(name)
        fault = faults.draw() if admitted else None
        if self._pause(settings.latency_ms / 1000):
            return self._drop("stopping")
        if not admitted:
            self._note = " rate-limited"
            return self._json(200, error_reply(TOO_MANY, name, {}))
        if fault:
            self._note = f" fault={fault}"
        if fault == "http500":
            return self._html(500, _ERROR_PAGE.format(status="500 Internal Server Error"))
        if fault == "timeout":
            self.close_connection = True
            if self._pause(settings.timeout_s):
                return self._drop("stopping")
            return self._html(504, _ERROR_PAGE.format(status="504 Gateway Timeout"))
        if fault == "error6":
            return self._json(200, error_reply(TOO_MANY, name, {}))
        if fault == "html":
            return self._html(200, _ERROR_PAGE.format(status="Сервис временно недоступен"))
        reply = self._api_reply(name, query, body, broken)
        if fault == "lost_reply":
            return self._drop("lost reply")
        if fault == "truncated":
            whole = json.dumps(reply, ensure_ascii=False).encode("utf-8")
            return self._send(200, whole[: len(whole) // 2], "application/json; charset=utf-8")
        if fault == "missing_fields":
            reply = without_fields(reply)
        self._json(200, reply)

    def _api_reply(self, name: str, query: str, body: bytes, broken: str) -> dict:
        try:
            if broken:
                raise _BadRequest(broken)
            params = self._form(body, query)
        except _BadRequest as exc:
            params = {}
            error = invalid(str(exc))
        else:
            return self.app.api_reply(name, params, self.headers.get("Authorization", ""))
        return error_reply(error, name, params)

    def _drop(self, why: str) -> None:
        """No answer at all: the connection closes under the client."""
        self._status, self.close_connection = "dropped", True
        self._note += f" ({why})"
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # --- /emulator/* ---------------------------------------------------------------------

    def _reset(self) -> None:
        self._drain()
        self.app.reset()
        self._json(200, {"ok": True})

    def _faults(self) -> None:
        faults = self.app.faults
        if self.command == "GET":
            return self._json(200, faults.current.as_json())
        try:
            changes = json.loads(self._body().decode("utf-8") or "{}")
            settings = faults.update(changes)
        except (_BadRequest, ValueError) as exc:  # FaultSettingsError and bad JSON included
            detail = str(exc) if isinstance(exc, (FaultSettingsError, _BadRequest)) else "bad JSON"
            return self._json(400, {"error": detail})
        self._json(200, settings.as_json())

    def _authorize(self, verb: str, query: str) -> None:
        vkid = self.app.vkid
        action = self.path.partition("?")[0]
        try:
            fields = self._form(
                self._body() if verb == "POST" else b"", "" if verb == "POST" else query
            )
            request = vkid.parse_authorize(fields)
        except (_BadRequest, OAuthError) as exc:
            error = exc if isinstance(exc, OAuthError) else OAuthError("invalid_request", str(exc))
            return self._html(400, error_page(error))
        if verb == "GET":
            return self._html(200, authorize_page(request, action))
        decision = fields.get("decision")
        if decision == "deny":
            return self._redirect(vkid.deny(request))
        if decision != "allow":
            return self._html(400, authorize_page(request, action, error="Выберите действие."))
        vk_user_id = fields.get("vk_user_id", "")
        try:
            location = vkid.allow(request, vk_user_id)
        except OAuthError as exc:
            return self._html(400, authorize_page(request, action, vk_user_id, exc.description))
        self._redirect(location)

    def _redirect(self, location: str) -> None:
        self._send(302, b"", "text/plain; charset=utf-8", {"Location": location})

    def _token(self) -> None:
        try:
            reply = self.app.vkid.exchange(self._form(self._body()))
        except _BadRequest as exc:
            return self._json(400, OAuthError("invalid_request", str(exc)).as_json())
        except OAuthError as exc:
            self._note = f" {exc.error}"
            return self._json(400, exc.as_json())
        self._json(200, reply)

    def _index(self) -> None:
        lines = [
            "Эмулятор API VK Мессенджера и VK ID (docs/messenger-protocol.md).",
            "POST /method/<name>     методы API и execute",
            "GET  /emulator/state    что хранит мессенджер",
            "POST /emulator/reset    очистить состояние и сбои",
            "GET|POST /emulator/faults  сбои",
            "GET  /emulator/stats    счётчики запросов и сбоев",
            "GET  /emulator/authorize   вход через VK ID",
            "POST /emulator/token       обмен кода на токен",
        ]
        self._send(200, ("\n".join(lines) + "\n").encode(), "text/plain; charset=utf-8")


class EmulatorServer(ThreadingHTTPServer):
    """The server; `start()` serves in a background thread, `stop()` ends everything, even
    requests sleeping in a timeout fault and idle keep-alive connections."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, app: EmulatorApp, host: str = "127.0.0.1", port: int = 8081):
        self.app = app
        if ":" in host:
            self.address_family = socket.AF_INET6
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._serving = False
        super().__init__((host, port), Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would resolve the host name (socket.getfqdn): not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = host, port

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def start(self, poll_interval: float = 0.5) -> EmulatorServer:
        """Serve in a daemon thread; `stop()` waits up to `poll_interval` for the loop."""
        self._serving = True
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": poll_interval},
            name=f"vk-emulator:{self.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.app.stopping.set()
        if self._serving:
            self.shutdown()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def make_server(host: str = "127.0.0.1", port: int = 8081, **app_options) -> EmulatorServer:
    """A server with a fresh `EmulatorApp(**app_options)`; port 0 picks a free one."""
    return EmulatorServer(EmulatorApp(**app_options), host, port)
