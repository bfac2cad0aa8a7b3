"""The complaint as an integrator files it.

Category, Track, Policy and the text types live in models.base (every model module shares them)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, ValidationError, ValidatorFunctionWrapHandler, model_validator
from pydantic_core import InitErrorDetails

from models.base import CaseRef, Category, LongText, Name, Phone, ShortText, Strict, Track
from models.dispute import DisputeFiling


class Channel(StrEnum):
    hotline = "hotline"
    online = "online"  # 书记在线 portal
    mini_program = "mini_program"
    walk_in = "walk_in"
    letter = "letter"
    grid_patrol = "grid_patrol"  # found on patrol before anyone complained (未诉先办)
    visit = "visit"  # a walk-in at a service point (信访超市, 访调一体): often a dispute filed as one


Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
MEMBERS_MAX = 500  # cases one 源头治理 task may name
Url = Annotated[str, Field(max_length=2000, pattern=r"^https?://\S+$")]


class Complainant(Strict):
    name: Name
    phone: Phone
    email: Email | None = None  # Open311 front ends ask for it; the follow-up visit still phones


class Location(Strict):
    """Where it happened: by the names people use, or by a place's code (city-contract.md), or
    both. The edge resolves it against the tree and fills in the names a code implies."""

    district: ShortText | None = None
    street: ShortText | None = None
    community: ShortText | None = None
    grid: ShortText | None = None
    code: Annotated[str, Field(min_length=2, max_length=40, pattern=r"^[0-9A-Za-z][0-9A-Za-z_-]*$")] | None = None
    address: ShortText | None = None  # as the complainant gave it (Open311's address_string)
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="wrap")
    @classmethod
    def _names_or_code(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Location:
        """Without a code, the three names are required, each named as missing (beside any other
        field's fault, so one answer names them all)."""
        missing: list[InitErrorDetails] = []
        if isinstance(data, dict) and not data.get("code"):
            names = ("district", "street", "community")
            missing = [InitErrorDetails(type="missing", loc=(n,), input=data) for n in names if data.get(n) is None]
        try:
            located = handler(data)
        except ValidationError as err:
            if not missing:
                raise
            others = [
                InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"], ctx=e.get("ctx", {}))
                for e in err.errors()
            ]
            raise ValidationError.from_exception_data(cls.__name__, [*missing, *others]) from None
        if missing:
            raise ValidationError.from_exception_data(cls.__name__, missing)
        return located  # type: ignore[no-any-return]


class Complaint(Strict):
    channel: Channel
    complainant: Complainant | None = None
    category: Category
    track: Track = Track.routine
    title: ShortText
    description: LongText
    location: Location
    media_url: Url | None = None  # a photo of the problem (Open311)
    # The station (站点) where it was taken in: a code of the tree's stations (city-contract.md).
    station: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    # When the complaint was taken in; deadlines anchored on acceptance count from it.
    received_at: AwareDatetime | None = None
    # A dispute between people filed as one (docs/disputes.md): straight to mediation, owing no
    # department's dispatch. Its parties are personal data, masked as the complainant is.
    dispute: DisputeFiling | None = None
    # A 源头治理 task (issue 40): the cases of one 类案预警 it handles at their source, named by id.
    # Found by a supervisor, not complained of: only with channel grid_patrol.
    members: list[CaseRef] | None = Field(default=None, min_length=1, max_length=MEMBERS_MAX)

    @model_validator(mode="after")
    def _complainant_unless_patrol(self) -> Complaint:
        if self.channel != Channel.grid_patrol and self.complainant is None:
            raise ValueError("complainant is required unless channel is grid_patrol")
        if self.members is not None and self.channel != Channel.grid_patrol:
            raise ValueError("members: only a task found by a supervisor (channel grid_patrol) names other cases")
        return self


def received_at_problem(received_at: datetime | None, now: datetime, *, max_age_days: int = 366) -> str | None:
    """Why a received_at is implausible at `now`, or None: checked at the edge and by the workflow."""
    if received_at is None:
        return None
    if (received_at - now).total_seconds() > 300:
        return f"complaint.received_at: {received_at.isoformat()} is in the future"
    if (now - received_at).days > max_age_days:
        return f"complaint.received_at: {received_at.isoformat()} is more than {max_age_days} days ago"
    return None
