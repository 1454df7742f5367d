"""Staff identity: argon2 password hashes, Flask-Login sessions, roles, API tokens, CSRF."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf import CSRFProtect
from sqlmodel import Session, col, select

from app.db import get_session
from casework.models import ApiToken, Role, StaffUser, utcnow

login_manager = LoginManager()
csrf = CSRFProtect()
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12


class StaffSessionUser(UserMixin):
    """What Flask-Login keeps for a signed-in staff member (no ORM object across requests)."""

    def __init__(self, user: StaffUser) -> None:
        assert user.id is not None
        self.id = user.id
        self.email = user.email
        self.role = Role(user.role)
        self.languages = list(user.languages)
        self.display_name = user.display_name

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
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "console.login" if "console" in app.blueprints else None  # type: ignore[assignment]

    @login_manager.user_loader
    def _load(user_id: str) -> StaffSessionUser | None:
        if not user_id.isdigit():
            return None
        user = get_session().get(StaffUser, int(user_id))
        return StaffSessionUser(user) if user is not None and user.active else None
