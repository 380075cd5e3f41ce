"""Any supported message, XML or EDIFACT, to canonical models (for screening and workflows)."""

from __future__ import annotations

from messages import edifact, xml
from messages.detect import detect
from messages.errors import ValidationFailed, ValidationIssue
from messages.mapping import message_to_model
from messages.partners import DEFAULT_PARTNER, Partner


def decode_models(
    data: bytes, *, encoding: str | None = None, partner: Partner | None = None, max_bytes: int = 10 * 2**20
) -> list[object]:
    """One canonical model per message: an XML document gives one, an interchange one per UNH.

    Raises the codecs' typed errors; ValidationFailed lists every problem of every message."""
    partner = partner or DEFAULT_PARTNER
    if detect(data, max_bytes=max_bytes).format == "xml":
        return [xml.decode(data, max_bytes=max_bytes)]
    interchange = edifact.read(data, encoding=encoding or partner.encoding, max_bytes=max_bytes)
    models: list[object] = []
    issues: list[ValidationIssue] = []
    for message in interchange.all_messages():
        try:
            models.append(message_to_model(message, interchange, partner))
        except ValidationFailed as exc:
            issues.extend(exc.issues)
    if issues:
        raise ValidationFailed(issues)
    return models
