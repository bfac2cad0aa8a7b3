"""What every model module shares: strict plain data, text types, and the case's kinds.

Here so that every model module can name them without importing another (models.case_input
brings the complaint and the case state together)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


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
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=5000)]
PersonText = Annotated[str, Field(min_length=1, max_length=500)]  # what a complainant writes on their page


class Strict(BaseModel):
    """Plain data that refuses unknown fields and blank text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)
