"""Replace one "## ..." section of docs/benchmarks.md in place (appended when new), leaving the rest."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def replace_section(heading: str, lines: list[str], docs: Path = DOCS) -> None:
    section = "\n".join(lines).rstrip("\n") + "\n"
    text = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
    start = text.find(heading + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + (text[end:] if end >= 0 else "")
    docs.write_text(text, encoding="utf-8")
    print(f"updated {heading} in {docs}")
