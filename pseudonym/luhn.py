"""The Luhn (modulus 10, weights 2-1) check digit used by personnummer, org numbers and reserve numbers."""

from __future__ import annotations

import numpy as np

_WEIGHTS = np.array([2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1], dtype=np.uint8)


def check_digit(values: str | list[int]) -> int:
    """Check digit for a sequence of digit values (a str of digits or ints), weights 2,1,2,… from the left."""
    total = 0
    for i, ch in enumerate(values):
        d = (ord(ch) - 48 if isinstance(ch, str) else int(ch)) * (2 - i % 2)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


def check_digits(values: np.ndarray) -> np.ndarray:
    """Vectorised `check_digit` over an (n, k) array of digit values 0-9 (k <= 12); returns uint8 (n,)."""
    values = np.asarray(values, dtype=np.uint8)
    products = values * _WEIGHTS[: values.shape[1]]
    products = products - 9 * (products > 9)
    return ((10 - products.sum(axis=1, dtype=np.int64) % 10) % 10).astype(np.uint8)
