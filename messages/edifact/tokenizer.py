"""Decoded text -> list of `Segment`, with C-speed string operations only.

Fast path (no release character in the text): ``str.split`` on the terminator, then on the element
and component separators. When the release character occurs, each escaped pair (``?+ ?: ?' ??``
and ``?*`` in v4) is first replaced by a private-use sentinel with ``str.replace`` (left to right,
non-overlapping: ``??`` first, which resolves runs of release characters correctly); the text is
then split as in the fast path and only the affected components are translated back. No
per-character Python loop anywhere.
"""

from __future__ import annotations

import re

from messages.edifact.errors import EdifactSyntaxError
from messages.edifact.model import Delimiters, Segment, SegmentContext, lazy_segment

# Candidate bases for 6 consecutive sentinel code points (BMP private use, then plane 15/16).
_SENTINEL_BASES = (0xE000, 0xE100, 0xF0000, 0x100000)


def _sentinels(text: str) -> int:
    for base in _SENTINEL_BASES:
        if not any(chr(base + n) in text for n in range(6)):
            return base
    raise EdifactSyntaxError("text contains every private-use sentinel range; cannot unescape")


def _mark_released(text: str, rel: str, sentinel_of: dict[str, str], *, bulk: bool | None = None) -> str:
    """Replace each release pair by the sentinel of the released character.

    Splitting on the release character and walking the chunks costs one Python step per release
    character (rare) instead of one full-text pass per service character. ``??`` releases the
    release character itself; a release before an ordinary character (or at the very end) is kept
    as a literal, lenient like most translators. ``bulk`` forces one of the two equivalent
    strategies (tests); by default the replace passes are used for release-heavy text.
    """
    if bulk if bulk is not None else text.count(rel) > len(text) // 64:
        # Release-heavy text: one C-speed replace pass per pair instead of a Python step per release
        # character. "??" first, so runs of release characters pair up left to right as they should.
        for char, sentinel in sentinel_of.items():
            text = text.replace(rel + char, sentinel)
        return text
    chunks = text.split(rel)
    out = [chunks[0]]
    released_rel = sentinel_of[rel]
    i, n = 1, len(chunks)
    while i < n:
        chunk = chunks[i]
        if not chunk:
            if i + 1 < n:  # "??": a literal release character; the next chunk is plain text
                out.append(released_rel)
                out.append(chunks[i + 1])
                i += 2
                continue
            out.append(rel)  # dangling release character at the end
        else:
            sentinel = sentinel_of.get(chunk[0])
            out.append(sentinel + chunk[1:] if sentinel is not None else rel + chunk)
        i += 1
    return "".join(out)


def tokenize(text: str, delimiters: Delimiters, repetition: bool) -> list[Segment]:
    """Split ``text`` (starting at UNB, UNA removed) into segments.

    Only the terminator split and the tag are done here; data elements are split lazily by
    `Segment` on first access (see `SegmentContext`). ``repetition`` enables the v4 repetition
    separator. Raises `EdifactSyntaxError` when data follows the last segment terminator.
    """
    term = delimiters.terminator
    es = delimiters.element
    rel = delimiters.release
    rs = delimiters.repetition if repetition and delimiters.repetition != " " else ""

    restore: dict[int, str] | None = None
    sentinel_re: re.Pattern[str] | None = None
    if rel and rel in text:
        base = _sentinels(text)
        specials = [rel, term, es, delimiters.component] + ([rs] if rs else [])
        restore = {base + n: char for n, char in enumerate(specials)}
        text = _mark_released(text, rel, {char: chr(base + n) for n, char in enumerate(specials)})
        sentinel_re = re.compile(f"[{chr(base)}-{chr(base + len(specials) - 1)}]")
    ctx = SegmentContext(es, delimiters.component, rs, restore, sentinel_re, delimiters)

    pieces = text.split(term)
    tail = pieces.pop()
    if tail.strip():
        raise EdifactSyntaxError(
            f"data after the last segment terminator {term!r} (truncated interchange?): {tail[:40]!r}",
            segment=len(pieces) + 1,
            tag=tail.lstrip("\r\n")[:3],
        )
    if "\n" in text or "\r" in text:
        # Segment terminators are often followed by CR/LF; those line breaks are not data.
        pieces = [p.lstrip("\r\n") for p in pieces]
    if "" in pieces:
        pieces = [p for p in pieces if p]

    # Tag = first 3 characters when the 4th is the element separator (virtually every segment);
    # anything else goes through the general path.
    segments = [lazy_segment(p[:3], p, ctx) if p[3:4] == es else _odd_segment(p, ctx) for p in pieces]
    return segments


def _odd_segment(piece: str, ctx: SegmentContext) -> Segment:
    """Segment whose tag is not exactly 3 characters followed by a separator (no data elements,
    a malformed tag, or an escaped character in the tag)."""
    tag = piece.split(ctx.element, 1)[0]
    if ctx.restore is not None:
        tag = tag.translate(ctx.restore)
    return lazy_segment(tag, piece, ctx)
