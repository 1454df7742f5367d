"""Guards shared by every staff edit of a case: closed cases are read-only (except reopening),
and a stale edit (the case changed since the editor loaded it) is refused, never merged."""

from __future__ import annotations

from casework.models import Case, CaseStatus


class CaseworkError(ValueError):
    """Bad input for a casework operation; nothing was changed."""


class CaseClosed(CaseworkError):
    """The case is closed; reopen it before changing it."""


class StaleCase(CaseworkError):
    """The case changed since the editor loaded it (someone else edited it)."""


def check_version(case: Case, expected_version: int | None) -> None:
    """Raise StaleCase when `expected_version` is given and is not the case's current version."""
    if expected_version is not None and int(expected_version) != case.version:
        raise StaleCase(
            f"case {case.reference} was changed by someone else (version {case.version}, "
            f"you edited version {expected_version}); reload it and try again"
        )


def check_editable(case: Case, expected_version: int | None = None, error: type[CaseworkError] = CaseClosed) -> None:
    """Refuse edits of a closed case (raising `error`) and stale edits (StaleCase)."""
    if case.status == CaseStatus.CLOSED:
        raise error(f"case {case.reference} is closed; reopen it first")
    check_version(case, expected_version)
