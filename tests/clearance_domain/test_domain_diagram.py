"""docs/clearance.md shows the state diagrams drawn from the transition tables, and is current."""

from __future__ import annotations

from pathlib import Path

from hub.services.clearance.domain import diagram
from hub.services.clearance.domain.states import DECLARATION_TRANSITIONS, Transition

DOC = Path(__file__).resolve().parents[2] / "docs" / "clearance.md"


def test_docs_clearance_diagrams_are_current() -> None:
    """Fails when a transition table changed without `python -m hub.services.clearance.domain.diagram
    --write docs/clearance.md`."""
    doc = DOC.read_text(encoding="utf-8")
    assert diagram.BEGIN in doc and diagram.END in doc
    assert diagram.splice(doc) == doc
    assert diagram.main(["--check", str(DOC)]) == 0


def test_every_transition_is_drawn() -> None:
    text = diagram.render()
    for t in DECLARATION_TRANSITIONS:
        assert f"    {t.source} --> {t.target}: " in text
    assert "    [*] --> received" in text and "    refused --> [*]" in text


def test_a_changed_table_makes_the_doc_stale(monkeypatch, tmp_path: Path) -> None:
    copy = tmp_path / "clearance.md"
    copy.write_text(DOC.read_text(encoding="utf-8"), encoding="utf-8")
    extra = (*DECLARATION_TRANSITIONS, Transition("cleared", "received", "never"))
    monkeypatch.setattr(diagram, "DECLARATION_TRANSITIONS", extra)
    assert diagram.main(["--check", str(copy)]) == 1
    assert diagram.main(["--write", str(copy)]) == 0
    assert "cleared --> received: never" in copy.read_text(encoding="utf-8")
    assert diagram.main(["--check", str(copy)]) == 0
