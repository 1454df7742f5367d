"""The one OpenAPI 3.1 document at /api/v1/openapi.json: every API route of every module is in it,
and it is a well-formed OpenAPI 3.1 document (its references resolve, its path parameters are
declared, every operation has described responses)."""

from __future__ import annotations

import copy
import importlib.util
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.api.compliance import OPENAPI_PATHS

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
STATUS = re.compile(r"^([1-5](\d\d|XX)|default)$")


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references are used: {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolvable $ref {ref}"
        node = node[part]
    return node


def problems(document: dict[str, Any]) -> list[str]:
    """What makes `document` not a well-formed OpenAPI 3.1 document (the rules this API can break)."""
    found = []
    if document.get("openapi") != "3.1.0":
        found.append("openapi must be 3.1.0")
    info = document.get("info", {})
    if not isinstance(info.get("title"), str) or not isinstance(info.get("version"), str):
        found.append("info needs a title and a version")
    schemes = document.get("components", {}).get("securitySchemes", {})
    templates: dict[str, str] = {}
    for path, item in document.get("paths", {}).items():
        if not path.startswith("/"):
            found.append(f"{path}: paths start with /")
        shape = re.sub(r"\{[^}]+\}", "{}", path)
        if shape in templates:
            found.append(f"{path} and {templates[shape]} are the same template")
        templates[shape] = path
        in_path = set(re.findall(r"\{([^}]+)\}", path))
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            if method not in METHODS:
                found.append(f"{label}: not an HTTP method")
                continue
            params = [resolve(document, p["$ref"]) if "$ref" in p else p for p in operation.get("parameters", [])]
            for param in params:
                if param.get("in") not in ("query", "header", "path", "cookie") or not param.get("name"):
                    found.append(f"{label}: parameter without name or location: {param}")
                if ("schema" in param) == ("content" in param):
                    found.append(f"{label}: parameter {param.get('name')} needs a schema or a content")
            declared = {p["name"] for p in params if p.get("in") == "path"}
            if declared != in_path:
                found.append(f"{label}: path parameters {sorted(in_path)} declared as {sorted(declared)}")
            if any(p.get("in") == "path" and p.get("required") is not True for p in params):
                found.append(f"{label}: path parameters must be required")
            responses = operation.get("responses")
            if not isinstance(responses, dict) or not responses:
                found.append(f"{label}: no responses")
                continue
            for code, response in responses.items():
                if not STATUS.match(str(code)) or not isinstance(response.get("description"), str):
                    found.append(f"{label}: response {code} needs a status code and a description")
            for requirement in operation.get("security", []):
                found.extend(f"{label}: unknown security scheme {name}" for name in requirement if name not in schemes)
    for ref in refs(document):
        try:
            resolve(document, ref)
        except AssertionError as exc:
            found.append(str(exc))
    return found


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_compliance_paths_are_in_the_one_document(document: dict[str, Any]) -> None:
    for path, operations in OPENAPI_PATHS.items():
        assert document["paths"][path] == operations
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]
    summary = document["paths"]["/api/v1/compliance/summary"]["get"]
    assert resolve(document, summary["responses"]["400"]["content"]["application/json"]["schema"]["$ref"])


def test_every_api_route_of_every_module_is_documented(app: Flask, document: dict[str, Any]) -> None:
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule): rule.methods or set()
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
    }
    assert routes, "no API routes found"
    for path, methods in routes.items():
        assert path in document["paths"], f"{path} is missing from the OpenAPI document"
        documented = {m.upper() for m in document["paths"][path]}
        assert methods - {"HEAD", "OPTIONS"} <= documented, (path, methods, documented)


def test_the_document_is_well_formed_openapi_3_1(document: dict[str, Any]) -> None:
    assert problems(document) == []
    if importlib.util.find_spec("openapi_spec_validator") is not None:  # the full validator, where installed
        from openapi_spec_validator import validate

        validate(document)


@pytest.mark.parametrize(
    ("label", "break_it", "says"),
    [
        ("dangling ref", lambda d: d["components"]["schemas"].pop("Error"), "unresolvable $ref"),
        (
            "undeclared path parameter",
            lambda d: d["paths"]["/api/v1/cases/{reference}"]["get"].pop("parameters"),
            "path parameters",
        ),
        (
            "response without description",
            lambda d: d["paths"]["/api/v1/compliance/summary"]["get"]["responses"]["200"].pop("description"),
            "needs a status code and a description",
        ),
        ("wrong version", lambda d: d.update(openapi="3.0.3"), "3.1.0"),
    ],
)
def test_the_check_catches_broken_documents(document: dict[str, Any], label: str, break_it: Any, says: str) -> None:
    broken = copy.deepcopy(document)
    break_it(broken)
    assert any(says in problem for problem in problems(broken)), label
