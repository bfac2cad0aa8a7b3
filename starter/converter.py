"""The data converter every client and worker uses: pydantic, with invalid payloads refused by name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import pydantic
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from models.base import plain

if TYPE_CHECKING:
    from starter.codec import Keyring


def field_errors(err: pydantic.ValidationError) -> list[tuple[str, str]]:
    """(field.path, what is wrong) for each bad field."""
    return [(".".join(str(p) for p in e["loc"]) or "(input)", plain(e["msg"])) for e in err.errors(include_url=False)]


def describe(err: pydantic.ValidationError) -> str:
    """'field.path: what is wrong' for each bad field, on one line."""
    return "; ".join(f"{where}: {message}" for where, message in field_errors(err))


class CasePayloadConverter(PydanticPayloadConverter):
    """A payload that fails validation raises a non-retryable error naming each bad field.

    As a Temporal failure it fails a workflow at once (never a workflow task retried forever),
    rejects an update before its validator runs, and fails an activity without retrying.
    """

    _shared: ClassVar[CasePayloadConverter | None] = None

    def __new__(cls) -> CasePayloadConverter:
        # One instance for the process: the SDK builds a converter for every workflow activation,
        # and a fresh one starts with an empty cache of pydantic type adapters (measured: a tenth
        # of the worker's and the replay's time went to rebuilding them). It holds no state but
        # that cache.
        if cls._shared is None:
            cls._shared = super().__new__(cls)
            PydanticPayloadConverter.__init__(cls._shared)
        return cls._shared

    def __init__(self) -> None:
        pass  # initialised once, in __new__

    def from_payloads(self, payloads: Sequence[Payload], type_hints: list[type] | None = None) -> list[Any]:
        try:
            return super().from_payloads(payloads, type_hints)
        except pydantic.ValidationError as err:
            raise ApplicationError(
                f"invalid {err.title}: {describe(err)}",
                err.errors(include_url=False, include_context=False, include_input=False),
                type="InvalidInput",
                non_retryable=True,
            ) from None


def data_converter(keyring: Keyring | None = None, *, for_replay: bool = False) -> DataConverter:
    """Pydantic payloads, encrypted with the keyring (default: from settings). For replay, what
    the replayed workflow produces is not encrypted: replay compares commands, never payloads."""
    from starter.codec import EncryptionCodec, ReplayCodec, keyring_from_settings

    codec = (ReplayCodec if for_replay else EncryptionCodec)(keyring or keyring_from_settings())
    return DataConverter(payload_converter_class=CasePayloadConverter, payload_codec=codec)
