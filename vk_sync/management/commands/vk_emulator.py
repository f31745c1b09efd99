"""`manage.py vk_emulator`: the VK API + VK ID emulator as a real HTTP server (DESIGN point 6)."""

import json
import logging
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from vk_sync.emulator import (
    ALL_KINDS,
    FAULT_KINDS,
    FaultSettings,
    FaultSettingsError,
    StateFileError,
    make_server,
)
from vk_sync.emulator.faults import DEFAULT_TIMEOUT_S


class Command(BaseCommand):
    help = (
        "Запускает эмулятор API VK Мессенджера и VK ID (docs/messenger-protocol.md) "
        "со сбоями по заказу. Останавливается по Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="адрес (в контейнере 0.0.0.0)")
        parser.add_argument("--port", type=int, default=8081, help="порт; 0 — любой свободный")
        parser.add_argument(
            "--fail-rate", type=float, default=0.0, help="доля запросов со сбоем, 0–1"
        )
        parser.add_argument(
            "--fault-kinds",
            default=",".join(FAULT_KINDS),
            help=f"виды сбоев через запятую из {','.join(ALL_KINDS)}",
        )
        parser.add_argument(
            "--rate-limit", type=int, default=0, help="запросов в секунду, сверх — ошибка 6"
        )
        parser.add_argument("--latency-ms", type=int, default=0, help="задержка каждого ответа")
        parser.add_argument(
            "--timeout-s",
            type=float,
            default=DEFAULT_TIMEOUT_S,
            help="сколько молчит запрос со сбоем timeout",
        )
        parser.add_argument("--seed", type=int, default=0, help="зерно случайных сбоев")
        parser.add_argument("--state-file", help="JSON-файл состояния: читается и пишется")
        parser.add_argument("--token", help="принимать только этот токен API")
        parser.add_argument("--client-id", help="принимать только этот client_id VK ID")

    def handle(self, *args, **options):
        try:
            faults = FaultSettings().updated(
                {
                    "fail_rate": options["fail_rate"],
                    "kinds": options["fault_kinds"],
                    "rate_limit": options["rate_limit"] or None,
                    "latency_ms": options["latency_ms"],
                    "timeout_s": options["timeout_s"],
                    "seed": options["seed"],
                }
            )
        except FaultSettingsError as exc:
            raise CommandError(f"Неверные параметры сбоев: {exc}") from None
        try:
            server = make_server(
                options["host"],
                options["port"],
                state_file=options["state_file"],
                faults=faults,
                token=options["token"],
                client_id=options["client_id"],
            )
        except StateFileError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(
                f"Не удалось занять {options['host']}:{options['port']}: {exc}"
            ) from None

        emulator_log = logging.getLogger("vk_sync.emulator")
        if emulator_log.getEffectiveLevel() > logging.INFO:
            emulator_log.setLevel(logging.INFO)

        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        server.start()
        url = server.url
        self.stdout.write(f"Эмулятор VK API: {url}")
        self.stdout.write(f"VK ID: {url}/emulator/authorize, {url}/emulator/token")
        self.stdout.write(f"Состояние: {url}/emulator/state; сбои: {json.dumps(faults.as_json())}")
        self.stdout.write("Остановка — Ctrl-C.")
        self.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.stop()
        self.stdout.write("Эмулятор остановлен.")
        self.stdout.flush()
