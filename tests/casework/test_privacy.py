"""Personal data is encrypted at rest and found only through keyed hashes."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlmodel import Session

from casework import privacy
from casework.models import Reporter


def test_contact_is_ciphertext_in_the_database(session: Session) -> None:
    reporter = Reporter(contact="+639171234567", contact_hash=privacy.lookup_hash("phone", "+639171234567"))
    session.add(reporter)
    session.commit()
    stored = session.execute(text("SELECT contact, contact_hash FROM reporter")).one()
    assert "639171234567" not in stored.contact
    assert "639171234567" not in stored.contact_hash
    session.expire_all()
    assert session.get(Reporter, reporter.id).contact == "+639171234567"


def test_lookup_hash_is_keyed_and_stable_across_key_rotation(app) -> None:
    first = privacy.lookup_hash("phone", "+15551234567")
    assert first == privacy.lookup_hash("phone", "+15551234567")
    assert first != privacy.lookup_hash("phone", "+15551234568")
    old_key = app.config["DATA_ENCRYPTION_KEY"]
    token = privacy.encrypt_text("secret")
    privacy.configure_privacy(f"{Fernet.generate_key().decode()},{old_key}")
    try:
        assert privacy.lookup_hash("phone", "+15551234567") == first  # same lookup key after rotation
        assert privacy.decrypt_text(token) == "secret"  # old data still readable
    finally:
        privacy.configure_privacy(old_key)


def test_wrong_key_refuses_to_decrypt(app) -> None:
    token = privacy.encrypt_text("secret")
    privacy.configure_privacy(Fernet.generate_key().decode())
    try:
        with pytest.raises(privacy.PrivacyNotConfigured):
            privacy.decrypt_text(token)
    finally:
        privacy.configure_privacy(app.config["DATA_ENCRYPTION_KEY"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+63 917 123 4567", "+639171234567"),
        ("whatsapp:+639171234567", "+639171234567"),
        ("0917 123 4567", "+639171234567"),
    ],
)
def test_normalize_phone(raw: str, expected: str) -> None:
    assert privacy.normalize_phone(raw, default_region="PH") == expected


@pytest.mark.parametrize("raw", ["hello", "+1", "12", ""])
def test_normalize_phone_rejects_non_numbers(raw: str) -> None:
    with pytest.raises(privacy.InvalidPhoneNumber):
        privacy.normalize_phone(raw)
