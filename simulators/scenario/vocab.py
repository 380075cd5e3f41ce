"""The words a scenario's expectations may use, so `state: relased` is refused before the run instead of
failing as an expectation after it. Declaration states, refund statuses, discrepancy kinds and notice
types are the hub's (tests/scenarios/test_scenario_vocab.py keeps them in step); outcomes come from the
risk library."""

from __future__ import annotations

import difflib

from risk.model import Outcome

DECLARATION_STATES = (
    "received", "held", "submitted", "registered", "inspection", "released", "cleared", "rejected", "refused",
)  # fmt: skip
OUTCOMES = tuple(o.value for o in Outcome)
REFUND_STATUSES = (
    "filed", "accepted", "reviewed", "approved", "treasury_paid", "credited", "returned", "rejected",
)  # fmt: skip
DISCREPANCY_KINDS = ("weight", "packages", "container_not_discharged", "unlisted_container")
# What the hub sends a party (expect.notices[].type is counted from the party's outgoing messages;
# tests/scenarios/test_scenario_vocab.py reads the hub's sends to keep this in step).
NOTICE_TYPES = (
    "DecImportResponse", "DEC_DATA", "MT9999", "InspectionNotice", "ReleaseNotice", "DiscrepancyNotice",
    "RefusalNotice", "DocumentsRequiredNotice", "CompleteDeclarationReminder", "CompleteDeclarationOverdue",
    "Rejection",
)  # fmt: skip


def unknown(where: str, value: str | list[str] | None, allowed: tuple[str, ...], what: str) -> list[str]:
    """One problem per word not in `allowed`, with the closest real one and the full list."""
    words = [] if value is None else [value] if isinstance(value, str) else value
    out = []
    for i, word in enumerate(words):
        at = where if isinstance(value, str) else f"{where}[{i}]"
        if word not in allowed:
            close = difflib.get_close_matches(word, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""  # no '; ': it separates problems
            out.append(f"{at}: unknown {what} {word!r} ({hint}one of: {', '.join(allowed)})")
    return out


FIELDS = {  # expect.<section>: field -> (vocabulary, what)
    "declarations": {
        "state": (DECLARATION_STATES, "state"),
        "passed_through": (DECLARATION_STATES, "state"),
        "outcome": (OUTCOMES, "outcome"),
    },
    "consignments": {"discrepancies": (DISCREPANCY_KINDS, "kind")},
    "notices": {"type": (NOTICE_TYPES, "notice type")},
    "refunds": {"status": (REFUND_STATUSES, "status")},
}


def raw_problems(data: object) -> list[str]:
    """The same checks on the raw file, for when another field's error stops the model from building:
    a type error elsewhere must not hide a misspelt state."""
    expect = data.get("expect") if isinstance(data, dict) else None
    out: list[str] = []
    if not isinstance(expect, dict):
        return out
    for section, fields in FIELDS.items():
        items = expect.get(section)
        for i, item in enumerate(items if isinstance(items, list) else []):
            for name, (allowed, what) in fields.items():
                value = item.get(name) if isinstance(item, dict) else None
                words = isinstance(value, list) and all(isinstance(v, str) for v in value)
                if isinstance(value, str) or words:
                    out += unknown(f"expect.{section}[{i}].{name}", value, allowed, what)
    return out
