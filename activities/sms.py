"""A sender for an SMS gateway that takes one JSON notice per HTTP POST, with a bearer token."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

from models import Notice


class HttpSmsSender:
    def __init__(self, url: str, token: str | None, timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    async def send(self, notice: Notice) -> None:
        await asyncio.to_thread(self._post, notice)

    def _post(self, notice: Notice) -> None:
        body = json.dumps(
            {
                "id": notice.id,
                "case_id": notice.case_id,
                "to": notice.address or notice.recipient,
                "recipient": notice.recipient,
                "kind": notice.kind.value,
                "text": notice.text,
            },
            ensure_ascii=False,
        ).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": notice.id}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as err:
            # Raised to Temporal, which retries with backoff; the outbox keeps the last error.
            raise RuntimeError(f"SMS gateway answered {err.code}: {err.read()[:200]!r}") from None
