"""The strong-signal rules the settings name (COMPLAINTS_RISK_FILE), read once and again when the
file changes; a file that cannot be used is refused, naming the rule (models/risk.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from threading import Lock

from models.risk import RiskRuleError, RiskRules
from runtime import settings

_lock = Lock()
_cache: dict[Path, tuple[int, RiskRules]] = {}


def load(path: Path) -> RiskRules:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise RiskRuleError(f"{path}: {err}") from None
    return RiskRules.parse(data, str(path))


def rules(path: Path | None = None) -> RiskRules:
    path = path or settings.load().risk_file
    stamp = path.stat().st_mtime_ns if path.exists() else -1
    with _lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        loaded = load(path)
        _cache[path] = (stamp, loaded)
        return loaded
