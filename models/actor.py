"""Who acts on a case."""

from __future__ import annotations

from enum import StrEnum

from models.base import Name, ShortText, Strict


class Role(StrEnum):
    dispatcher = "dispatcher"
    handler = "handler"
    leader = "leader"
    supervisor = "supervisor"
    community = "community"  # a community's party secretary: department names the community
    auditor = "auditor"  # reads everything, changes nothing: no update admits this role


class Actor(Strict):
    id: ShortText
    role: Role
    department: ShortText | None = None


class LeaderRef(Strict):
    """The division-level leader who takes over an escalated case (领导包案)."""

    id: ShortText
    name: Name
