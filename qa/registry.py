"""Registry: the one place where a family of named choices (retrieval configurations,
embedding backends, vector stores, rerankers, embedding engines) maps names to objects.

Adding a choice is one `add` (or `add_lazy`, for a backend whose heavy dependency must not be
imported until it is chosen); every lookup goes through `get`, whose error lists the valid
names, so no module decodes a choice from a string on its own.
"""

from __future__ import annotations

import importlib
from typing import Generic, Iterator, TypeVar

from qa.errors import BadInput

T = TypeVar("T")


class Registry(Generic[T]):
    """Named objects of one kind, in the order they were added (the first is the default)."""

    def __init__(self, kind: str):
        """Args:
            kind: what the names choose, for error messages ("retrieval configuration").
        """
        self.kind = kind
        self._items: dict[str, T | None] = {}
        self._lazy: dict[str, str] = {}

    def add(self, name: str, item: T) -> T:
        """Register `item` under `name` (replacing an earlier one); returns `item`."""
        self._items[name] = item
        self._lazy.pop(name, None)
        return item

    def add_lazy(self, name: str, target: str) -> None:
        """Register "module:attribute", imported on the first `get(name)`."""
        self._items[name] = None
        self._lazy[name] = target

    def get(self, name: str) -> T:
        """The object registered under `name`.

        Raises:
            BadInput: no such name (the message lists the valid ones).
        """
        if not isinstance(name, str) or name not in self._items:
            raise BadInput(f"unknown {self.kind} {name!r}; choose one of {', '.join(self.names())}")
        if name in self._lazy:
            module, attr = self._lazy[name].split(":")
            self.add(name, getattr(importlib.import_module(module), attr))
        return self._items[name]  # type: ignore[return-value]

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
