"""Staff accounts: deactivation, roles, password changes and resets, TOTP reset, API tokens.

Every change is one `CaseEvent` without a case (`staff_…` actions), naming the account by id
and the actor by id: never an e-mail, a password, a token or a TOTP secret. Callers own the
transaction, so the event commits or rolls back with the change.

Passwords are hashed and checked by the caller's functions (`app.security` holds the argon2
policy); this module only decides what changes. A new password or a change of `active` rotates
the account's session nonce (a listener in `casework.models`), so every console session of
the account ends at its next request.

A password-reset link carries a 256-bit random token. Only its SHA-256 is stored (nothing to
guess offline), it expires after `RESET_LIFETIME`, and it is claimed by one conditional
UPDATE, so it works once even under two simultaneous posts.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from casework.audit import record_event
from casework.models import ApiToken, PasswordReset, Role, StaffUser, new_session_nonce, utcnow

RESET_LIFETIME = timedelta(hours=1)
RESET_TOKEN_PREFIX = "tlr_"  # noqa: S105 - a marker, not a secret

HashPassword = Callable[[str], str]
VerifyPassword = Callable[[StaffUser, str], bool]


class StaffError(ValueError):
    """A change to a staff account that is refused; the message says why (no secrets in it)."""


class UnknownUser(StaffError):
    pass


class UnknownRole(StaffError):
    pass


class LastAdmin(StaffError):
    pass


class WrongPassword(StaffError):
    pass


class InvalidResetToken(StaffError):
    pass


class UnknownToken(StaffError):
    pass


def _audit(session: Session, action: str, user: StaffUser, actor_id: int | None, **detail: Any) -> None:
    record_event(
        session,
        action=action,
        actor_id=actor_id,
        actor_kind="staff" if actor_id else "system",
        user_id=user.id,
        **detail,
    )


def find_user(session: Session, email: str) -> StaffUser:
    """The account with this e-mail (any letter case); UnknownUser otherwise."""
    email = email.strip().lower()
    user = session.exec(select(StaffUser).where(StaffUser.email == email)).first() if email else None
    if user is None:
        raise UnknownUser(f"no staff user with e-mail {email}")
    return user


def get_user(session: Session, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise UnknownUser(f"no staff user with id {user_id}")
    return user


def list_users(session: Session) -> list[StaffUser]:
    """Every account, active ones first, then by e-mail."""
    statement = select(StaffUser).order_by(col(StaffUser.active).desc(), col(StaffUser.email))
    return list(session.exec(statement).all())


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise UnknownRole(f"unknown role {value!r}; choose one of {', '.join(r.value for r in Role)}") from None


def _other_active_admins(session: Session, user: StaffUser) -> int:
    statement = select(StaffUser.id).where(
        StaffUser.role == Role.ADMIN, col(StaffUser.active).is_(True), StaffUser.id != user.id
    )
    return len(session.exec(statement).all())


def _refuse_losing_last_admin(session: Session, user: StaffUser) -> None:
    if user.active and Role(user.role) == Role.ADMIN and _other_active_admins(session, user) == 0:
        raise LastAdmin("this is the last active admin: make another admin first")


def active_api_tokens(session: Session, user: StaffUser) -> list[ApiToken]:
    statement = (
        select(ApiToken)
        .where(ApiToken.user_id == user.id, col(ApiToken.revoked_at).is_(None))
        .order_by(col(ApiToken.created_at), col(ApiToken.id))
    )
    return list(session.exec(statement).all())


def _revoke_all_tokens(session: Session, user: StaffUser, now: datetime) -> int:
    result = session.exec(  # type: ignore[call-overload]
        update(ApiToken)
        .where(col(ApiToken.user_id) == user.id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)


def _cancel_resets(session: Session, user: StaffUser, now: datetime) -> None:
    session.exec(  # type: ignore[call-overload]
        update(PasswordReset)
        .where(col(PasswordReset.user_id) == user.id, col(PasswordReset.used_at).is_(None))
        .values(used_at=now)
    )


def deactivate(session: Session, user: StaffUser, *, actor_id: int | None, now: datetime | None = None) -> None:
    """End the account: it can't sign in, its console sessions end at their next request, its API
    tokens and unused reset links stop working at once."""
    if not user.active:
        raise StaffError("this account is already deactivated")
    _refuse_losing_last_admin(session, user)
    now = now or utcnow()
    user.active = False  # rotates the session nonce (models listener)
    session.add(user)
    revoked = _revoke_all_tokens(session, user, now)
    _cancel_resets(session, user, now)
    _audit(session, "staff_deactivated", user, actor_id, tokens_revoked=revoked)
    session.flush()


def reactivate(session: Session, user: StaffUser, *, actor_id: int | None) -> None:
    """Let a deactivated account sign in again. What deactivation ended stays ended: its old
    sessions, API tokens and reset links never work again; with two-step sign-in on, a code is
    still asked for."""
    if user.active:
        raise StaffError("this account is already active")
    user.active = True  # rotates the session nonce again (models listener)
    session.add(user)
    _audit(session, "staff_reactivated", user, actor_id)
    session.flush()


def set_role(session: Session, user: StaffUser, role: Role | str, *, actor_id: int | None) -> Role:
    """Give `user` another role; it applies from their next request (the role is read each time)."""
    new = role if isinstance(role, Role) else parse_role(role)
    old = Role(user.role)
    if new == old:
        return new
    if old == Role.ADMIN:
        _refuse_losing_last_admin(session, user)
    user.role = new
    session.add(user)
    _audit(session, "staff_role_changed", user, actor_id, old_role=old.value, new_role=new.value)
    session.flush()
    return new


def reset_totp(session: Session, user: StaffUser, *, actor_id: int | None) -> None:
    """Turn two-step sign-in off (a lost device); the user can enrol again. Their sessions end.

    The last accepted time step is kept, so an old code still works nowhere.
    """
    was_on = user.totp_secret is not None
    user.totp_secret = None
    user.session_nonce = new_session_nonce()
    session.add(user)
    _audit(session, "staff_totp_reset", user, actor_id, was_on=was_on)
    session.flush()


def reset_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_password_reset(
    session: Session, user: StaffUser, *, actor_id: int | None, now: datetime | None = None
) -> tuple[str, datetime]:
    """A new one-time reset token for `user` and when it expires; earlier unused ones stop working.

    Only its hash is stored: the caller shows the token once and keeps it nowhere.
    """
    if not user.active:
        raise StaffError("this account is deactivated: no reset link for it")
    assert user.id is not None
    now = now or utcnow()
    _cancel_resets(session, user, now)
    token = RESET_TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = now + RESET_LIFETIME
    session.add(PasswordReset(user_id=user.id, token_hash=reset_digest(token), created_at=now, expires_at=expires_at))
    _audit(session, "staff_password_reset_issued", user, actor_id)
    session.flush()
    return token, expires_at


def pending_reset(session: Session, token: str, *, now: datetime | None = None) -> PasswordReset:
    """The unused, unexpired reset of an active account that `token` is; InvalidResetToken otherwise.

    One answer for every failure (unknown, used, expired, deactivated account), so a caller
    learns nothing by trying.
    """
    now = now or utcnow()
    invalid = InvalidResetToken("this reset link is not valid: it is unknown, used or expired")
    if not token.startswith(RESET_TOKEN_PREFIX) or len(token) > 128 or not token.isascii():
        raise invalid
    row = session.exec(select(PasswordReset).where(PasswordReset.token_hash == reset_digest(token))).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise invalid
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.active:
        raise invalid
    return row


def complete_password_reset(
    session: Session, token: str, new_password: str, *, hash_password: HashPassword, now: datetime | None = None
) -> StaffUser:
    """Set a new password through a reset token, which is then spent. Ends every session and
    clears a lockout. A weak password (the hasher raises ValueError) spends nothing."""
    now = now or utcnow()
    row = pending_reset(session, token, now=now)
    new_hash = hash_password(new_password)  # raises before anything changes
    claimed = session.exec(  # type: ignore[call-overload]
        update(PasswordReset)
        .where(col(PasswordReset.id) == row.id, col(PasswordReset.used_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        raise InvalidResetToken("this reset link is not valid: it is unknown, used or expired")
    user = get_user(session, row.user_id)
    user.password_hash = new_hash  # rotates the session nonce (models listener)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    _cancel_resets(session, user, now)
    _audit(session, "staff_password_reset_completed", user, None)
    session.flush()
    return user


def change_password(
    session: Session,
    user: StaffUser,
    *,
    current_password: str,
    new_password: str,
    verify_password: VerifyPassword,
    hash_password: HashPassword,
) -> None:
    """Change one's own password, given the current one (WrongPassword otherwise). Every session of
    the account ends; the caller re-binds the one making the change."""
    if not current_password or not verify_password(user, current_password):
        raise WrongPassword("the current password is wrong")
    user.password_hash = hash_password(new_password)
    session.add(user)
    _cancel_resets(session, user, utcnow())
    _audit(session, "staff_password_changed", user, user.id)
    session.flush()


def revoke_api_token(session: Session, user: StaffUser, token_id: int, *, actor_id: int | None) -> None:
    """Revoke one of `user`'s API tokens; someone else's token is UnknownToken, like a missing one."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise UnknownToken("no such API token")
    row.revoked_at = utcnow()
    session.add(row)
    _audit(session, "staff_api_token_revoked", user, actor_id, token_id=token_id)
    session.flush()
