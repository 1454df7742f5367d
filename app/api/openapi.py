"""The OpenAPI 3.1 document, assembled from path fragments each API module registers."""

from __future__ import annotations

from typing import Any

from flask import Flask

EXTENSION_KEY = "tulay.openapi_paths"


def add_paths(app: Flask, fragment: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
    """Add `fragment` ({"/api/v1/…": {"get": {…}}}) and optional component schemas to the document."""
    store = app.extensions.setdefault(EXTENSION_KEY, {"paths": [], "schemas": {}})
    store["paths"].append(fragment)
    store["schemas"].update(schemas or {})


def build_document(app: Flask) -> dict[str, Any]:
    store = app.extensions.get(EXTENSION_KEY, {"paths": [], "schemas": {}})
    paths: dict[str, Any] = {}
    for fragment in store["paths"]:
        for path, operations in fragment.items():
            paths.setdefault(path, {}).update(operations)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tulay API",
            "version": "1",
            "description": "Casework and compliance API of the Tulay grievance hotline. Authenticate with "
            "`Authorization: Bearer TOKEN` (`flask --app app api-token EMAIL`). Errors are "
            'JSON `{"error": "…"}`.',
        },
        "servers": [{"url": app.config["PUBLIC_BASE_URL"].rstrip("/")}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                **store["schemas"],
            },
        },
    }
