"""Our ISO 6346 check against python-stdnum's, the reference implementation, on generated numbers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso6346 as reference

from messages.iso6346 import check_digit, is_valid

letters = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3)
category = st.sampled_from("UJZR")
serial = st.text(alphabet="0123456789", min_size=6, max_size=6)
digit = st.sampled_from("0123456789")


@given(letters, category, serial, digit)
def test_agrees_with_stdnum_on_every_shape_and_digit(owner: str, cat: str, number: str, last: str) -> None:
    candidate = owner + cat + number + last
    assert is_valid(candidate) == reference.is_valid(candidate)
    assert check_digit(candidate[:10]) == reference.calc_check_digit(candidate[:10])


def test_published_examples() -> None:
    assert is_valid("CSQU3054383")
    assert is_valid("csqu 305438 3")  # case and spaces as people write them
    assert not is_valid("CSQU3054384")  # wrong check digit
    assert is_valid("TASU1170000")


def test_malformed_numbers_are_invalid_not_errors() -> None:
    for bad in ("", "CSQU305438", "CSQX3054383", "C5QU3054383", "CSQU30543833", "ＣＳＱＵ3054383"):
        assert not is_valid(bad), bad
