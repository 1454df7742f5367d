"""Evidence attachments in the JSON API: a case's files, decrypted on the fly for whoever may see the case."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, abort

from app.api import api_user, bp, token_required
from app.api.openapi import add_paths
from app.db import get_session
from app.media import attachment_response
from casework.access import CASE_ROLES
from casework.attachments import AttachmentItem, find_case_attachment


def attachment_shape(reference: str, item: AttachmentItem) -> dict[str, Any]:
    """An attachment as the case JSON lists it: never the provider URL or the sender's file name."""
    return {
        "id": item.id,
        "message_id": item.message_id,
        "declared_content_type": item.declared_type,
        "size_bytes": item.size_bytes,
        "received_at": item.received_at.isoformat(),
        "state": item.state,
        "url": f"/api/v1/cases/{reference}/attachments/{item.id}" if item.available else None,
    }


@bp.get("/cases/<reference>/attachments/<int:attachment_id>")
@token_required(*CASE_ROLES)
def show_attachment(reference: str, attachment_id: int) -> Response:
    """One attachment's file, typed by its own bytes; images inline, everything else a download (audited)."""
    from app.api.cases import load_case  # cases imports this module's shape

    case = load_case(reference)
    attachment = find_case_attachment(get_session(), case, attachment_id)
    if attachment is None:
        abort(404, description="attachment not found")
    return attachment_response(get_session(), case, attachment, api_user().id, via="api")


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


FILE = {"schema": {"type": "string", "format": "binary"}}
SCHEMAS = {
    "Attachment": {
        "type": "object",
        "description": "a file the reporter sent (WhatsApp media); the provider URL and file name are never given",
        "required": ["id", "message_id", "declared_content_type", "size_bytes", "received_at", "state", "url"],
        "properties": {
            "id": {"type": "integer"},
            "message_id": {"type": "integer"},
            "declared_content_type": {
                "type": "string",
                "description": "the type the sender declared; the file is served as what its bytes are",
            },
            "size_bytes": {"type": ["integer", "null"]},
            "received_at": {"type": "string", "format": "date-time"},
            "state": {
                "enum": ["stored", "pending", "erased"],
                "description": "stored; pending (not fetched from the provider yet); erased (retention)",
            },
            "url": {"type": ["string", "null"], "description": "where to fetch the file, when stored"},
        },
    }
}


def register_openapi(app: Flask) -> None:
    add_paths(
        app,
        {
            "/api/v1/cases/{reference}/attachments/{attachment_id}": {
                "get": {
                    "summary": "Download one attachment of a case (audited)",
                    "description": "The content type is the one the file's bytes show (JPEG, PNG, GIF, WebP, "
                    "PDF, audio), else application/octet-stream. Images come with Content-Disposition inline, "
                    "anything else as an attachment named REFERENCE-ID.EXT.",
                    "tags": ["cases"],
                    "security": [{"bearer": []}],
                    "parameters": [
                        {"name": "reference", "in": "path", "required": True, "schema": {"type": "string"}},
                        {
                            "name": "attachment_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "the file",
                            "content": dict.fromkeys(
                                (
                                    "image/jpeg",
                                    "image/png",
                                    "image/gif",
                                    "image/webp",
                                    "application/pdf",
                                    "audio/*",
                                    "application/octet-stream",
                                ),
                                FILE,
                            ),
                        },
                        "401": _error("no valid token"),
                        "403": _error("role not allowed"),
                        "404": _error("no such case (or not yours), no such attachment, or not stored"),
                    },
                }
            }
        },
        SCHEMAS,
    )
