"""The workflow's shape (issue 13 item 1): one handler function per inbound message type, the
DEC_DATA channels as a rule table whose order decides, and handlers kept small."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from hub.db.clearance_tables import ClrDeclaration
from hub.services import intake
from hub.services.clearance import workflow
from hub.services.clearance.workflow import customs_answers

WORKFLOW_DIR = Path(workflow.__file__).parent


def test_every_message_type_intake_accepts_has_exactly_one_handler() -> None:
    assert set(workflow.HANDLERS) == set(intake.SENDERS)
    for message_type, handler in workflow.HANDLERS.items():
        assert inspect.isfunction(handler), message_type
        assert list(inspect.signature(handler).parameters)[:2] == ["ctx", "sender"], message_type


def test_no_function_of_the_workflow_is_long() -> None:
    """A guard on the decomposition: the old workflow class had 80-line methods."""
    long = []
    for path in sorted(WORKFLOW_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno >= 60:
                long.append(f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert long == []


def _row(state: str, kind: str = "summary", inspection: dict | None = None) -> ClrDeclaration:
    return ClrDeclaration(id="D1", kind=kind, state=state, inspection=inspection, bill_no="B1")


DOCUMENTS_HOLD = {"stage": 2, "hold": "documents_required", "result": "PENDING", "needs_result": True}


def _rule_for(channel: str, row: ClrDeclaration) -> str | None:
    rule = next((r for r in customs_answers.CHANNEL_RULES if channel in r.channels and r.applies(row)), None)
    return rule.act.__name__ if rule else None


@pytest.mark.parametrize(
    ("channel", "row", "expected"),
    [
        # G is both "documents examined" and a registration: an open documents hold takes it first
        ("G", _row("submitted", "complete", DOCUMENTS_HOLD), "_documents_checked"),
        ("G", _row("submitted", "complete"), "_registered"),
        ("Sp1", _row("registered", "complete", DOCUMENTS_HOLD), "_documents_missing"),
        ("Sp1", _row("registered", "complete"), None),
        ("SpL", _row("submitted"), "_registered"),
        ("SpL", _row("registered"), None),  # registered already: nothing to do
        ("E", _row("registered"), "_rejected"),
        ("E", _row("cleared"), None),
        ("SpC", _row("released"), "_customs_inspects"),
        ("SpC", _row("registered", "complete"), None),  # customs inspects at stage 1 only
        ("R", _row("released"), "_cleared"),
        ("R", _row("rejected"), None),
        ("X9", _row("submitted"), None),  # a channel the hub does not act on: forwarded only
    ],
)
def test_dec_data_channel_rules_pick_the_first_that_applies(
    channel: str, row: ClrDeclaration, expected: str | None
) -> None:
    assert _rule_for(channel, row) == expected
