"""A file read once, and again only when it changes (its modification time): the city's tree and
the strong-signal rules, read on every request that needs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from threading import Lock
from typing import Generic, TypeVar

T = TypeVar("T")


class Reloading(Generic[T]):
    """`load(path)`'s answer, kept per path until the file's modification time changes. A load
    that raises keeps nothing, so a broken file is refused each time, never half used."""

    def __init__(self, load: Callable[[Path], T]) -> None:
        self._load = load
        self._lock = Lock()
        self._kept: dict[Path, tuple[int, T]] = {}

    def __call__(self, path: Path) -> T:
        stamp = path.stat().st_mtime_ns if path.exists() else -1
        with self._lock:
            kept = self._kept.get(path)
            if kept is not None and kept[0] == stamp:
                return kept[1]
            loaded = self._load(path)
            self._kept[path] = (stamp, loaded)
            return loaded
