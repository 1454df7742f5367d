"""Evidence attachments of a case (photos of contracts, payslips, voice notes): which a case has,
what each one really is, and how it may be shown to staff.

The type a sender declares (Twilio's `MediaContentType`) is not believed: a file is served as
what its first bytes say it is, and as a download unless those bytes are an image a browser
shows without running anything (JPEG, PNG, GIF, WebP; never SVG).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from casework.models import Case, MediaAttachment, Message

OCTET_STREAM = "application/octet-stream"
# Shown inline in the browser; everything else is a download.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/amr": "amr",
    "audio/mp4": "m4a",
    "audio/wav": "wav",
    "audio/aac": "aac",
    OCTET_STREAM: "bin",
}
AUDIO_MP4_BRANDS = (b"M4A ", b"M4B ", b"F4A ")


def sniff_content_type(content: bytes) -> str:
    """The content type the file's own first bytes show; `application/octet-stream` if none we know."""
    head = content[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"OggS"):
        return "audio/ogg"  # WhatsApp voice notes (Opus in Ogg)
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if head[4:8] == b"ftyp" and head[8:12] in AUDIO_MP4_BRANDS:
        return "audio/mp4"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = (head[1] >> 1) & 0b11
        if layer == 0b00 and head[1] & 0xF0 == 0xF0:
            return "audio/aac"  # ADTS
        if layer == 0b01:
            return "audio/mpeg"  # an MPEG layer III frame
    return OCTET_STREAM


def is_inline(content_type: str) -> bool:
    return content_type in INLINE_TYPES


def download_name(reference: str, attachment_id: int, content_type: str) -> str:
    """A neutral file name (`<reference>-<id>.<ext>`); the sender's own name is never used."""
    return f"{reference}-{attachment_id}.{EXTENSIONS.get(content_type, 'bin')}"


@dataclass(frozen=True)
class AttachmentItem:
    """One attachment as staff see it listed: the declared type, size and state, never its URL."""

    id: int
    message_id: int
    declared_type: str
    size_bytes: int | None
    received_at: datetime
    fetched_at: datetime | None
    state: str  # stored | pending (not fetched yet) | erased

    @property
    def available(self) -> bool:
        return self.state == "stored"


def _state(attachment: MediaAttachment) -> str:
    if attachment.stored_path:
        return "stored"
    if attachment.fetched_at is None and attachment.url:
        return "pending"
    return "erased"


def case_attachments(session: Session, case: Case) -> list[AttachmentItem]:
    """Every attachment of every message of `case`, in the order received."""
    statement = (
        select(MediaAttachment, Message.created_at)
        .join(Message, col(Message.id) == col(MediaAttachment.message_id))
        .where(Message.case_id == case.id)
        .order_by(col(Message.created_at), col(MediaAttachment.id))
    )
    return [
        AttachmentItem(
            id=attachment.id or 0,
            message_id=attachment.message_id,
            declared_type=attachment.content_type,
            size_bytes=attachment.size_bytes,
            received_at=received,
            fetched_at=attachment.fetched_at,
            state=_state(attachment),
        )
        for attachment, received in session.exec(statement).all()
    ]


def find_case_attachment(session: Session, case: Case, attachment_id: int) -> MediaAttachment | None:
    """The attachment `attachment_id` if it belongs to a message of `case`, else None."""
    statement = (
        select(MediaAttachment)
        .join(Message, col(Message.id) == col(MediaAttachment.message_id))
        .where(MediaAttachment.id == attachment_id, Message.case_id == case.id)
    )
    return session.exec(statement).first()


def human_size(size: int | None) -> str:
    """`48213` → "47 KB"; None → "size unknown"."""
    if size is None:
        return "size unknown"
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
