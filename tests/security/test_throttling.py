"""Sign-in throttling (issue 10, point 3): per login and per address, with a clear message."""

from __future__ import annotations

import itertools

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from directory import throttle
from tests import factories

_addresses = itertools.count(1)


@pytest.fixture(autouse=True)
def production_limits(settings):
    settings.SIGN_IN_MAX_FAILURES = 5
    settings.SIGN_IN_WINDOW_SECONDS = 15 * 60


@pytest.fixture
def address():
    """An address of this test alone: the counters are shared by the whole suite's cache."""
    return f"198.51.100.{next(_addresses) % 250 + 1}"


@pytest.fixture
def person(db):
    person = factories.StaffMemberFactory().person
    yield person
    throttle.clear(person.login, "")


def sign_in(client, login, password, address):
    return client.post(
        reverse("login"), {"username": login, "password": password}, REMOTE_ADDR=address
    )


def errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def test_five_wrong_passwords_lock_the_account_with_a_clear_message(client, person, address):
    for _ in range(5):
        assert "Неверный логин" in errors(sign_in(client, person.login, "wrong", address))[0]
    # Even the right password is refused now, and the person is told how long to wait.
    response = sign_in(client, person.login, "pass-1234", f"{address}0")
    assert response.status_code == 200
    assert errors(response) == ["Слишком много попыток входа. Попробуйте через 15 минут."]
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_address_too(client, db, address):
    people = [factories.StaffMemberFactory().person for _ in range(5)]
    for someone in people:  # one wrong password each: a spray across accounts
        sign_in(client, someone.login, "wrong", address)
    fresh = factories.StaffMemberFactory().person
    response = sign_in(client, fresh.login, "pass-1234", address)
    assert errors(response)[0].startswith("Слишком много попыток входа")
    # From another address the same person comes in.
    assert sign_in(client, fresh.login, "pass-1234", "203.0.113.9").status_code == 302
    for key in {throttle._key("address", address)}:
        cache.delete(key)


def test_the_lock_lifts_when_the_window_passes(client, person, address):
    with time_machine.travel(0, tick=False) as clock:
        clock.move_to("2026-03-10 10:00:00+03:00")
        for _ in range(5):
            sign_in(client, person.login, "wrong", address)
        clock.shift(14 * 60)
        response = sign_in(client, person.login, "pass-1234", address)
        assert errors(response) == ["Слишком много попыток входа. Попробуйте через 1 минуту."]
        clock.shift(61)
        assert sign_in(client, person.login, "pass-1234", address).status_code == 302


def test_a_success_forgets_the_accounts_failures(client, person, address):
    for _ in range(4):
        sign_in(client, person.login, "wrong", address)
    assert sign_in(client, person.login, "pass-1234", f"{address}1").status_code == 302
    client.logout()
    for _ in range(4):
        sign_in(client, person.login, "wrong", f"{address}2")
    assert sign_in(client, person.login, "pass-1234", f"{address}3").status_code == 302


def test_a_cache_outage_does_not_lock_anyone_out(client, person, address, monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionError("redis down")

    for name in ("get", "get_many", "set", "delete"):
        monkeypatch.setattr(throttle.cache, name, down)
    assert sign_in(client, person.login, "wrong", address).status_code == 200
    assert sign_in(client, person.login, "pass-1234", address).status_code == 302
    assert "кэш недоступен" in caplog.text


@pytest.mark.parametrize(
    ("minutes", "word"), [(1, "минуту"), (2, "минуты"), (5, "минут"), (11, "минут"), (21, "минуту")]
)
def test_the_message_speaks_russian(minutes, word):
    assert throttle.message(minutes * 60) == (
        f"Слишком много попыток входа. Попробуйте через {minutes} {word}."
    )
