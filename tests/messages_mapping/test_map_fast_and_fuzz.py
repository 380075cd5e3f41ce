"""The fast MT1101 path equals the generic encoder; hostile inputs only raise typed errors."""

from __future__ import annotations

import contextlib
import random

import pytest
from lxml import etree

from messages import xml
from messages.convert import convert, validate
from messages.edifact import write
from messages.errors import MessageError, ValidationFailed
from messages.mapping import model_to_interchange
from messages.mapping.fast_mt1101 import encode_mt1101
from messages.mapping.testing import manifest_cuscar_bytes
from messages.xml import samples


def _canon(data: bytes) -> bytes:
    return etree.tostring(etree.fromstring(data, etree.XMLParser(remove_blank_text=True)), method="c14n")


@pytest.mark.parametrize("shape", [(3, 2), (1, 0), (2, 1)])
def test_fast_mt1101_is_the_generic_encoding(shape: tuple[int, int]) -> None:
    model = samples.mt1101(*shape)
    assert _canon(encode_mt1101(model)) == _canon(xml.encode(model))


def test_fast_mt1101_reports_schema_problems_like_the_generic_path() -> None:
    model = samples.mt1101(1, 1)
    model.declaration.declaration_office_id = "QD"  # not 4 digits
    with pytest.raises(ValidationFailed) as info:
        encode_mt1101(model)
    assert "DeclarationOfficeID" in " ".join(str(i) for i in info.value.issues)
    model = samples.mt1101(1, 1)
    model.declaration.consignments[0].consignor.name = "bad\x01char"
    with pytest.raises(ValidationFailed) as info:
        encode_mt1101(model)
    assert any("Consignor/Name" in i.location for i in info.value.issues)


def _payloads() -> list[bytes]:
    base = manifest_cuscar_bytes(4)
    coarri = write(model_to_interchange([samples.mt5101()]))
    rng = random.Random(7)
    out: list[bytes] = []
    for data in (base, coarri):
        out += [data[:k] for k in range(0, len(data), max(1, len(data) // 40))]
        lines = data.split(b"'")
        for _ in range(15):
            shuffled = lines[:2] + rng.sample(lines[2:], len(lines) - 2)
            out.append(b"'".join(shuffled))
        for _ in range(15):
            flipped = bytearray(data)
            for _ in range(5):
                flipped[rng.randrange(len(flipped))] = rng.randrange(256)
            out.append(bytes(flipped))
    out += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) for _ in range(20)]
    out += [b"UNB+UNOY:3+A+B+261122:1200+1'UNH+1+CUSCAR:D:95B:UN'BGM+85'UNT+2+1'UNZ+1+1'", b"<Manifest/>"]
    return out


def test_fuzzed_inputs_only_raise_message_errors() -> None:
    for data in _payloads():
        with contextlib.suppress(MessageError):  # anything else (IndexError, KeyError...) fails
            convert(data)
        issues = validate(data)  # never raises
        assert isinstance(issues, list)


def test_validate_lists_structure_and_mapping_problems_with_locations() -> None:
    data = (
        manifest_cuscar_bytes(3)
        .replace(b"GID+1+", b"GID+X+", 1)
        .replace(b"MEA+AAE+G+KGM:", b"MEA+AAE+G+KGM:1,5.", 1)  # comma AND point: no number
    )
    issues = validate(data)
    assert any("goods item number 'X'" in i.message and "(GID)" in i.location for i in issues)
    assert any("gross mass" in i.message for i in issues)
    assert validate(manifest_cuscar_bytes(3)) == []
