"""Typed errors of the risk library."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleError:
    """One problem in a rule file, with its location (file, line, path inside the document)."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}


class RiskError(Exception):
    """Base class of every error raised by risk/."""


class RuleSetError(RiskError):
    """A rule set was rejected; `errors` lists every problem found, not just the first."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        shown = "\n  ".join(str(e) for e in errors[:50])
        more = f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"rule set rejected with {len(errors)} error(s):\n  {shown}{more}")


class ScreeningError(RiskError):
    """A declaration cannot be screened (e.g. no goods lines, unknown stage)."""


class FollowUpError(RiskError):
    """A follow-up result (scan, lab, quarantine) does not apply to the decision given."""
