"""Staff identity: argon2 password hashes, Flask-Login sessions, roles, API tokens, CSRF.

A console session is valid while three things hold, checked by the user loader on every
request: its nonce is still the user's `session_nonce` (sign-out, a new password and
deactivation rotate it, so every copy of the cookie dies), it has had a request within
`CONSOLE_IDLE_MINUTES`, and it began less than `CONSOLE_SESSION_HOURS` ago. Both times are
kept in the signed session and compared on the server. There is no remember-me cookie: one
could only name a user, never carry the nonce, so the loader refuses it.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import wraps
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, current_app
from flask import session as flask_session
from flask_login import LoginManager, UserMixin, current_user, login_user
from flask_wtf import CSRFProtect
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from app.db import get_session
from casework.models import ApiToken, Role, StaffUser, new_session_nonce, utcnow

login_manager = LoginManager()
csrf = CSRFProtect()
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
# What a console session keeps beside Flask-Login's `_user_id`: the user's nonce at sign-in,
# when it signed in and when it last made a request (Unix seconds).
SESSION_NONCE = "staff_nonce"
SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen"


class StaffSessionUser(UserMixin):
    """What Flask-Login keeps for a signed-in staff member (no ORM object across requests)."""

    def __init__(self, user: StaffUser) -> None:
        assert user.id is not None
        self.id = user.id
        self.email = user.email
        self.role = Role(user.role)
        self.languages = list(user.languages)
        self.display_name = user.display_name
        self.interface_language = user.interface_language

    def get_id(self) -> str:
        return str(self.id)


class WeakPassword(ValueError):
    """The password is too short."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(user: StaffUser, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    session: Session,
    *,
    email: str,
    role: Role | str,
    password: str,
    languages: list[str],
    display_name: str = "",
    team: str | None = None,
    is_supervisor: bool = False,
) -> StaffUser:
    """Add a staff user (not committed). Raises ValueError for a bad role, e-mail or password."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise ValueError(f"not an e-mail address: {email!r}")
    try:
        role = Role(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}") from None
    if session.exec(select(StaffUser).where(StaffUser.email == email)).first() is not None:
        raise ValueError(f"a user with e-mail {email} already exists")
    user = StaffUser(
        email=email,
        role=role,
        password_hash=hash_password(password),
        languages=languages,
        display_name=display_name or email.split("@")[0],
        team=team,
        is_supervisor=is_supervisor,
    )
    session.add(user)
    session.flush()
    return user


def token_digest(token: str) -> str:
    # API tokens are 256-bit random values, so a fast hash is enough (no offline guessing).
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(session: Session, user: StaffUser) -> str:
    """Create a token for `user` and return it; only its hash is stored."""
    assert user.id is not None, "the user must be stored first"
    token = "tly_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(token)))
    return token


def user_for_token(session: Session, token: str) -> StaffUser | None:
    row = session.exec(
        select(ApiToken).where(ApiToken.token_hash == token_digest(token), col(ApiToken.revoked_at).is_(None))
    ).first()
    if row is None:
        return None
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = utcnow()
    session.add(row)
    return user


def claim_totp_step(session: Session, user: StaffUser, step: int) -> bool:
    """Record `step` as the last TOTP time step accepted for `user`, unless it or a later one was.

    One conditional UPDATE, so two processes given the same code can't both accept it. Not
    committed: the request owns the transaction.
    """
    result = session.exec(
        update(StaffUser)
        .where(
            col(StaffUser.id) == user.id,
            or_(col(StaffUser.totp_last_step).is_(None), col(StaffUser.totp_last_step) < step),
        )
        .values(totp_last_step=step)
    )
    claimed: bool = result.rowcount == 1
    if claimed:
        user.totp_last_step = step
    return claimed


def start_staff_session(user: StaffUser) -> None:
    """Sign `user` in: a fresh session (nothing set before survives it) bound to their nonce."""
    flask_session.clear()
    login_user(StaffSessionUser(user), remember=False)
    bind_staff_session(user)
    flask_session[SIGNED_IN_AT] = flask_session[LAST_SEEN] = int(time.time())


def bind_staff_session(user: StaffUser) -> None:
    """Carry `user`'s current nonce in this session (after sign-in, or after rotating it here)."""
    flask_session[SESSION_NONCE] = user.session_nonce


def end_staff_sessions(user: StaffUser) -> None:
    """Rotate `user`'s nonce: every session of theirs, and every copy of its cookie, stops working.

    Not committed: the request owns the transaction.
    """
    user.session_nonce = new_session_nonce()


def session_owner(session_store: Mapping[str, Any], *, now: int | None = None) -> StaffUser | None:
    """The active user `session_store` was signed in as, while its nonce is still theirs.

    With `now`, also None once the session has idled past `CONSOLE_IDLE_MINUTES` or outlived
    `CONSOLE_SESSION_HOURS`.
    """
    user_id = session_store.get("_user_id")
    nonce = session_store.get(SESSION_NONCE)
    if not isinstance(user_id, str) or not (user_id.isascii() and user_id.isdigit()) or not isinstance(nonce, str):
        return None
    if now is not None:
        signed_in_at, last_seen = session_store.get(SIGNED_IN_AT), session_store.get(LAST_SEEN)
        if not isinstance(signed_in_at, int) or not isinstance(last_seen, int):
            return None
        if now - signed_in_at > current_app.config["CONSOLE_SESSION_HOURS"] * 3600:
            return None
        if now - last_seen > current_app.config["CONSOLE_IDLE_MINUTES"] * 60:
            return None
    user = get_session().get(StaffUser, int(user_id))
    if user is None or not user.active or not secrets.compare_digest(nonce.encode(), user.session_nonce.encode()):
        return None
    return user


def role_required(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow only signed-in staff with one of `roles` (403 otherwise)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def init_app(app: Flask) -> None:
    # Assigned, not setdefault: Flask's defaults already hold these keys (SameSite None, Secure off).
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config["PUBLIC_BASE_URL"].startswith("https://")
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    # The signed cookie itself is refused once older than a console session may live (Flask's
    # default is 31 days); the loader checks the same limit from the sign-in time.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["CONSOLE_SESSION_HOURS"])
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "console.login" if "console" in app.blueprints else None  # type: ignore[assignment]

    @login_manager.user_loader
    def _load(user_id: str) -> StaffSessionUser | None:
        # Flask-Login puts `user_id` in the session before calling (from the session itself, or
        # from a remember-me cookie, which carries no nonce and so never signs anyone in).
        now = int(time.time())
        user = session_owner(flask_session, now=now)
        if user is None or str(user.id) != user_id:
            flask_session.clear()  # a dead session: drop it, so the browser holds no stale identity
            return None
        flask_session[LAST_SEEN] = now
        return StaffSessionUser(user)
