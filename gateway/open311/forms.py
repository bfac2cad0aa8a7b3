"""POST requests as Open311 front ends send them: the form, what the engine needs that Open311
leaves optional, and the complaint the form becomes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models import Track


class RequestForm(BaseModel):
    """POST requests, form-encoded, as the specification names the fields."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    api_key: str | None = Field(default=None, max_length=200)
    jurisdiction_id: str | None = Field(default=None, max_length=200)
    service_code: str = Field(max_length=100)
    lat: float | None = None
    long: float | None = None
    address_string: str | None = Field(default=None, max_length=200)
    address_id: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    device_id: str | None = Field(default=None, max_length=200)
    account_id: str | None = Field(default=None, max_length=200)
    first_name: str | None = Field(default=None, max_length=50)
    last_name: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=5000)
    media_url: str | None = Field(default=None, max_length=2000)
    district: str | None = Field(default=None, alias="attribute[district]", max_length=200)
    street: str | None = Field(default=None, alias="attribute[street]", max_length=200)
    community: str | None = Field(default=None, alias="attribute[community]", max_length=200)
    grid: str | None = Field(default=None, alias="attribute[grid]", max_length=200)
    track: Track | None = Field(default=None, alias="attribute[track]")
    title: str | None = Field(default=None, alias="attribute[title]", max_length=200)

    @field_validator("*", mode="before")
    @classmethod
    def _utf8(cls, value: Any) -> Any:
        """Text sent as raw UTF-8 instead of percent-encoded (curl -d does) arrives read as
        Latin-1: read it again as the UTF-8 it was. Anything else stays as it came."""
        if isinstance(value, str) and any("\x80" <= ch <= "\xff" for ch in value):
            try:
                return value.encode("latin-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                return value
        return value


# Engine field -> the form field that feeds it, so an error names what the client sent.
FORM_FIELDS = {
    "complaint.location.district": "attribute[district]",
    "complaint.location.street": "attribute[street]",
    "complaint.location.community": "attribute[community]",
    "complaint.location.grid": "attribute[grid]",
    "complaint.location.address": "address_string",
    "complaint.location.lat": "lat",
    "complaint.location.long": "long",
    "complaint.title": "attribute[title]",
    "complaint.description": "description",
    "complaint.media_url": "media_url",
    "complaint.complainant.phone": "phone",
    "complaint.complainant.email": "email",
    "complaint.complainant.name": "first_name",
    "complaint.track": "attribute[track]",
}


def _name(form: RequestForm) -> str:
    parts = [p.strip() for p in (form.last_name, form.first_name) if p and p.strip()]
    if not parts:
        return "匿名"  # anonymous callers are served too; the phone is what the follow-up needs
    chinese = all(ord(ch) > 0x2E80 for p in parts for ch in p)
    return "".join(parts) if chinese else " ".join(reversed(parts))


def missing_fields(form: RequestForm, district: str | None = None) -> list[tuple[str, str]]:
    """What the engine needs that the form left out (Open311 makes these optional). `district`:
    the one its jurisdiction_id names, which a district attribute may repeat but not contradict."""
    if district is not None and form.district and form.district.strip() != district:
        return [("attribute[district]", f"{form.district!r} is not the jurisdiction_id's district ({district})")]
    missing = [
        (f, why)
        for f, value, why in (
            ("description", form.description, "required: what happened"),
            ("phone", form.phone, "required: the follow-up visit (回访) calls the complainant"),
            ("attribute[district]", form.district or district, "required (see the service definition)"),
            ("attribute[street]", form.street, "required (see the service definition)"),
            ("attribute[community]", form.community, "required (see the service definition)"),
        )
        if not (value and value.strip())
    ]
    if (form.lat is None) != (form.long is None):
        missing.append(("lat" if form.lat is None else "long", "lat and long go together"))
    if form.lat is None and not form.address_string and not form.address_id:
        missing.append(("lat", "a location is required: lat and long, or address_string"))
    return missing


def complaint_of(form: RequestForm, district: str | None = None) -> dict[str, Any]:
    description = (form.description or "").strip()
    title = (form.title or "").strip() or (description.splitlines() or [""])[0][:40]
    return {
        "channel": "online",
        "category": form.service_code,
        "track": (form.track or Track.routine).value,
        "title": title,
        "description": description,
        "media_url": form.media_url or None,
        "complainant": {"name": _name(form), "phone": form.phone, "email": form.email or None},
        "location": {
            "district": form.district or district,
            "street": form.street,
            "community": form.community,
            "grid": form.grid or None,
            "address": form.address_string or form.address_id or None,
            "lat": form.lat,
            "long": form.long,
        },
    }
