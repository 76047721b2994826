"""Warm state that many builds in one process share: fonts, parsed stylesheets, images, covers.

What it keeps is a pure function of its key, so a session never makes a build differ from a fresh one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class Session:
    """Fonts, parsed stylesheets, images and covers kept across builds (at most *limit* of each)."""

    def __init__(self, limit: int = 64):
        self.limit = limit
        self._font_config: Any = None
        self._kept: dict[str, OrderedDict[Hashable, Any]] = {}
        self._images: dict[str, Any] = {}

    def font_config(self) -> Any:
        """WeasyPrint's font configuration, made on first use (it imports WeasyPrint)."""
        if self._font_config is None:
            from weasyprint.text.fonts import FontConfiguration

            self._font_config = FontConfiguration()
        return self._font_config

    def image_cache(self) -> dict[str, Any]:
        """WeasyPrint's ``cache=`` of decoded images, emptied when it grows past the limit."""
        if len(self._images) > self.limit:
            self._images.clear()
        return self._images

    def keep(self, kind: str, key: Hashable, make: Callable[[], T]) -> T:
        """The value of *kind* kept for *key*, else made by *make* (the least recent goes)."""
        store = self._kept.setdefault(kind, OrderedDict())
        if key in store:
            store.move_to_end(key)
        else:
            store[key] = make()
        value: T = store[key]
        while len(store) > self.limit:
            store.popitem(last=False)
        return value
