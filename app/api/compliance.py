"""Public open-data API: `/api/v1/compliance/records` (JSON or CSV) and `/summary`.

No token: everything here comes from the k-anonymous release (`casework/compliance/release.py`),
read through `app/transparency/release.py`.
`OPENAPI_PATHS` is this module's part of `/api/v1/openapi.json`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request, stream_with_context

from app.api.openapi import add_paths
from app.transparency.release import ReleaseNotReady, published_patterns, published_summary
from casework.compliance.filters import Filters, InvalidFilter, parse_filters
from casework.compliance.opendata import csv_chunks
from casework.compliance.release import Pattern
from casework.compliance.schema import PUBLIC_COLUMNS

URL_PREFIX = "/api/v1/compliance"
bp = Blueprint("compliance_api", __name__, url_prefix=URL_PREFIX)

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
MAX_PAGE = 1_000_000


class BadRequest(ValueError):
    """A query parameter is malformed."""


def matching_patterns(patterns: Iterable[Pattern], filters: Filters) -> Iterator[Pattern]:
    return ((row, count) for row, count in patterns if filters.matches(row))


def _int_param(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    # isdigit() alone takes "²", which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise BadRequest(f"{name} must be an integer from 1 to {maximum}")
    return int(raw)


def matching_records(filters: Filters) -> Iterator[dict[str, Any]]:
    """One published row per released record that matches `filters`."""
    for row, count in published_patterns()[1]:
        if filters.matches(row):
            for _ in range(count):
                yield row


@bp.errorhandler(InvalidFilter)
@bp.errorhandler(BadRequest)
def _bad_request(exc: ValueError) -> tuple[Response, int]:
    return jsonify(error=str(exc)), 400


@bp.errorhandler(ReleaseNotReady)
def _not_ready(exc: ReleaseNotReady) -> tuple[Response, int, dict[str, str]]:
    # Fast, and nothing computed here: the worker publishes the release (app/transparency/release.py).
    body = jsonify(error="the compliance release is being prepared; try again after Retry-After seconds")
    return body, 503, {"Retry-After": str(exc.retry_after)}


@bp.get("/records")
def records() -> Response:
    """Anonymized compliance records (JSON pages, or the whole matching set as CSV)."""
    filters = parse_filters(request.args, allowed=("page", "per_page", "format"))
    fmt = request.args.get("format")
    if fmt not in (None, "json", "csv"):
        raise BadRequest("format must be json or csv")
    wants_csv = fmt == "csv" or (
        fmt is None
        and request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
        and request.accept_mimetypes["text/csv"] > request.accept_mimetypes["application/json"]
    )
    if wants_csv:
        chunks = csv_chunks(matching_patterns(published_patterns()[1], filters))
        response = Response(stream_with_context(chunks), mimetype="text/csv")
        response.headers["Content-Disposition"] = 'attachment; filename="tulay-compliance-records.csv"'
        return response
    page = _int_param("page", 1, MAX_PAGE)
    per_page = _int_param("per_page", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    start = (page - 1) * per_page
    window = list(islice(matching_records(filters), start, start + per_page + 1))
    has_next = len(window) > per_page
    return jsonify(
        records=window[:per_page], page=page, per_page=per_page, has_next=has_next, columns=list(PUBLIC_COLUMNS)
    )


@bp.get("/summary")
def summary() -> Response:
    """Aggregates behind the transparency dashboard; suppressed cells are null."""
    filters = parse_filters(request.args)
    return jsonify(published_summary(filters))


_FILTER_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "period",
        "in": "query",
        "schema": {"type": "string", "pattern": r"^20\d{2}-(0[1-9]|1[0-2])\.\.20\d{2}-(0[1-9]|1[0-2])$"},
        "description": "Closure months, inclusive: YYYY-MM..YYYY-MM.",
    },
    *[
        {"name": name, "in": "query", "schema": {"type": "string", "pattern": "^[A-Za-z0-9_]{0,32}$"}}
        for name in ("category", "country", "sector", "channel")
    ],
]
_ERROR = {
    "description": "Unknown filter or malformed value",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_NOT_READY = {
    "description": "No release published yet (a worker is computing it); try again after Retry-After seconds",
    "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One closed case, generalized; null means not published for this record.",
    "properties": {
        **{name: {"type": ["string", "null"]} for name in PUBLIC_COLUMNS},
        "remedies": {"type": ["array", "null"], "items": {"type": "string"}},
        "inspection_requested": {"type": ["boolean", "null"]},
        "sanction_reported": {"type": ["boolean", "null"]},
    },
}
_CELLS = {
    "type": "object",
    "additionalProperties": {"type": ["integer", "null"]},
    "description": "Counts by value; null = suppressed (fewer than k cases, or complementary).",
}

OPENAPI_PATHS: dict[str, Any] = {
    f"{URL_PREFIX}/records": {
        "get": {
            "summary": "Anonymized compliance records (open data)",
            "tags": ["compliance"],
            "description": "Public, no token. JSON pages, or CSV of all matching records with Accept: text/csv "
            "(or format=csv). Only records whose published row is shared by at least k records.",
            "security": [],
            "parameters": [
                *_FILTER_PARAMETERS,
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
                {
                    "name": "per_page",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                },
                {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}},
            ],
            "responses": {
                "200": {
                    "description": "Records",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "records": {"type": "array", "items": _RECORD_SCHEMA},
                                    "page": {"type": "integer"},
                                    "per_page": {"type": "integer"},
                                    "has_next": {"type": "boolean"},
                                    "columns": {"type": "array", "items": {"type": "string"}},
                                },
                            }
                        },
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "400": _ERROR,
                "503": _NOT_READY,
            },
        }
    },
    f"{URL_PREFIX}/summary": {
        "get": {
            "summary": "Aggregates behind the transparency dashboard",
            "tags": ["compliance"],
            "description": "Public, no token. Every cell is 0 or at least k; smaller cells and their "
            "complements are null. inspection_requested and sanction_reported count yes and no over "
            "the rows that publish the flag and not_published for the rest; where some rows don't "
            "publish it, a yes or no of 0 is null (not known), never 0.",
            "security": [],
            "parameters": _FILTER_PARAMETERS,
            "responses": {
                "200": {
                    "description": "Summary",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "k": {"type": "integer"},
                                    "total_cases": {"type": ["integer", "null"]},
                                    "period": {"type": "object"},
                                    "filters": {"type": "object"},
                                    "by": {"type": "object", "additionalProperties": _CELLS},
                                    "remedies": _CELLS,
                                    "amounts_recovered": _CELLS,
                                    "monthly": _CELLS,
                                    "inspection_requested": _CELLS,
                                    "sanction_reported": _CELLS,
                                    "median_days_to_first_response_band": {"type": ["string", "null"]},
                                    "median_days_to_remedy_band": {"type": ["string", "null"]},
                                },
                            }
                        }
                    },
                },
                "400": _ERROR,
                "503": _NOT_READY,
            },
        }
    },
}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    add_paths(app, OPENAPI_PATHS)  # its $refs (Error) are the document's shared components
