"""Evidence attachments: listed on the case page and in the case JSON, opened through an audited route
that decrypts the stored file, types it by its own bytes and never names it after the sender's file.

The files are real: encrypted by `app.media.store_media` into the instance's media folder, as the
fetch job stores them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, select

from app.media import media_file, store_media
from casework.attachments import sniff_content_type
from casework.models import Case, CaseEvent, CaseStatus, MediaAttachment, Role, StaffUser, utcnow
from tests.app.console_support import add_message, fetch, make_case, make_staff, sign_in

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 a photo of a payslip"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR a screenshot"
PDF = b"%PDF-1.7\n a contract"
HTML = b"<html><script>alert(document.cookie)</script></html>"
OGG = b"OggS\x00\x02 a voice note"


def attach(db: Session, app: Flask, case: Case, content: bytes, declared: str) -> MediaAttachment:
    """A WhatsApp message on `case` with one fetched attachment, stored encrypted the way the fetch job does."""
    message = add_message(db, case, "see the photo")
    attachment = MediaAttachment(
        message_id=message.id or 0, url="https://api.twilio.com/2010-04-01/Media/ME1", content_type=declared
    )
    db.add(attachment)
    db.flush()
    with app.app_context():
        attachment.stored_path = store_media(message.id or 0, attachment.id or 0, content)
    attachment.size_bytes, attachment.fetched_at = len(content), utcnow()
    db.add(attachment)
    db.commit()
    return attachment


def viewed(db: Session, case: Case) -> list[CaseEvent]:
    return fetch(db, select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "attachment_viewed"))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (JPEG, "image/jpeg"),
        (PNG, "image/png"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (PDF, "application/pdf"),
        (OGG, "audio/ogg"),
        (b"ID3\x04\x00 mp3", "audio/mpeg"),
        (b"\xff\xfb\x90\x64 mp3 frame", "audio/mpeg"),
        (b"\xff\xf1\x50\x80 adts", "audio/aac"),
        (b"#!AMR\n", "audio/amr"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00", "audio/mp4"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00", "application/octet-stream"),  # a video: not an audio brand
        (HTML, "application/octet-stream"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_the_type_comes_from_the_bytes(content: bytes, expected: str) -> None:
    assert sniff_content_type(content) == expected


# --- console ------------------------------------------------------------------------------------


@pytest.fixture
def people(db: Session) -> dict[str, StaffUser]:
    return {
        "admin": make_staff(db, Role.ADMIN),
        "ombudsperson": make_staff(db, Role.OMBUDSPERSON),
        "mediator": make_staff(db, Role.MEDIATOR),
        "other_mediator": make_staff(db, Role.MEDIATOR),
        "analyst": make_staff(db, Role.ANALYST),
    }


def test_the_case_page_lists_each_attachment_with_type_size_and_time(
    web: Any, capp: Flask, db: Session, people: dict[str, StaffUser]
) -> None:
    case = make_case(db, status=CaseStatus.ASSIGNED, assignee_id=people["mediator"].id, channel="whatsapp")
    photo = attach(db, capp, case, JPEG, "image/jpeg")
    contract = attach(db, capp, case, PDF, "application/pdf")
    page = sign_in(web, people["mediator"]).get(f"/console/cases/{case.reference}").text
    for item, declared in ((photo, "image/jpeg"), (contract, "application/pdf")):
        link = f'href="/console/cases/{case.reference}/attachments/{item.id}"'
        assert link in page and declared in page
    assert f"{len(JPEG)} bytes" in page and "twilio.com" not in page
    assert viewed(db, case) == [], "listing a file is not opening it"


def test_an_image_opens_inline_audited_with_safe_headers(
    web: Any, capp: Flask, db: Session, people: dict[str, StaffUser]
) -> None:
    case = make_case(db, status=CaseStatus.ASSIGNED, assignee_id=people["mediator"].id)
    photo = attach(db, capp, case, JPEG, "image/jpeg")
    with capp.app_context():
        assert JPEG not in media_file(photo.stored_path or "").read_bytes()  # encrypted at rest
    for who in ("mediator", "ombudsperson", "admin"):
        response = sign_in(capp.test_client(), people[who]).get(
            f"/console/cases/{case.reference}/attachments/{photo.id}"
        )
        assert response.status_code == 200, who
        assert response.data == JPEG
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["Content-Disposition"] == f'inline; filename="{case.reference}-{photo.id}.jpg"'
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert "img-src 'self'" in response.headers["Content-Security-Policy"]
    events = viewed(db, case)
    assert [(e.actor_id, e.actor_kind) for e in events] == [
        (people[w].id, "staff") for w in ("mediator", "ombudsperson", "admin")
    ]
    assert events[0].detail == {
        "attachment_id": photo.id,
        "content_type": "image/jpeg",
        "via": "console",
    }
    # A read is in the audit trail, not in the case's history.
    admin = sign_in(capp.test_client(), people["admin"])
    assert "attachment viewed" not in admin.get(f"/console/cases/{case.reference}").text.split('id="history"')[-1]
    assert "attachment_viewed" in admin.get(f"/console/cases/{case.reference}/audit").text


@pytest.mark.parametrize(
    ("content", "declared", "served", "extension"),
    [
        (PDF, "image/png", "application/pdf", "pdf"),  # claims to be an image, is a PDF
        (HTML, "image/jpeg", "application/octet-stream", "bin"),  # HTML never renders on our origin
        (HTML, "text/html", "application/octet-stream", "bin"),
        (OGG, "audio/ogg", "audio/ogg", "ogg"),
        (PNG, "application/pdf", "image/png", "png"),
    ],
)
def test_the_type_served_is_the_files_own_and_only_images_open_inline(
    web: Any,
    capp: Flask,
    db: Session,
    people: dict[str, StaffUser],
    content: bytes,
    declared: str,
    served: str,
    extension: str,
) -> None:
    case = make_case(db)
    item = attach(db, capp, case, content, declared)
    response = sign_in(web, people["ombudsperson"]).get(f"/console/cases/{case.reference}/attachments/{item.id}")
    assert response.status_code == 200 and response.data == content
    assert response.headers["Content-Type"] == served
    disposition = "inline" if served.startswith("image/") else "attachment"
    assert (
        response.headers["Content-Disposition"] == f'{disposition}; filename="{case.reference}-{item.id}.{extension}"'
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_case_the_user_cannot_see_is_a_404_and_nothing_is_recorded(
    web: Any, capp: Flask, db: Session, people: dict[str, StaffUser]
) -> None:
    case = make_case(db, status=CaseStatus.ASSIGNED, assignee_id=people["mediator"].id)
    photo = attach(db, capp, case, JPEG, "image/jpeg")
    other = make_case(db)
    db.commit()
    url = f"/console/cases/{case.reference}/attachments/{photo.id}"
    foreign = sign_in(capp.test_client(), people["other_mediator"]).get(url)
    missing = sign_in(capp.test_client(), people["other_mediator"]).get("/console/cases/0000-0000/attachments/1")
    assert foreign.status_code == missing.status_code == 404
    assert JPEG not in foreign.data and case.reference not in foreign.text
    # An attachment reached through another case's reference does not exist either.
    crossed = sign_in(capp.test_client(), people["ombudsperson"]).get(
        f"/console/cases/{other.reference}/attachments/{photo.id}"
    )
    assert crossed.status_code == 404
    assert sign_in(capp.test_client(), people["analyst"]).get(url).status_code == 403
    anonymous = capp.test_client().get(url)
    assert anonymous.status_code == 302 and "/console/login" in anonymous.headers["Location"]
    assert viewed(db, case) == []


def test_an_erased_or_unfetched_attachment_is_listed_but_not_served(
    web: Any, capp: Flask, db: Session, people: dict[str, StaffUser]
) -> None:
    case = make_case(db)
    message = add_message(db, case, "photo")
    pending = MediaAttachment(message_id=message.id or 0, url="https://api.twilio.com/x", content_type="image/jpeg")
    erased = MediaAttachment(message_id=message.id or 0, url=None, content_type="image/png", fetched_at=utcnow())
    db.add(pending)
    db.add(erased)
    db.commit()
    client = sign_in(web, people["ombudsperson"])
    page = client.get(f"/console/cases/{case.reference}").text
    assert "not fetched yet" in page and "erased" in page
    for item in (pending, erased):
        assert client.get(f"/console/cases/{case.reference}/attachments/{item.id}").status_code == 404
    assert viewed(db, case) == []
