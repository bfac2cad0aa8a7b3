"""The strong-signal rules the settings name (COMPLAINTS_RISK_FILE), read once and again when the
file changes; a file that cannot be used is refused, naming the rule (models/risk.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from models.risk import RiskRuleError, RiskRules
from runtime import settings
from runtime.reloading import Reloading


def load(path: Path) -> RiskRules:
    """The rules of one file, or RiskRuleError naming the file and the rule."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise RiskRuleError(f"{path}: {err}") from None
    return RiskRules.parse(data, str(path))


_rules = Reloading(load)


def rules(path: Path | None = None) -> RiskRules:
    return _rules(path or settings.load().risk_file)
