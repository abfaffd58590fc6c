"""One result remembered per kind of work: made again only for another frame, or when the frame's columns it was
made from hold other values.

A persons frame serves many look-ups in a run (every register's join, every outcome function), and what is made
of it — a million ids checked, sorted and hashed — costs more than the look-ups. Values, not column objects, decide:
pandas makes new column objects of a frame whenever it consolidates it, and comparing the same values again is
cheap (identity first, then `equals`: Arrow compares buffers). The entry goes with the frame. `PairMemo` does the
same for two immutable objects, by identity.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

import pandas as pd

T = TypeVar("T")


class FrameMemo(Generic[T]):
    """`get(frame, make)`: `make(frame)`, remembered for the last frame while its `columns` hold the same values."""

    def __init__(self, *columns: str):
        self.columns = columns
        self._lock = threading.Lock()
        self._entry: tuple[weakref.ref, T, tuple] | None = None

    def get(self, frame: pd.DataFrame, make: Callable[[pd.DataFrame], T]) -> T:
        source = tuple(frame[name].array for name in self.columns)
        with self._lock:
            entry = self._entry
        if entry is not None and entry[0]() is frame and all(
                new is old or (len(new) == len(old) and new.equals(old)) for new, old in zip(source, entry[2])):
            return entry[1]
        made = make(frame)
        with self._lock:
            self._entry = (weakref.ref(frame, self._forget), made, source)
        return made

    def _forget(self, gone: weakref.ref) -> None:
        with self._lock:
            if self._entry is not None and self._entry[0] is gone:
                self._entry = None


class PairMemo(Generic[T]):
    """`get(a, b, make)`: `make(a, b)`, remembered for the same two objects while both live (for immutable ones:
    a persons index and a register's pseudonym categories, looked up in it by outcome after outcome). Keeps the
    `size` latest pairs."""

    def __init__(self, size: int = 16):
        self.size = size
        self._lock = threading.Lock()
        self._entries: dict[tuple[int, int], tuple[weakref.ref, weakref.ref, T]] = {}

    def get(self, a: object, b: object, make: Callable[[object, object], T]) -> T:
        key = (id(a), id(b))
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0]() is a and entry[1]() is b:
            return entry[2]
        made = make(a, b)
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (weakref.ref(a, self._forget), weakref.ref(b, self._forget), made)
            while len(self._entries) > self.size:
                del self._entries[next(iter(self._entries))]
        return made

    def _forget(self, gone: weakref.ref) -> None:
        with self._lock:
            for key in [k for k, (a, b, _) in self._entries.items() if a is gone or b is gone]:
                del self._entries[key]


__all__ = ["FrameMemo", "PairMemo"]
