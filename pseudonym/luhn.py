"""The Luhn (modulus 10, weights 2-1) check digit used by personnummer, org numbers and reserve numbers."""

from __future__ import annotations

import numpy as np

# Digit sum of 2*v for a digit v (the weight-2 positions); values above 9 are not digits and map to 0.
_DOUBLED = np.zeros(256, dtype=np.uint8)
_DOUBLED[:10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]


def check_digit(values: str | list[int]) -> int:
    """Check digit for a sequence of digit values (a str of digits or ints), weights 2,1,2,… from the left."""
    total = 0
    for i, ch in enumerate(values):
        d = (ord(ch) - 48 if isinstance(ch, str) else int(ch)) * (2 - i % 2)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


def check_digits(values: np.ndarray) -> np.ndarray:
    """Vectorised `check_digit` over an (n, k) array of digit values 0-9 (k <= 12); returns uint8 (n,).

    Works column by column in uint8 (12 columns sum to at most 108), so a column-contiguous array (the transpose
    of a (k, n) array) is the fastest input.
    """
    values = np.asarray(values, dtype=np.uint8)
    total = np.zeros(values.shape[0], dtype=np.uint8)
    for j in range(values.shape[1]):
        total += _DOUBLED[values[:, j]] if j % 2 == 0 else values[:, j]
    return (np.uint8(10) - total % np.uint8(10)) % np.uint8(10)
