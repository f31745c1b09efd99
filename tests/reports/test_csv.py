"""CSV exports: UTF-8 with a BOM and `;`, so Russian Excel opens the Cyrillic as columns."""

import csv
import io

import pytest
from django.urls import reverse


def rows_of(response):
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


@pytest.mark.parametrize("table", ["shares", "groups", "uncurated", "chats", "weeks", "sync"])
def test_every_college_table_exports(college, as_person, table):
    response = as_person(college.admin).get(
        reverse("reports:college_csv", args=[college.org.pk, table])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert len(rows_of(response)) >= 2


def test_cyrillic_round_trips_through_the_csv_module(college, as_person):
    response = as_person(college.admin).get(
        reverse("reports:college_csv", args=[college.org.pk, "groups"])
    )
    header, first, second = rows_of(response)
    assert header[0] == "Группа"
    assert first[:2] == ["ИС-11", "1"]
    assert first[2:6] == ["2", "1", "50,0", "1"]
    assert second[0] == "ИС-21"


def test_chats_table_keeps_quotes_and_guillemets(college, as_person):
    response = as_person(college.admin).get(
        reverse("reports:college_csv", args=[college.org.pk, "chats"])
    )
    titles = [row[0] for row in rows_of(response)[1:]]
    assert "Кружок «Робототехника»" in titles


@pytest.mark.parametrize("table", ["colleges", "shares", "weeks"])
def test_every_region_table_exports(college, region_admin, as_person, table):
    response = as_person(region_admin).get(reverse("reports:region_csv", args=[table]))
    assert response.status_code == 200
    assert len(rows_of(response)) >= 2


def test_unknown_table_is_404(college, as_person):
    response = as_person(college.admin).get(
        reverse("reports:college_csv", args=[college.org.pk, "nope"])
    )
    assert response.status_code == 404
