"""Outbound e-mail over SMTP (`SMTP_URL`), for staff notifications only.

`smtp://user:pass@host:port` sends in the clear unless `?starttls=true` asks for STARTTLS;
`smtps://…` speaks TLS from the start. `?from=address` sets the sender (default
`tulay@` the host of `PUBLIC_BASE_URL`). smtplib's debug output stays off: it would print
addresses. A failure raises `MailFailed` naming only its kind, since SMTP error texts may
quote addresses.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlparse

SMTP_TIMEOUT_SECONDS = 15
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


class SmtpUrlError(ValueError):
    """SMTP_URL is malformed (the message never quotes it: it may hold a password)."""


class MailFailed(Exception):
    """Sending failed; the message names the kind of failure only (no addresses, no server text)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None
    sender: str | None


def parse_smtp_url(url: str) -> SmtpSettings:
    """Parse SMTP_URL; raise SmtpUrlError saying what is wrong with it."""
    parsed = urlparse(url)
    if parsed.scheme not in DEFAULT_PORTS:
        raise SmtpUrlError("must start with smtp:// or smtps://")
    if not parsed.hostname:
        raise SmtpUrlError("must name a host, e.g. smtp://user:pass@mail.example.org:587?starttls=true")
    try:
        port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    except ValueError:
        raise SmtpUrlError("has a bad port") from None
    query = parse_qs(parsed.query)
    unknown = set(query) - {"starttls", "from"}
    if unknown:
        raise SmtpUrlError(f"has an unknown option {sorted(unknown)[0]!r} (known: starttls, from)")
    starttls_raw = query.get("starttls", ["false"])[-1].lower()
    if starttls_raw not in TRUE + FALSE:
        raise SmtpUrlError("starttls must be true or false")
    starttls = starttls_raw in TRUE
    if starttls and parsed.scheme == "smtps":
        raise SmtpUrlError("smtps:// is TLS already; starttls is for smtp://")
    sender = query.get("from", [None])[-1]
    if sender is not None and "@" not in sender:
        raise SmtpUrlError("from must be an e-mail address")
    return SmtpSettings(
        host=parsed.hostname,
        port=port,
        implicit_tls=parsed.scheme == "smtps",
        starttls=starttls,
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        sender=sender,
    )


def default_sender(public_base_url: str) -> str:
    host = urlparse(public_base_url).hostname or "localhost"
    return f"tulay@{host}"


def send_mail(settings: SmtpSettings, *, sender: str, to: str, subject: str, body: str) -> None:
    """Send one plain-text e-mail; raise MailFailed (its kind only) on any failure."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    context = ssl.create_default_context()
    try:
        client: smtplib.SMTP
        if settings.implicit_tls:
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            client.set_debuglevel(0)
            if settings.starttls:
                client.starttls(context=context)
            if settings.username:
                client.login(settings.username, settings.password or "")
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailFailed(f"SMTP failure: {type(exc).__name__}") from None
