"""The one bounded cache the renderer's sharing layer keeps its work in.

Every cache of the render stage is a `Bounded`: values by key, each with a size (its
length in characters or bytes, or 1 to count entries), and one eviction rule: past the
limit, the least recently used values go, never the one just put. A daemon renders for
days; nothing it keeps between subscribers grows without bound.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def one(_: object) -> int:
    """The size of a value when a cache counts its entries."""
    return 1


class Bounded(Generic[K, V]):
    """Values by key, least recently used dropped while their sizes add up past `limit`."""

    def __init__(self, limit: int, size: Callable[[V], int] = one) -> None:
        self.limit = limit
        self.size = size
        self.total = 0  # the sizes of the values kept
        self._values: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: K) -> V | None:
        """The value kept under `key`, now the most recently used; None when none is."""
        value = self._values.get(key)
        if value is not None:
            self._values.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        """Keep `value` under `key` (dropping the least recently used past the limit)."""
        old = self._values.pop(key, None)
        if old is not None:
            self.total -= self.size(old)
        self._values[key] = value
        self.total += self.size(value)
        while self.total > self.limit and len(self._values) > 1:
            self.total -= self.size(self._values.popitem(last=False)[1])
        return value

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value under `key`, made by `make` and kept when there is none."""
        value = self.get(key)
        return self.put(key, make()) if value is None else value
