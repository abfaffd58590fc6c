"""One result remembered per kind of work: made again only for another frame, or when the frame's columns it was
made from hold other values.

A persons frame serves many look-ups in a run (every register's join, every outcome function), and what is made
of it — a million ids checked, sorted and hashed — costs more than the look-ups. Values, not column objects, decide:
pandas makes new column objects of a frame whenever it consolidates it, and comparing the same values again is
cheap (identity first, then `equals`: Arrow compares buffers). The entry goes with the frame.
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


__all__ = ["FrameMemo"]
