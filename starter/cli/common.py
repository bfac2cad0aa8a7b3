"""What every audience's commands share: reading fields, files and dates from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from starter.cases import InvalidInput, Rejected

EXIT_NONDETERMINISTIC = 6


def parse_fields(pairs: list[str]) -> dict[str, Any]:
    """`key=value` sets a text field (dotted keys for nested ones); `key:=json` sets any JSON value."""
    data: dict[str, Any] = {}
    for pair in pairs:
        if ":=" in pair:
            key, raw = pair.split(":=", 1)
            try:
                value: Any = json.loads(raw)
            except json.JSONDecodeError as err:
                raise InvalidInput(f"{key}: {raw!r} is not JSON ({err.msg})") from None
        elif "=" in pair:
            key, value = pair.split("=", 1)
        else:
            raise InvalidInput(f"{pair!r}: expected key=value or key:=json")
        target = data
        *parents, leaf = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return data


def read_json(path: str) -> Any:
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"{path}: not JSON: {err}") from None


def moment(value: str) -> datetime:
    """An ISO date or time; a bare date is midnight in Asia/Shanghai."""
    from readmodel.stats import parse_moment

    try:
        return parse_moment(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: a whole number, at least 1")
    return int(value)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def acting_as(identity_id: str) -> Any:
    """The identity a command acts as (`--as`): known and not revoked, or Rejected saying so."""
    from runtime import settings
    from starter.identities import IdentityStore

    identity = IdentityStore(settings.load().identities_url).identities().get(identity_id)
    if identity is None or not identity.active:
        raise Rejected(f"--as {identity_id}: no such identity (python -m starter identity list)")
    return identity
