"""Generated identifiers for tests: valid by construction, never taken from a real person."""

from pseudonym.luhn import check_digit


def number(birth: str, nnn: int) -> str:
    """A 12-digit personnummer for YYYYMMDD (day + 60 for a samordningsnummer) with its Luhn digit."""
    core = f"{birth[2:]}{nnn:03d}"
    return f"{birth[:2]}{core}{check_digit(core)}"
