"""Fill in what a partner's EDIFACT message leaves out, in a fixed order (docs/mappings.md, "Enrichment").

1. the message itself (already mapped: LOC+22, NAD+TL, LOC+11, DTM+137);
2. what the hub already knows (``known``: passed by the hub's intake only - the manifest of the same
   bill or vessel call, the terminal's registered site);
3. the partner profile's ``defaults``;
4. otherwise the message is refused, naming the segment group and both ways to fix it.

Facts from the envelope (UNB S004 as the preparation time) count as the message itself. ISO 6346
container check digits are checked here too: a warning by default, an error where the profile says
``container_check: error``. Pure library code: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from messages.edifact import GroupNode, Interchange
from messages.errors import ValidationIssue
from messages.iso6346 import is_valid as iso6346_valid
from messages.models.manifest import Location, Manifest
from messages.models.receipts import ManifestResponse
from messages.partners import Partner

if TYPE_CHECKING:
    from messages.mapping.provenance import Sources

# What the hub knows: fixed facts, or a lookup given the mapped model (e.g. the manifest of the
# same bill or vessel call). A lookup is only called when the message leaves a needed fact out.
Known = Mapping[str, str] | Callable[[Manifest], Mapping[str, str]]

# message type -> facts the single-window document needs (XSD-mandatory)
NEEDED: dict[str, tuple[str, ...]] = {
    "MT1101": ("send_time", "customs_office"),
    "MT3101": ("send_time", "customs_office", "unloading_location"),
    "MT5101": ("send_time", "customs_office", "unloading_location", "tally_party"),
    "MT5102": ("send_time", "customs_office", "tally_party"),
}
# fact -> (what the sender would add, in EDIFACT terms)
_HOW: dict[str, str] = {
    "customs_office": "add LOC+22",
    "tally_party": "add NAD+TL",
    "unloading_location": "add LOC+11",
}
_WORDS = {
    "customs_office": "customs office",
    "tally_party": "tally party",
    "unloading_location": "place of unloading",
}


def _tdt_where(tree: GroupNode) -> str:
    node = tree.group("TDT")
    if node is not None:
        return f"segment {node.position} (TDT group)"
    return "segment 2 (BGM)"


def _get(model: Manifest, fact: str) -> str:
    d = model.declaration
    if fact == "customs_office":
        return d.declaration_office_id
    if fact == "tally_party":
        return d.tally_party_id
    if fact == "unloading_location":
        return d.unloading_location.id if d.unloading_location is not None else ""
    return model.head.send_time


def _set(model: Manifest, fact: str, value: str) -> None:
    d = model.declaration
    if fact == "customs_office":
        d.declaration_office_id = value
    elif fact == "tally_party":
        d.tally_party_id = value
    elif fact == "unloading_location":
        d.unloading_location = Location(value)


def _note_filled(model: Manifest, fact: str, where: str, sources: Sources) -> None:
    d = model.declaration
    if fact == "customs_office":
        sources.text(d, "declaration_office_id", where)
    elif fact == "tally_party":
        sources.text(d, "tally_party_id", where)
    elif fact == "unloading_location" and d.unloading_location is not None:
        for obj, attr in (
            (d, "unloading_location"),
            (d.unloading_location, ""),
            (d.unloading_location, "id"),
        ):
            sources.text(obj, attr, where)


def _envelope_time(prepared: datetime | None) -> str:
    return prepared.strftime("%Y%m%d%H%M") + "00000" if prepared is not None else ""


def enrich(
    model: object,
    tree: GroupNode,
    interchange: Interchange,
    partner: Partner,
    *,
    known: Known | None = None,
    sources: Sources | None = None,
) -> tuple[list[ValidationIssue], list[ValidationIssue]]:
    """Fill missing facts of ``model`` in place; return (errors, warnings), located in the input.
    ``sources`` (optional) is told where each filled fact came from instead of the message."""
    errors: list[ValidationIssue] = []
    warnings: list[ValidationIssue] = []
    _check_containers(tree, partner, errors, warnings)
    if isinstance(model, ManifestResponse) and not model.head.send_time:
        # a customs response without DTM+137: its preparation time is in UNB S004, as for terminals
        model.head.send_time = _envelope_time(interchange.prepared)
        if sources is not None and model.head.send_time:
            sources.text(model.head, "send_time", f"{sources.label} has no DTM+137, filled from UNB S004")
    if not isinstance(model, Manifest):
        return errors, warnings
    mt = model.head.message_type
    if mt in ("MT5101", "MT3101") and model.declaration.loading_location is not None:
        # a discharge or gate-in report names where the box was (or will be) loaded; neither
        # MT5101 nor MT3101 has an element for it
        warnings.append(
            ValidationIssue(
                _tdt_where(tree),
                f"LOC+9 {model.declaration.loading_location.id!r} (place of loading) is not carried by "
                f"{mt} and was left out",
            )
        )
        model.declaration.loading_location = None
    if mt in ("MT5101", "MT5102") and not model.declaration.consignments:
        # a tally report lists containers under their bills; empties alone make no tally report
        # (before, this was an internal error: the generated document failed its schema)
        errors.append(
            ValidationIssue(
                _tdt_where(tree),
                f"no bill of lading in any EQD group: {mt} lists containers under their bills: "
                "add RFF+BM to the EQD group of each container",
            )
        )
    arrival = _gate_in_date(model, tree, warnings) if mt == "MT3101" else ""
    hub_facts: Mapping[str, str] | None = None
    for fact in NEEDED.get(mt, ()):
        if _get(model, fact):
            continue
        if fact == "send_time":
            value = _envelope_time(interchange.prepared)
            if value:
                model.head.send_time = value
                if sources is not None:
                    sources.text(
                        model.head, "send_time", f"{sources.label} has no DTM+137, filled from UNB S004"
                    )
            continue
        if hub_facts is None:
            hub_facts = (known(model) if callable(known) else known) or {}
        value = hub_facts.get(fact, "") or partner.defaults.get(fact, "")
        if value:
            _set(model, fact, value)
            if sources is not None:
                origin = (
                    "what the hub already knows"
                    if hub_facts.get(fact)
                    else f"partner profile {partner.name!r} defaults.{fact}"
                )
                _note_filled(
                    model, fact, f"{sources.label} has no {_HOW[fact][4:]}, filled from {origin}", sources
                )
            continue
        errors.append(
            ValidationIssue(
                _tdt_where(tree),
                f"no {_WORDS[fact]}: {_HOW[fact]} or set defaults.{fact} in partner profile {partner.name!r}",
            )
        )
    place = model.declaration.unloading_location
    if arrival and place is not None and not place.date_time:
        place.date_time = arrival
        why = "no DTM+232: the arrival date is the containers' gate-in time (DTM+7)"
        warnings.append(ValidationIssue(_tdt_where(tree), f"{why} {arrival}"))
        if sources is not None:
            sources.text(place, "date_time", f"{sources.label} has {why}")
    return errors, warnings


def _gate_in_date(model: Manifest, tree: GroupNode, warnings: list[ValidationIssue]) -> str:
    """MT3101 UnloadingLocation/ArrivalDate(Time) from the containers' gate-in times (DTM+7, or
    DTM+203 as SMDG guides qualify it) when the TDT group has no DTM+232, as terminal systems
    fill it: one time -> ArrivalDateTime; several on one day -> ArrivalDate; several days -> left
    out with a warning. Returned, and set once the place of unloading is known (it may come from
    the profile)."""
    place = model.declaration.unloading_location
    if place is not None and place.date_time:
        return ""
    stamps: list[tuple[str, str]] = []  # (value, location)
    for node in tree.groups("EQD"):
        flat = node.segments[1:] + [s for child in node.children for s in child.segments]
        for seg in flat:
            if seg.tag == "DTM" and seg.get(0) in ("7", "203") and seg.get(0, 2) in ("203", "204", ""):
                stamps.append((seg.get(0, 1), f"segment {node.position} (EQD)"))
                break
    values = {v for v, _ in stamps if v.isdigit() and len(v) in (12, 14)}
    if not values:
        return ""
    if len(values) == 1:
        return next(iter(values)).ljust(14, "0")
    if len({v[:8] for v in values}) == 1:
        return next(iter(values))[:8]
    warnings.append(
        ValidationIssue(
            stamps[0][1],
            "the containers passed the gate on different days (DTM+7): MT3101 carries one "
            "arrival date, left out",
        )
    )
    return ""


def _check_containers(
    tree: GroupNode, partner: Partner, errors: list[ValidationIssue], warnings: list[ValidationIssue]
) -> None:
    for node in tree.walk():
        if node.trigger != "EQD":
            continue
        seg = node.segments[0]
        number = seg.get(1)
        if seg.get(0) != "CN" or not number or iso6346_valid(number):
            continue
        issue = ValidationIssue(
            f"segment {node.position} (EQD+CN)",
            f"container number {number!r} fails the ISO 6346 check digit",
        )
        (errors if partner.container_check == "error" else warnings).append(issue)
