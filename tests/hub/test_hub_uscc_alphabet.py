"""USCC alphabet: only ASCII digits and GB 32100-2015 upper-case letters name a party (issue 12 item 8)."""

import pytest

from hub.services.parties import check_party

GOOD = "91370200M3C0BRK01N"


def _problems(uscc: str) -> list[str]:
    return check_party(0, {"uscc": uscc, "name": "x", "roles": ["broker"]})


def test_ascii_uscc_accepted() -> None:
    assert _problems(GOOD) == []


@pytest.mark.parametrize(
    "uscc",
    [
        "91370200M3C0BRK01N".replace("37", "\uff13\uff17"),  # full-width digits
        "91\u0663\u0667\u0660\u0662\u0660\u0660M3C0BRK01N",  # Arabic-Indic digits
        GOOD + "\n",  # trailing newline
        GOOD.lower(),
    ],
)
def test_lookalike_uscc_refused(uscc: str) -> None:
    problems = _problems(uscc)
    assert problems and "uscc" in problems[0]
