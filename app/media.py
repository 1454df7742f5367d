"""Media files (photos of contracts, payslips): the one owner of where they live on disk.

A file is stored encrypted (`DATA_ENCRYPTION_KEY`) at `<instance>/media/<message>/<attachment>.bin`,
readable by this user only (files 0600, folders 0700), and its row (`MediaAttachment.stored_path`)
holds the path relative to `<instance>/media/`.
Storing, reading, deleting and checking go through here, so erasure finds what intake wrote.
Nothing outside the media folder is ever read or deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from flask import Response, abort, current_app
from sqlmodel import Session, col, select

from app.files import private_folder, write_private
from casework.attachments import download_name, is_inline, sniff_content_type
from casework.audit import record_event
from casework.models import Case, MediaAttachment
from casework.privacy import decrypt_bytes, encrypt_bytes

log = logging.getLogger(__name__)
MEDIA_FOLDER = "media"
SUFFIX = ".bin"


def media_root() -> Path:
    return (Path(current_app.instance_path) / MEDIA_FOLDER).resolve()


def media_file(stored_path: str) -> Path:
    """The file for a stored path. Raises ValueError for a path outside the media folder."""
    root = media_root()
    path = (root / stored_path).resolve()
    if not path.is_relative_to(root) or path == root:
        raise ValueError("refusing a media path outside the instance's media folder")
    return path


def store_media(message_id: int, attachment_id: int, content: bytes) -> str:
    """Write `content` encrypted, atomically (a reader never sees half a file); its stored path."""
    stored_path = f"{message_id}/{attachment_id}{SUFFIX}"
    target = media_file(stored_path)
    private_folder(target.parent)
    partial = target.with_suffix(".part")
    write_private(partial, encrypt_bytes(content))
    partial.replace(target)
    return stored_path


def read_media(stored_path: str) -> bytes:
    """The decrypted content of a stored file. Raises FileNotFoundError or ValueError."""
    return decrypt_bytes(media_file(stored_path).read_bytes())


def delete_media(stored_path: str) -> bool:
    """Delete a stored file; False if it was already gone (logged: a row pointed at nothing)."""
    path = media_file(stored_path)
    try:
        path.unlink()
    except FileNotFoundError:
        log.warning("media file to delete was already gone", extra={"stored_path": stored_path})
        return False
    parent = path.parent
    if parent != media_root() and not any(parent.iterdir()):
        parent.rmdir()  # the message's folder, now empty
    return True


@dataclass(frozen=True)
class MediaCheck:
    """Stored files no row points at, and rows whose file is missing."""

    files_without_row: list[str]
    rows_without_file: list[int]

    @property
    def consistent(self) -> bool:
        return not self.files_without_row and not self.rows_without_file


def check_media(session: Session) -> MediaCheck:
    """Compare the media folder with the attachment rows (both ways)."""
    root = media_root()
    rows = session.exec(
        select(MediaAttachment.id, MediaAttachment.stored_path).where(col(MediaAttachment.stored_path).is_not(None))
    ).all()
    expected = {stored: attachment_id for attachment_id, stored in rows if stored is not None and attachment_id}
    on_disk = (
        {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()} if root.is_dir() else set()
    )
    missing = sorted(attachment_id for stored, attachment_id in expected.items() if stored not in on_disk)
    return MediaCheck(files_without_row=sorted(on_disk - expected.keys()), rows_without_file=missing)


def attachment_response(
    session: Session, case: Case, attachment: MediaAttachment, actor_id: int | None, via: str
) -> Response:
    """Decrypt one stored attachment and answer with it; the view is audited (`attachment_viewed`).

    The type is the one the file's bytes show, not the sender's: an image is shown inline, anything
    else is a download under a neutral name (`<reference>-<id>.<ext>`), never the sender's. 404 when
    the file is not stored (not fetched yet, or erased). Commits the audit event.
    """
    if not attachment.stored_path:
        abort(404, description="attachment not stored (not fetched yet, or erased)")
    try:
        content = read_media(attachment.stored_path)
    except FileNotFoundError:
        log.warning("attachment file missing", extra={"attachment_id": attachment.id})
        abort(404, description="attachment not stored (not fetched yet, or erased)")
    content_type = sniff_content_type(content)
    record_event(
        session,
        action="attachment_viewed",
        case_id=case.id,
        actor_id=actor_id,
        actor_kind="staff",
        attachment_id=attachment.id,
        content_type=content_type,
        via=via,
    )
    session.commit()
    response = Response(content, mimetype=content_type)
    disposition = "inline" if is_inline(content_type) else "attachment"
    name = download_name(case.reference, attachment.id or 0, content_type)
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"  # no other site may embed it
    return response
