"""What every model module shares: strict plain data, text types, and the case's kinds.

Here so that every model module can name them without importing another (models.case_input
brings the complaint and the case state together)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class Category(StrEnum):
    urban_management = "urban_management"
    property = "property"
    labour = "labour"
    education = "education"
    medical = "medical"
    veterans = "veterans"
    urban_renewal = "urban_renewal"
    environment = "environment"
    traffic = "traffic"
    housing = "housing"
    other = "other"


class Track(StrEnum):
    routine = "routine"  # 常态类
    fast = "fast"  # 快处类
    major = "major"  # 重大复杂


class Policy(StrEnum):
    p1030 = "1030"
    p13710 = "13710"


Name = Annotated[str, Field(min_length=1, max_length=100)]


def plain(message: str) -> str:
    """A validator's message as a person reads it: without pydantic's 'Value error, ' prefix."""
    return message.removeprefix("Value error, ")


ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=5000)]
PersonText = Annotated[str, Field(min_length=1, max_length=500)]  # what a complainant writes on their page
CaseRef = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]  # a case's id, as a case names another


class Strict(BaseModel):
    """Plain data that refuses unknown fields and blank text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)


# A mainland mobile (11 digits starting 1) or a landline with its area code
# (0 + 2-3 digits, then 7-8 digits; an optional dash or space between).
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}[- ]?\d{7,8}")


def _phone(value: str) -> str:
    v = value.strip()
    if v.startswith("+86"):
        v = v[3:].lstrip(" -")
    if _MOBILE.fullmatch(v):
        return v
    if _LANDLINE.fullmatch(v):
        return v.replace(" ", "-")
    raise ValueError(
        "must be a mainland mobile (11 digits starting with 1) or a landline with area code, such as 0755-12345678"
    )


Phone = Annotated[str, AfterValidator(_phone)]
