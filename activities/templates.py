"""Notice texts from templates (config/notices.toml): the workflow sends a kind and parameters,
never text; the notifier renders them here, in the configured language. Loading checks every
template, so a missing or broken one stops the worker at start instead of failing at send time."""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from models.labels import Labels
from readmodel.links import TOKEN_LENGTH
from sla import BUSINESS_TZ

# Each template and the parameters the workflow sends it (the renderer adds sign and hotline).
PARAMS: dict[str, tuple[str, ...]] = {
    "acknowledgement": ("case_id", "title"),
    "merged": ("case_id", "into"),
    "transfer": ("case_id", "department", "explanation"),
    "assignment": ("case_id", "department"),
    "transfer_in": ("case_id", "from_department", "explanation"),
    "extension_requested": ("case_id", "department", "until"),
    "suspension_requested": ("case_id", "department", "reason"),
    "leader_assigned": ("case_id", "leader", "reason"),
    "escalation": ("case_id", "reason"),
    "summons": ("case_id", "notice_no", "community", "reason"),
    "warning": ("case_id", "milestone", "due_at"),
    "breach": ("case_id", "milestone", "due_at"),
    "repeat": ("case_id", "repeat_case_id", "title"),
    "resolved": ("case_id", "resolution"),
    "link": ("case_id",),
    "complainant_note": ("case_id", "note"),
    "risk_alert": ("case_id", "reasons"),  # to the district's duty leader (强信息预警)
    # Disputes (矛盾纠纷): to the parties, the mediator and the community.
    "mediation_started": ("case_id", "due_at"),
    "mediator_assigned": ("case_id", "mediator", "dispute_kind"),
    "session_reminder": ("case_id", "at", "place"),
    "confirmation_reminder": ("case_id", "due_at"),
    "referred": ("case_id", "road"),
    "referred_labour": ("case_id", "road", "limitation_ends"),
}
ADDED = ("sign", "hotline")
# Sent as SMS to the complainant: each carries {link}, their own case's page (readmodel/links.py).
COMPLAINANT = {"acknowledgement", "merged", "transfer", "resolved", "link"}
LINK_TO = {"merged": "into"}  # the link opens the case this parameter names, not the notice's own
TIMES = ("due_at", "until", "at")  # ISO datetimes from the workflow, written in Beijing time
SHORTENED = ("title", "explanation", "reason", "resolution", "reasons")  # what an SMS too long gives up first
SAMPLE_TOKEN = "x" * TOKEN_LENGTH


class TemplateError(ValueError):
    """A notice template is missing or cannot be rendered: named, at worker start."""


def sms_segments(text: str) -> int:
    """How many SMS parts a text takes: 70 characters in one Chinese (UCS-2) message, 67 per
    part of a long one; 160 and 153 for plain ASCII (GSM-7, approximately)."""
    if all(ord(c) < 128 for c in text):
        single, part = 160, 153
    else:
        single, part = 70, 67
    n = len(text)
    return 1 if n <= single else -(-n // part)


@dataclass
class NoticeTemplates:
    language: str
    templates: dict[str, str]
    sign: str = ""
    hotline: str = "12345"
    time_format: str = "%m-%d %H:%M"
    max_segments: int = 2
    public_url: str = "http://127.0.0.1:8080"  # where the links lead: their length counts in an SMS
    source: str = field(default="", compare=False)
    # Each district's own sign (the city's tree, city-contract.md), as its notices open: district
    # code -> "【光明区群众诉求服务】". A notice of a district not listed (or of a case filed before
    # the tree) keeps `sign`.
    signs: dict[str, str] = field(default_factory=dict)

    def with_signs(self, signs: dict[str, str]) -> NoticeTemplates:
        """These templates with the districts' signs (checked: every complainant text still fits)."""
        bracketed = {code: (f"【{s}】" if self.language == "zh" else f"[{s}] ") for code, s in signs.items() if s}
        signed = replace(self, signs=bracketed)
        signed.check()
        return signed

    @classmethod
    def load(
        cls, path: Path, language: str = "zh", max_segments: int = 2, public_url: str = "http://127.0.0.1:8080"
    ) -> NoticeTemplates:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TemplateError(f"notice templates: no file {path} (COMPLAINTS_NOTICE_TEMPLATES)") from None
        except tomllib.TOMLDecodeError as err:
            raise TemplateError(f"notice templates {path}: not valid TOML: {err}") from None
        if language not in data:
            raise TemplateError(
                f"notice templates {path}: no language [{language}] "
                f"(COMPLAINTS_NOTICE_LANGUAGE; the file has {', '.join(sorted(data)) or 'none'})"
            )
        section = data[language]
        templates = cls(
            language=language,
            templates=dict(section.get("templates", {})),
            sign=section.get("sign", ""),
            hotline=section.get("hotline", "12345"),
            time_format=section.get("time_format", "%m-%d %H:%M"),
            max_segments=max_segments,
            public_url=public_url,
            source=str(path),
        )
        templates.check()
        return templates

    def check(self) -> None:
        """Every template present and renderable with exactly its parameters; every complainant
        text carries the link and fits the SMS limit with a short title and a link as long as
        COMPLAINTS_PUBLIC_URL makes it."""
        where = f"notice templates {self.source or '(given)'} [{self.language}]"
        for name, params in PARAMS.items():
            text = self.templates.get(name)
            if not isinstance(text, str) or not text.strip():
                raise TemplateError(f"{where}: template {name!r} is missing")
            try:
                fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
            except ValueError as err:
                raise TemplateError(f"{where}: template {name!r} is broken: {err}") from None
            added = (*ADDED, "link") if name in COMPLAINANT else ADDED
            unknown = fields - set(params) - set(added)
            if unknown:
                raise TemplateError(
                    f"{where}: template {name!r} uses unknown placeholder(s) "
                    f"{', '.join(sorted('{' + f + '}' for f in unknown))}; it may use "
                    f"{', '.join('{' + p + '}' for p in (*params, *added))}"
                )
            if name in COMPLAINANT and "link" not in fields:
                raise TemplateError(f"{where}: template {name!r} goes to the complainant and must carry {{link}}")
            sample = {p: "2026-11-26T09:00:00+08:00" if p in TIMES else "1" for p in params}
            longest = max(self.signs, key=lambda d: len(self.signs[d]), default=None)
            rendered = self.render(name, sample, self.link(SAMPLE_TOKEN), district=longest)
            if name in COMPLAINANT and sms_segments(rendered) > self.max_segments:
                raise TemplateError(
                    f"{where}: template {name!r} takes {sms_segments(rendered)} SMS parts even "
                    f"with a one-character title and a link to {self.public_url}; the limit is {self.max_segments}"
                )

    def link(self, token: str) -> str:
        return f"{self.public_url}/s/{token}"

    def render(self, name: str, params: dict[str, str], link: str = "", district: str | None = None) -> str:
        """The text of one notice, under its district's sign; a complainant's carries `link` and
        is shortened (never the link) to fit the SMS limit."""
        values = {p: self._value(p, str(params.get(p, ""))) for p in PARAMS.get(name, ())}
        values |= {"sign": self.signs.get(district or "", self.sign), "hotline": self.hotline, "link": link}
        text = self.templates[name].format(**values)
        if name not in COMPLAINANT:
            return text
        while sms_segments(text) > self.max_segments:
            longest = max((p for p in SHORTENED if p in values), key=lambda p: len(values[p]), default=None)
            if longest is None or len(values[longest]) <= 2:
                break  # check() made sure this cannot happen with the shipped and loaded templates
            values[longest] = values[longest][: max(1, len(values[longest]) - max(4, len(text) // 10)) - 1] + "…"
            text = self.templates[name].format(**values)
        return text

    def _value(self, name: str, value: str) -> str:
        if name in TIMES and value:
            try:
                return datetime.fromisoformat(value).astimezone(BUSINESS_TZ).strftime(self.time_format)
            except ValueError:
                return value
        if name == "milestone":
            return Labels(self.language).milestone(value)  # the case's own words (models.labels)
        if name == "road":
            return Labels(self.language).road(value)
        if name == "dispute_kind":
            return Labels(self.language).dispute_kind(value)
        return value
