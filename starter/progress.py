"""Progress of long commands (rebuild, export, replay, hotspots --open-cases): a bar on stderr
when it is a terminal, nothing at all in pipes, files and logs (rich decides)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """Yields `advance(n)`; shows a bar only on a terminal."""
    if not sys.stderr.isatty():

        def quiet(n: int = 1) -> None:
            pass

        yield quiet
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance
