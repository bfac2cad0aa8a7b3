"""Terminal tables that line up with Chinese text: widths counted in display cells (a Chinese
character takes two), by rich's cell measure, not in characters."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len


def pad(value: object, width: int, right: bool = False) -> str:
    text = str(value)
    gap = " " * max(0, width - cell_len(text))
    return gap + text if right else text + gap


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, right: Sequence[int] = ()) -> list[str]:
    """Lines of a table whose columns are as wide as their widest cell; columns whose index is
    in `right` are right-aligned (numbers); the last column is not padded."""
    cells = [[str(v) for v in row] for row in rows]
    widths = [max([cell_len(h), *(cell_len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    last = len(headers) - 1

    def line(values: Sequence[str]) -> str:
        return " ".join(
            v if i == last and i not in right else pad(v, widths[i], i in right) for i, v in enumerate(values)
        ).rstrip()

    return [line(list(headers)), *(line(r) for r in cells)]
