"""Hypothesis against the Twilio webhooks: correctly signed random and hostile forms never get
a 5xx, and a refused request stores nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import Session, select

from casework.models import Message
from tests.channels.conftest import ACCOUNT_SID, sign

VALID = {
    "MessageSid": "SM" + "a" * 32,
    "AccountSid": ACCOUNT_SID,
    "From": "+639171234567",
    "To": "+15005550006",
    "Body": "hello",
    "NumMedia": "0",
}
HOSTILE = st.sampled_from(
    [
        "",
        "\x00",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "whatsapp:+1",
        "+0",
        "9" * 40,
        "https://evil.test/x",
        "\ud7ff\ufeff\u202e",
        "-1",
        "11",
        "SM" + "z" * 32,
        "MM" + "0" * 32,
    ]
)
VALUES = st.one_of(HOSTILE, st.text(max_size=60), st.text(min_size=4000, max_size=4200, alphabet="ab é"))
FIELDS = st.sampled_from([*VALID, "WaId", "MediaUrl0", "MediaContentType0", "ProfileName", "X"])


def stored(session: Session) -> int:
    count = int(session.exec(select(func.count()).select_from(Message)).one())
    session.rollback()  # end the read transaction: on SQLite it would block the webhook's commit
    return count


@given(
    path=st.sampled_from(["/channels/twilio/sms", "/channels/twilio/whatsapp", "/channels/twilio/status"]),
    changes=st.dictionaries(FIELDS, VALUES, max_size=4),
    dropped=st.sets(st.sampled_from(list(VALID)), max_size=2),
    sid=st.integers(0, 2**128 - 1),
)
@settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_signed_random_forms_never_5xx_and_refusals_store_nothing(
    client: Any, session: Session, path: str, changes: dict[str, str], dropped: set[str], sid: int
) -> None:
    form = {**VALID, "MessageSid": f"SM{sid:032x}", **changes}
    for name in dropped:
        form.pop(name, None)
    before = stored(session)
    response = client.post(
        path,
        data="&".join(f"{quote(k)}={quote(v)}" for k, v in form.items()),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign(path, form)},
    )
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.is_json and response.get_json()["error"]
        assert stored(session) == before


@given(
    raw=st.binary(max_size=2000),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/json",
        ]
    ),
)
@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_raw_bodies_in_any_encoding_never_5xx_and_store_nothing(
    client: Any, session: Session, raw: bytes, content_type: str
) -> None:
    before = stored(session)
    response = client.post(
        "/channels/twilio/sms", data=raw, content_type=content_type, headers={"X-Twilio-Signature": "forged"}
    )
    assert response.status_code in (400, 403, 413, 415), response.status_code
    assert stored(session) == before
