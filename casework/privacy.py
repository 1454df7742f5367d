"""Personal data at rest: field encryption, keyed hashes for lookup, phone normalisation.

`configure_privacy(key)` is called once by the app factory (and by the worker); the
`EncryptedText` column type then encrypts on write and decrypts on read, so no code path
can store a phone number or a message body in clear by forgetting a call.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


class PrivacyNotConfigured(RuntimeError):
    """Encrypted data was touched before `configure_privacy` ran."""


@dataclass(frozen=True)
class _Keys:
    cipher: MultiFernet
    lookup_key: bytes


_keys: _Keys | None = None


def configure_privacy(data_encryption_key: str) -> None:
    """Install the keys: comma-separated Fernet keys, the first encrypts, all decrypt.

    The lookup (keyed-hash) key is derived with HKDF from the *last* key in the list, so
    adding a new encryption key in front for rotation keeps every stored lookup hash valid.
    """
    global _keys
    key_list = [k.strip() for k in data_encryption_key.split(",") if k.strip()]
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tulay lookup hash v1")
    _keys = _Keys(
        cipher=MultiFernet([Fernet(k.encode()) for k in key_list]),
        lookup_key=hkdf.derive(key_list[-1].encode()),
    )


def _require_keys() -> _Keys:
    if _keys is None:
        raise PrivacyNotConfigured("configure_privacy() has not been called")
    return _keys


def encrypt_text(value: str) -> str:
    return _require_keys().cipher.encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    try:
        return _require_keys().cipher.decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise PrivacyNotConfigured("stored data cannot be decrypted with DATA_ENCRYPTION_KEY") from None


def encrypt_bytes(value: bytes) -> bytes:
    """Encrypt a file's content (media a reporter sent) for storage at rest."""
    return _require_keys().cipher.encrypt(value)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _require_keys().cipher.decrypt(token)
    except InvalidToken:
        raise PrivacyNotConfigured("stored data cannot be decrypted with DATA_ENCRYPTION_KEY") from None


def lookup_hash(kind: str, value: str) -> str:
    """Keyed hash (HMAC-SHA256) used to find a record by a personal value without storing it."""
    digest = hmac.new(_require_keys().lookup_key, f"{kind}:{value}".encode(), hashlib.sha256)
    return digest.hexdigest()


def normalize_name(name: str) -> str:
    """The comparable form of a person's or organisation's name: NFKC, spaces collapsed, casefolded."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", name)).strip().casefold()


def employer_key(name: str) -> str:
    """Keyed hash of an employer's name (`Case.employer_pseudonym`), however it was capitalised or spaced."""
    return lookup_hash("employer", normalize_name(name))


class EncryptedText(TypeDecorator[str]):
    """A text column stored as a Fernet token (authenticated encryption)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else encrypt_text(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else decrypt_text(value)


class InvalidPhoneNumber(ValueError):
    """The text is not a dialable phone number."""


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """Return the E.164 form of `raw`, or raise InvalidPhoneNumber."""
    candidate = raw.strip()
    if candidate.startswith("whatsapp:"):
        candidate = candidate[len("whatsapp:") :]
    try:
        number = phonenumbers.parse(candidate, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneNumber("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


MASK = "•••"


def mask_phone(e164: str) -> str:
    """`+639171234567` → "+63 ••• ••• 4567": the country code and the last digits only, for display."""
    try:
        number = phonenumbers.parse(e164.removeprefix("whatsapp:"), None)
        prefix, national = f"+{number.country_code}", str(number.national_number)
    except phonenumbers.NumberParseException:
        prefix, national = "", re.sub(r"\D", "", e164)
    tail = national[-4:] if len(national) >= 8 else national[-2:]
    return " ".join(part for part in (prefix, MASK, MASK, tail) if part)
