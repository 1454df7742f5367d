"""Open-data formats of the release: CSV and JSON, streamed one record per line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from casework.compliance.release import Pattern
from casework.compliance.schema import PUBLIC_COLUMNS


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def csv_line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def csv_chunks(patterns: Iterable[Pattern]) -> Iterator[str]:
    """The header then one CSV line per record (a pattern's line, formatted once, `count` times)."""
    yield csv_line(list(PUBLIC_COLUMNS))
    for row, count in patterns:
        yield csv_line([csv_cell(row[c]) for c in PUBLIC_COLUMNS]) * count


def json_chunks(patterns: Iterable[Pattern]) -> Iterator[str]:
    """A JSON array, one record per line, written as it is read."""
    yield "["
    first = True
    for row, count in patterns:
        line = json.dumps(row, ensure_ascii=False)
        yield ("\n" if first else ",\n") + ",\n".join([line] * count)
        first = False
    yield "\n]\n"
