"""Syntax identifiers (UNB S001 0001) and the Python codecs / repertoires behind them.

UNOA and UNOB are ISO 646 subsets: we decode them as ASCII and then check the repertoire with one
compiled regex (no per-character Python loop). Everything else maps to a stdlib codec. A per-call
``encoding`` override (e.g. ``gbk`` for legacy partners that declare UNOC but send GBK) bypasses the
mapping and the repertoire check: the partner profile is trusted over the header.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# ISO 9735 level A: upper-case letters, digits, space and . , - ( ) / = ' + : ? ! " % & * ; < >
_LEVEL_A = "A-Z0-9 .,\\-()/='+:?!\"%&*;<>"
# Level B adds lower-case letters; without UNA it uses the information separators IS1..IS4.
_LEVEL_B = _LEVEL_A + "a-z\x1c\x1d\x1e\x1f"

_INVALID = {
    "UNOA": re.compile(f"[^{_LEVEL_A}\r\n]"),
    "UNOB": re.compile(f"[^{_LEVEL_B}\r\n]"),
}

CODECS: dict[str, str] = {
    "UNOA": "ascii",
    "UNOB": "ascii",
    "UNOC": "latin-1",
    "UNOD": "iso8859-2",
    "UNOE": "iso8859-5",
    "UNOF": "iso8859-7",
    "UNOG": "iso8859-3",
    "UNOH": "iso8859-4",
    "UNOI": "iso8859-6",
    "UNOJ": "iso8859-8",
    "UNOK": "iso8859-9",
    "UNOX": "iso2022_jp",
    "UNOY": "utf-8",
    "UNOW": "utf-8",
    "KECA": "euc_kr",
}


@dataclass(frozen=True, slots=True)
class Charset:
    syntax_id: str
    codec: str
    repertoire: re.Pattern[str] | None  # finds the first character outside the repertoire

    def invalid_char(self, text: str, extra_allowed: str = "") -> re.Match[str] | None:
        """First character outside the repertoire (service characters from UNA are allowed)."""
        if self.repertoire is None:
            return None
        for match in self.repertoire.finditer(text):
            if match.group() not in extra_allowed:
                return match
        return None


def known_syntax_ids() -> list[str]:
    return sorted(CODECS)


def charset_for(syntax_id: str, override: str | None = None) -> Charset | None:
    """The charset to decode/encode with; ``None`` for an unknown syntax id without override."""
    if override:
        return Charset(syntax_id, codecs.lookup(override).name, None)
    codec = CODECS.get(syntax_id.upper())
    if codec is None:
        return None
    return Charset(syntax_id, codec, _INVALID.get(syntax_id.upper()))
