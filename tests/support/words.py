"""What the case records and what a Chinese page must not show: read from the engine's own
code and label tables (tests/unit/test_sentences.py, browser_tests/test_console_browser.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from models import labels
from models.updates import RecordContact, RecordVerification, Reply, ReportProgress, SubmitOpinion

ROOT = Path(__file__).resolve().parents[2]
# Added to an event after it is recorded: the promises it met, deadlines it moved, what an end settled.
ADDED_LATER = {"milestones", "moved", "settled"}
DEPARTMENT_STEPS = {
    "contacted": RecordContact,
    "verified": RecordVerification,
    "replied": Reply,
    "opinion_filed": SubmitOpinion,
    "progress_reported": ReportProgress,
}


def recorded() -> dict[str, set[str]]:
    """kind -> the detail fields some `record(kind, actor, at, field=...)` call in the engine writes."""
    found: dict[str, set[str]] = {}
    for path in [ROOT / "models" / "case.py", *sorted((ROOT / "workflows").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr != "record" or not node.args or not isinstance(node.args[0], ast.Constant):
                continue
            kind = node.args[0].value
            found.setdefault(kind, set()).update(k.arg for k in node.keywords if k.arg)
    for kind, command in DEPARTMENT_STEPS.items():
        found.setdefault(kind, set()).update(set(command.model_fields) - {"actor", "expected_version"})
    return found


def english_labels() -> set[str]:
    """The English side of every label table: a Chinese page shows none of them."""
    words: set[str] = set()
    for table in vars(labels).values():
        if isinstance(table, dict) and all(isinstance(v, tuple) and len(v) == 2 for v in table.values()):
            words.update(en for zh, en in table.values() if en != zh and re.search(r"[a-z]{3}", en))
    return words


def english_in(text: str) -> list[str]:
    """The English labels a text shows, each as a word of its own."""
    return sorted(w for w in english_labels() if re.search(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", text))
