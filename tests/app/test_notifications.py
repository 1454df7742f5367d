"""Staff notifications end to end: e-mail over a real local SMTP server (aiosmtpd) through the
real RQ worker, the sweeper for lost e-mail jobs, and the console inbox."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message as EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask
from sqlmodel import Session, select

from app.config import ConfigError, load_settings
from app.db import get_session
from app.dispatch import EMAIL_NOTIFICATION
from app.jobs import email_staff_notification, process_inbound_message, sweep_unemailed_notifications
from app.mail import MailFailed
from app.queues import get_queues
from casework.intake import InboundMessage, accept_inbound
from casework.models import Case, CaseStatus, Role, StaffNotification, utcnow
from casework.routing import assign_case
from tests.app.console_support import add_message, reload, sign_in
from tests.conftest import planted_in
from tests.factories import make_case, make_staff

REPORTER_NUMBER = "+639171234567"
REPORTER_WORDS = "Kinuha ng amo ko ang pasaporte ko"
EMPLOYER = "Employer Secret Ltd"


class Inbox:
    """What the local SMTP server received: each message, and the logins it accepted."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
        return "250 Message accepted"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"tulay", b"s3cr:t")
        if ok:
            self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=ok, handled=False)

    def parsed(self, index: int = 0) -> EmailMessage:
        return message_from_bytes(self.messages[index][1])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 (AUTH allowed without TLS: it is loopback only)."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def mail_app(make_app: Any, smtp_server: tuple[Inbox, int]) -> Iterator[Flask]:
    application: Flask = make_app(SMTP_URL=f"smtp://tulay:s3cr%3At@127.0.0.1:{smtp_server[1]}?from=hotline@tulay.test")
    with application.app_context():
        yield application


def _assigned_case(db: Session) -> tuple[Case, Any]:
    boss = make_staff(db, Role.ADMIN)
    holder = make_staff(db, Role.OMBUDSPERSON, email="holder@tulay.test")
    holder.display_name = "Maria Santos"  # a planted name: it must not reach the e-mail
    case = make_case(db, contact=REPORTER_NUMBER, employer_name=EMPLOYER)
    add_message(db, case, REPORTER_WORDS)
    assign_case(db, case, holder.id, boss.id)
    db.commit()
    return case, holder


def _run(queues: tuple[str, ...] = ("outbound",)) -> None:
    """Run the queued jobs in this process with the app's worker class (burst mode), in this app's context."""
    from app.worker import AppWorker

    connection = get_queues().connection
    AppWorker([get_queues()[q] for q in queues], connection=connection).work(burst=True, with_scheduler=False)


def test_assignment_is_emailed_once_with_reference_and_link_only(
    mail_app: Flask, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp_server
    db = get_session()
    case, _holder = _assigned_case(db)
    notification = db.exec(select(StaffNotification)).one()
    db.commit()  # end the read (SQLite's BEGIN IMMEDIATE would block the worker)
    assert get_queues()["outbound"].job_ids == [EMAIL_NOTIFICATION.job_id(notification.id)]
    _run()
    assert inbox.logins == [(b"tulay", b"s3cr:t")]
    assert [recipients for recipients, _raw in inbox.messages] == [["holder@tulay.test"]]
    mail = inbox.parsed()
    body = mail.get_payload(decode=True).decode()
    raw = inbox.messages[0][1].decode()
    assert mail["Subject"] == f"Tulay: A case was assigned to you ({case.reference})"
    assert mail["From"] == "hotline@tulay.test"
    assert f"https://tulay.test/console/cases/{case.reference}" in body
    for secret in (REPORTER_NUMBER, REPORTER_NUMBER[3:], REPORTER_WORDS, EMPLOYER, "Maria Santos", "Staff "):
        assert secret not in raw
    assert planted_in(raw) == []
    assert reload(db, notification).emailed_at is not None
    assert email_staff_notification(notification.id) == "already-sent"
    assert len(inbox.messages) == 1


def test_without_smtp_nothing_is_enqueued_and_the_inbox_has_it(app: Flask, session: Session) -> None:
    _assigned_case(session)
    assert session.exec(select(StaffNotification.kind)).all() == ["assigned"]
    session.commit()
    assert get_queues()["outbound"].job_ids == []
    assert email_staff_notification(1) == "no-smtp"
    assert sweep_unemailed_notifications() == 0


def test_sweeper_resends_an_email_redis_lost(mail_app: Flask, smtp_server: tuple[Inbox, int]) -> None:
    inbox, _ = smtp_server
    db = get_session()
    _assigned_case(db)
    get_queues()["outbound"].empty()  # Redis lost the job
    notification = db.exec(select(StaffNotification)).one()
    notification.created_at = utcnow() - timedelta(minutes=5)
    db.add(notification)
    db.commit()
    assert sweep_unemailed_notifications() == 1
    assert sweep_unemailed_notifications() == 0  # queued already: not twice
    _run()
    assert len(inbox.messages) == 1
    assert sweep_unemailed_notifications() == 0  # e-mailed: nothing left to sweep


def test_smtp_failure_fails_the_job_naming_only_its_kind(
    make_app: Any, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    down = make_app(SMTP_URL=f"smtp://127.0.0.1:{_free_port()}")  # nothing listens: connection refused
    _assigned_case(session)
    notification = session.exec(select(StaffNotification)).one()
    session.commit()
    caplog.set_level(logging.WARNING)
    with down.app_context(), pytest.raises(MailFailed, match=r"^SMTP failure: ConnectionRefusedError$"):
        email_staff_notification(notification.id or 0)
    assert "holder@tulay.test" not in caplog.text
    assert reload(session, notification).emailed_at is None


def test_a_follow_up_through_the_real_worker_notifies_and_emails_once(
    mail_app: Flask, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp_server
    db = get_session()
    holder = make_staff(db, Role.OMBUDSPERSON, languages=["tl", "en"], email="ombud@tulay.test")
    received = utcnow()
    for n, words in ((1, "Hindi binayaran ang sahod ko"), (2, REPORTER_WORDS)):
        inbound = InboundMessage(
            channel="sms", external_id=f"SM{str(n) * 32}", sender=REPORTER_NUMBER, body=words, received_at=received
        )
        message, _ = accept_inbound(db, inbound)
        db.commit()
        assert process_inbound_message(message.id) == "processed"
    case = db.exec(select(Case)).one()
    kinds = db.exec(select(StaffNotification.kind, StaffNotification.recipient_id).order_by(StaffNotification.id))
    assert list(kinds.all()) == [("assigned", holder.id), ("reporter_follow_up", holder.id)]
    db.commit()
    mail_jobs = [j for j in get_queues()["outbound"].job_ids if j.startswith("notify-mail-")]
    assert len(mail_jobs) == 2
    for job_id in mail_jobs:
        assert email_staff_notification(int(job_id.rsplit("-", 1)[1])) == "sent"
    subjects = sorted(inbox.parsed(i)["Subject"] for i in range(len(inbox.messages)))
    assert subjects == sorted(
        [
            f"Tulay: A case was assigned to you ({case.reference})",
            f"Tulay: The reporter wrote again ({case.reference})",
        ]
    )
    assert all(planted_in(raw.decode()) == [] and REPORTER_WORDS not in raw.decode() for _, raw in inbox.messages)


def test_sla_job_twice_notifies_once(app: Flask, session: Session) -> None:
    from app.jobs import escalate_overdue_cases

    holder = make_staff(session, Role.OMBUDSPERSON)
    opened = utcnow() - timedelta(hours=9)
    make_case(
        session,
        assignee_id=holder.id,
        status=CaseStatus.ASSIGNED,
        created_at=opened,
        first_response_due_at=opened + timedelta(hours=10),
        resolution_due_at=opened + timedelta(days=30),
    )
    session.commit()
    assert escalate_overdue_cases()["nearing"] == 1
    assert escalate_overdue_cases()["nearing"] == 0
    assert session.exec(select(StaffNotification.kind)).all() == ["sla_nearing"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example.org", "must start with smtp:// or smtps://"),
        ("smtp://user:hunter2@mail.example.org:99999", "bad port"),
        ("smtps://user:hunter2@mail.example.org?starttls=true", "TLS already"),
        ("smtp://user:hunter2@mail.example.org?starttls=maybe", "starttls must be true or false"),
        ("smtp://user:hunter2@mail.example.org?tls=1", "unknown option 'tls'"),
        ("smtp://user:hunter2@mail.example.org?from=nobody", "from must be an e-mail address"),
    ],
)
def test_bad_smtp_url_stops_start_without_echoing_it(config: dict[str, Any], url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^SMTP_URL .*{message}") as raised:
        load_settings({}, {**config, "SMTP_URL": url})
    assert "hunter2" not in str(raised.value)


def test_good_smtp_urls_are_accepted(config: dict[str, Any]) -> None:
    for url in ("smtp://mail.example.org:587?starttls=true", "smtps://u:p@mail.example.org", "smtp://127.0.0.1:2525"):
        assert url == load_settings({}, {**config, "SMTP_URL": url}).SMTP_URL


# --- the console inbox ----------------------------------------------------------------------------


def test_inbox_shows_only_own_notifications_and_the_nav_counts_unread(capp: Flask, db: Session) -> None:
    me, other, boss = make_staff(db, Role.OMBUDSPERSON), make_staff(db, Role.OMBUDSPERSON), make_staff(db, Role.ADMIN)
    mine, theirs = make_case(db), make_case(db)
    assign_case(db, mine, me.id, boss.id)
    assign_case(db, theirs, other.id, boss.id)
    db.commit()
    web = sign_in(capp.test_client(), me)
    page = web.get("/console/inbox")
    assert page.status_code == 200
    assert mine.reference in page.text and theirs.reference not in page.text
    assert "A case was assigned to you" in page.text and "1 unread" in page.text
    assert "1 unread</span></a>" in web.get("/console/").text  # the nav's count, on every console page


def test_marking_read_is_for_the_recipient_only(capp: Flask, db: Session) -> None:
    me, other, boss = make_staff(db, Role.OMBUDSPERSON), make_staff(db, Role.OMBUDSPERSON), make_staff(db, Role.ADMIN)
    for _ in range(2):
        assign_case(db, make_case(db), me.id, boss.id)
    assign_case(db, make_case(db), other.id, boss.id)
    db.commit()
    rows = db.exec(select(StaffNotification).order_by(StaffNotification.id)).all()
    db.commit()
    mine, theirs = [r for r in rows if r.recipient_id == me.id], next(r for r in rows if r.recipient_id == other.id)
    web = sign_in(capp.test_client(), me)
    assert web.post(f"/console/inbox/{theirs.id}/read").status_code == 404
    assert web.post("/console/inbox/999999/read").status_code == 404
    assert reload(db, theirs).read_at is None
    assert web.post(f"/console/inbox/{mine[0].id}/read").status_code == 303
    assert reload(db, mine[0]).read_at is not None and reload(db, mine[1]).read_at is None
    assert web.post("/console/inbox/read-all").status_code == 303
    assert reload(db, mine[1]).read_at is not None
    assert reload(db, theirs).read_at is None
    assert "unread</span>" not in web.get("/console/inbox").text


def test_inbox_forms_need_a_csrf_token(make_app: Any) -> None:
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    with csrf_app.app_context():
        db = get_session()
        me, boss = make_staff(db, Role.OMBUDSPERSON), make_staff(db, Role.ADMIN)
        assign_case(db, make_case(db), me.id, boss.id)
        db.commit()
        notification_id = db.exec(select(StaffNotification.id)).one()
        db.commit()
    web = sign_in(csrf_app.test_client(), me)
    for url in (f"/console/inbox/{notification_id}/read", "/console/inbox/read-all"):
        response = web.post(url)
        assert response.status_code == 400 and "This form has expired" in response.text, url
    page = web.get("/console/inbox").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert web.post("/console/inbox/read-all", data={"csrf_token": token}).status_code == 303


# --- TLS: STARTTLS when asked, smtps from the start, and the certificate is verified ----------------


def _self_signed(folder: Any) -> tuple[str, str]:
    """A throwaway certificate for 127.0.0.1 and its key, as PEM files; returns their paths."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_tls_modes_send_only_to_a_verified_server(
    make_app: Any, session: Session, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox, port = Inbox(), _free_port()
    options: dict[str, Any] = (
        {"tls_context": server_tls, "require_starttls": True}
        if mode == "starttls"
        # aiosmtpd offers AUTH on implicit TLS only when told it needn't wait for STARTTLS.
        else {"ssl_context": server_tls, "auth_require_tls": False}
    )
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate, **options)
    controller.start()
    try:
        url = (
            f"smtp://tulay:s3cr%3At@127.0.0.1:{port}?starttls=true"
            if mode == "starttls"
            else f"smtps://tulay:s3cr%3At@127.0.0.1:{port}"
        )
        mail_app = make_app(SMTP_URL=url)
        _assigned_case(session)
        notification_id = session.exec(select(StaffNotification.id)).one()
        session.commit()
        with mail_app.app_context():
            with pytest.raises(MailFailed, match=r"^SMTP failure: SSL"):  # not trusted yet: nothing sent
                email_staff_notification(notification_id or 0)
            assert inbox.messages == []
            monkeypatch.setenv("SSL_CERT_FILE", cert)
            assert email_staff_notification(notification_id or 0) == "sent"
        assert inbox.logins == [(b"tulay", b"s3cr:t")]
        assert len(inbox.messages) == 1
    finally:
        controller.stop()
