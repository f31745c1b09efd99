"""CSV for Excel as a Russian director opens it.

UTF-8 with a BOM: without it Excel reads the file as cp1251 and the Cyrillic turns to noise.
`;` between fields: Excel with Russian regional settings uses the comma as the decimal
separator and expects `;` as the list separator, so a double-click opens the columns as
columns. Percentages are written with a decimal comma for the same reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

BOM = "\ufeff"
DELIMITER = ";"


def percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}".replace(".", ",")


def yes_no(value: bool) -> str:
    return "да" if value else "нет"


def render(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITER, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return BOM + buffer.getvalue()


def response(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]):
    """A download named `filename` (ASCII, so every browser keeps it as is)."""
    body = render(header, rows).encode("utf-8")
    result = HttpResponse(body, content_type="text/csv; charset=utf-8")
    result["Content-Disposition"] = f'attachment; filename="{filename}"'
    return result
