"""The settings helpers accept good values and stop the start on a malformed one, naming the
variable; the settings module itself refuses to run in production without SECRET_KEY."""

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_choice,
    env_database,
    env_date,
    env_fraction,
    env_int,
    env_list,
    env_str,
    env_time_zone,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent


def rejected(helper, name: str, value: str, *args, **kwargs) -> str:
    """The message a helper raises for `name=value`; it must name the variable."""
    with pytest.raises(ImproperlyConfigured) as error:
        helper(name, *args, environ={name: value}, **kwargs)
    message = str(error.value)
    assert f"Переменная окружения {name}=" in message
    return message


# --- strings and booleans


def test_a_string_falls_back_to_its_default_when_unset_or_empty():
    assert env_str("X", "default", environ={}) == "default"
    assert env_str("X", "default", environ={"X": ""}) == "default"
    assert env_str("X", "default", environ={"X": "  value  "}) == "value"


@pytest.mark.parametrize("value", ["true", "True", "1", "yes", "on", " TRUE "])
def test_a_boolean_accepts_the_usual_spellings_of_true(value):
    assert env_bool("DEBUG", False, environ={"DEBUG": value}) is True


@pytest.mark.parametrize("value", ["false", "False", "0", "no", "off"])
def test_a_boolean_accepts_the_usual_spellings_of_false(value):
    assert env_bool("DEBUG", True, environ={"DEBUG": value}) is False


def test_an_unset_or_empty_boolean_keeps_its_default():
    assert env_bool("SECURE_COOKIES", True, environ={}) is True
    assert env_bool("SECURE_COOKIES", True, environ={"SECURE_COOKIES": ""}) is True


@pytest.mark.parametrize("value", ["maybe", "да", "2", "t"])
def test_a_boolean_rejects_anything_else(value):
    message = rejected(env_bool, "DEBUG", value, False)
    assert "true или false" in message


# --- numbers


def test_an_integer_is_read_and_defaults_when_unset():
    assert env_int("VK_API_RATE_LIMIT", 20, environ={"VK_API_RATE_LIMIT": " 35 "}) == 35
    assert env_int("VK_API_RATE_LIMIT", 20, environ={}) == 20
    assert env_int("VK_API_RATE_LIMIT", 20, environ={"VK_API_RATE_LIMIT": ""}) == 20


@pytest.mark.parametrize("value", ["twenty", "2.5", "20/s"])
def test_an_integer_rejects_what_is_not_a_whole_number(value):
    assert "целое число" in rejected(env_int, "VK_API_RATE_LIMIT", value, 20)


def test_an_integer_below_its_minimum_is_rejected():
    assert env_int("VK_API_RATE_LIMIT", 20, min_value=1, environ={"VK_API_RATE_LIMIT": "1"}) == 1
    message = rejected(env_int, "VK_API_RATE_LIMIT", "0", 20, min_value=1)
    assert "не меньше 1" in message


@pytest.mark.parametrize(("value", "expected"), [("0.2", 0.2), ("0", 0.0), ("1", 1.0), ("", 0.2)])
def test_a_fraction_between_0_and_1_is_read(value, expected):
    assert env_fraction(
        "MASS_REMOVAL_THRESHOLD", 0.2, environ={"MASS_REMOVAL_THRESHOLD": value}
    ) == (expected)


@pytest.mark.parametrize("value", ["1.5", "-0.1", "20%", "двадцать", "nan", "inf"])
def test_a_fraction_outside_0_to_1_or_malformed_is_rejected(value):
    assert "доля от 0 до 1" in rejected(env_fraction, "MASS_REMOVAL_THRESHOLD", value, 0.2)


# --- lists, dates, choices, time zones


def test_a_list_is_split_on_commas_with_blanks_dropped():
    hosts = env_list("ALLOWED_HOSTS", [], environ={"ALLOWED_HOSTS": " epos.example, ,localhost,"})
    assert hosts == ["epos.example", "localhost"]


def test_an_unset_list_gives_a_copy_of_its_default():
    default = ["localhost"]
    hosts = env_list("ALLOWED_HOSTS", default, environ={})
    assert hosts == default
    assert hosts is not default


def test_a_date_is_read_in_iso_form_and_empty_means_none():
    assert env_date(
        "EPOS_CHATS_HIDDEN_FROM", None, environ={"EPOS_CHATS_HIDDEN_FROM": "2024-10-01"}
    ) == (dt.date(2024, 10, 1))
    assert env_date("EPOS_CHATS_HIDDEN_FROM", None, environ={"EPOS_CHATS_HIDDEN_FROM": ""}) is None


@pytest.mark.parametrize("value", ["01.10.2024", "2024-13-01", "завтра"])
def test_a_date_in_another_form_is_rejected(value):
    assert "ГГГГ-ММ-ДД" in rejected(env_date, "EPOS_CHATS_HIDDEN_FROM", value)


def test_a_choice_accepts_one_of_its_values():
    modes = ("nightly", "immediate")
    assert env_choice("VK_SYNC_MODE", "nightly", modes, environ={"VK_SYNC_MODE": "immediate"}) == (
        "immediate"
    )
    assert env_choice("VK_SYNC_MODE", "nightly", modes, environ={}) == "nightly"


def test_a_choice_rejects_other_values_and_lists_the_allowed_ones():
    message = rejected(env_choice, "VK_SYNC_MODE", "hourly", "nightly", ("nightly", "immediate"))
    assert "nightly, immediate" in message


def test_a_time_zone_is_an_iana_name():
    assert env_time_zone(
        "TIME_ZONE", "Europe/Moscow", environ={"TIME_ZONE": "Asia/Yekaterinburg"}
    ) == ("Asia/Yekaterinburg")
    assert env_time_zone("TIME_ZONE", "Europe/Moscow", environ={}) == "Europe/Moscow"


@pytest.mark.parametrize("value", ["Moscow", "MSK+3", "Mars/Olympus", "/etc/passwd", "Europe"])
def test_an_unknown_time_zone_is_rejected(value):
    assert "часовой пояс IANA" in rejected(env_time_zone, "TIME_ZONE", value, "Europe/Moscow")


# --- URLs


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://api.vk.com/", "https://api.vk.com"),
        ("http://127.0.0.1:8081", "http://127.0.0.1:8081"),
        ("redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/15"),
        ("rediss://:secret@redis.example:6380/0", "rediss://:secret@redis.example:6380/0"),
    ],
)
def test_a_url_is_accepted_and_loses_its_trailing_slash(value, expected):
    assert env_url("VK_API_BASE_URL", "", environ={"VK_API_BASE_URL": value}) == expected


def test_an_unset_url_may_stay_empty():
    assert env_url("REDIS_URL", "", environ={}) == ""


@pytest.mark.parametrize(
    "value", ["api.vk.com", "ftp://files.example", "https://", "http://:80", "localhost:8081"]
)
def test_a_url_without_a_known_scheme_or_host_is_rejected(value):
    assert "https://host[:port]/path" in rejected(env_url, "VK_API_BASE_URL", value)


@pytest.mark.parametrize("value", ["http://127.0.0.1:80a", "http://127.0.0.1:99999"])
def test_a_url_with_a_malformed_port_is_rejected(value):
    assert "порт" in rejected(env_url, "VK_API_BASE_URL", value)


def test_a_rejected_url_does_not_print_its_password():
    message = rejected(env_url, "REDIS_URL", "redis://user:hunter2@redis:63a9/0")
    assert "hunter2" not in message
    assert "user:***@redis" in message


# --- database URLs


def database(value: str) -> dict:
    return env_database("DATABASE_URL", "", base_dir=BASE_DIR, environ={"DATABASE_URL": value})


def test_a_relative_sqlite_url_is_inside_the_project():
    config = database("sqlite:///var/db.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(BASE_DIR / "var" / "db.sqlite3")


def test_an_absolute_sqlite_url_has_four_slashes():
    assert database("sqlite:////srv/epos/db.sqlite3")["NAME"] == "/srv/epos/db.sqlite3"


def test_an_in_memory_sqlite_database_is_allowed():
    assert database("sqlite:///:memory:")["NAME"] == ":memory:"


def test_the_default_database_is_the_projects_sqlite_file():
    config = env_database("DATABASE_URL", "sqlite:///var/db.sqlite3", base_dir=BASE_DIR, environ={})
    assert config["NAME"] == str(BASE_DIR / "var" / "db.sqlite3")


@pytest.mark.parametrize("value", ["sqlite://", "sqlite:///", "sqlite://var/db.sqlite3"])
def test_a_sqlite_url_without_a_path_or_with_two_slashes_is_rejected(value):
    assert "sqlite:///" in rejected(env_database, "DATABASE_URL", value, "", base_dir=BASE_DIR)


def test_a_postgres_url_gives_user_password_host_port_name_and_options():
    config = database("postgres://epos:p%40ss%2Fword@db.example:6432/epos_prod?sslmode=require")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["USER"], config["PASSWORD"]) == ("epos", "p@ss/word")
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.example", "6432", "epos_prod")
    assert config["OPTIONS"] == {"sslmode": "require", "options": "-c jit=off"}
    assert config["CONN_HEALTH_CHECKS"] is True


# ids spelled out: tests/conftest.py skips any test with a «postgres» keyword on SQLite.
@pytest.mark.parametrize(
    "scheme", ["postgres", "postgresql", "pgsql"], ids=["scheme-pg", "scheme-pgql", "scheme-pgsql"]
)
def test_a_postgres_url_may_omit_password_and_port(scheme):
    config = database(f"{scheme}://postgres@127.0.0.1/epos")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["USER"], config["PASSWORD"], config["PORT"]) == ("postgres", "", "")


@pytest.mark.parametrize("value", ["mysql://root@db/epos", "epos.sqlite3", "postgre://db/epos"])
def test_a_database_url_of_an_unknown_scheme_is_rejected(value):
    message = rejected(env_database, "DATABASE_URL", value, "", base_dir=BASE_DIR)
    assert "sqlite:///… или postgres://…" in message


@pytest.mark.parametrize("port", ["54x2", "70000"])
def test_a_postgres_url_with_a_malformed_port_is_rejected(port):
    message = rejected(
        env_database, "DATABASE_URL", f"postgres://u:secret@db:{port}/epos", "", base_dir=BASE_DIR
    )
    assert "порт PostgreSQL" in message
    assert "secret" not in message


@pytest.mark.parametrize("value", ["postgres://u:secret@db:5432", "postgres://u:secret@db:5432/"])
def test_a_postgres_url_without_a_database_name_is_rejected(value):
    message = rejected(env_database, "DATABASE_URL", value, "", base_dir=BASE_DIR)
    assert "имя_базы" in message
    assert "secret" not in message


# --- the settings module, imported as production would


def import_settings(**env: str) -> subprocess.CompletedProcess:
    """Import config.settings in a fresh interpreter with only `env` (and PATH) set."""
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONIOENCODING": "utf-8",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **env,
    }
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print('DEBUG', settings.DEBUG)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def test_production_settings_refuse_to_start_without_secret_key():
    result = import_settings(DATABASE_URL="postgres://epos@db.example:5432/epos")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_the_embedded_setup_makes_and_keeps_its_own_secret_key():
    code = (
        "import django, hashlib; django.setup(); from django.conf import settings; "
        "print(hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest())"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        for _ in range(2)
    ]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr
    assert runs[0].stdout == runs[1].stdout  # one key, kept: sessions survive a restart


def test_debug_settings_start_without_secret_key():
    result = import_settings(DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert "DEBUG True" in result.stdout


def test_production_settings_start_with_secret_key():
    result = import_settings(SECRET_KEY="a-long-random-production-key")
    assert result.returncode == 0, result.stderr
    assert "DEBUG False" in result.stdout


def test_a_malformed_variable_stops_the_start_and_is_named():
    result = import_settings(DEBUG="true", VK_SYNC_MODE="hourly")
    assert result.returncode != 0
    assert "Переменная окружения VK_SYNC_MODE='hourly'" in result.stderr


# --- the README


def test_the_readme_documents_every_environment_variable_of_settings():
    settings_source = (BASE_DIR / "config" / "settings.py").read_text(encoding="utf-8")
    variables = set(re.findall(r"env_\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", settings_source))
    readme = (BASE_DIR / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)`", readme, flags=re.MULTILINE))
    assert variables, "no env_*() call found in config/settings.py"
    assert variables - documented == set(), "add them to the README's configuration table"


def test_the_server_database_runs_without_jit_unless_the_url_asks_for_it():
    assert database("postgres://h/db")["OPTIONS"]["options"] == "-c jit=off"
    assert database("postgres://h/db?options=-c%20jit%3Don")["OPTIONS"]["options"] == "-c jit=on"
