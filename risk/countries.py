"""Country code normalisation to ISO 3166 alpha-3.

Declarations carry customs country codes: current specs use alpha-3 letters (JPN, KOR), older messages
the 3-digit customs numbers (116 Japan, 133 Korea); partners sometimes send alpha-2. Rules are written
in alpha-3; both sides are normalised so one rule covers all spellings. The tables cover the main
trading partners only; an unknown code passes through upper-cased (and simply matches no rule).
"""

from __future__ import annotations

import re

_CUSTOMS_NUMERIC = {
    "110": "HKG", "112": "IND", "113": "IDN", "116": "JPN", "121": "MAC", "122": "MYS", "129": "PHL",
    "132": "SGP", "133": "KOR", "136": "THA", "141": "VNM", "142": "CHN", "143": "TWN",
    "301": "BEL", "302": "DNK", "303": "GBR", "304": "DEU", "305": "FRA", "306": "IRL", "307": "ITA",
    "309": "NLD", "312": "ESP", "344": "RUS", "402": "ARG", "410": "BRA", "412": "CHL", "429": "PER",
    "501": "CAN", "502": "USA", "601": "AUS", "609": "NZL",
}  # fmt: skip

_ALPHA2 = {
    "HK": "HKG", "IN": "IND", "ID": "IDN", "JP": "JPN", "MO": "MAC", "MY": "MYS", "PH": "PHL",
    "SG": "SGP", "KR": "KOR", "TH": "THA", "VN": "VNM", "CN": "CHN", "TW": "TWN", "BE": "BEL",
    "DK": "DNK", "GB": "GBR", "DE": "DEU", "FR": "FRA", "IE": "IRL", "IT": "ITA", "NL": "NLD",
    "ES": "ESP", "RU": "RUS", "AR": "ARG", "BR": "BRA", "CL": "CHL", "PE": "PER", "CA": "CAN",
    "US": "USA", "AU": "AUS", "NZ": "NZL", "ZA": "ZAF", "MN": "MNG", "KZ": "KAZ", "PK": "PAK",
    "NG": "NGA", "CD": "COD", "CO": "COL", "MX": "MEX", "EC": "ECU", "UA": "UKR", "TR": "TUR",
}  # fmt: skip

ALPHA3 = re.compile(r"^[A-Z]{3}$")


def normalize_country(code: str) -> str:
    """Return the alpha-3 code for an alpha-3, alpha-2 or customs-numeric country code."""
    c = code.strip().upper()
    if c in _CUSTOMS_NUMERIC:
        return _CUSTOMS_NUMERIC[c]
    return _ALPHA2.get(c, c)


def is_country_code(code: str) -> bool:
    """True when the code normalises to an alpha-3 shape (what a rule may name)."""
    return bool(ALPHA3.match(normalize_country(code)))
