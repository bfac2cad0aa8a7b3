"""A codec server for the Temporal Web UI: those who hold the keys see cases in clear.

    python -m starter codec-server --port 8081 [--origin http://localhost:8233]

Then set the UI's codec endpoint to http://localhost:8081 (the embedded dev server does it when
COMPLAINTS_CODEC_ENDPOINT is set). With COMPLAINTS_CODEC_TOKEN set, requests must carry
`Authorization: Bearer <token>`.
"""

from __future__ import annotations

import asyncio
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from starter.codec import EncryptionCodec, payloads_from_json, payloads_to_json


def make_server(codec: EncryptionCodec, *, port: int, origin: str, token: str | None,
                host: str = "127.0.0.1") -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _cors(self) -> None:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
            self.send_header("Access-Control-Allow-Credentials", "true")

        def do_OPTIONS(self) -> None:  # noqa: N802
            self.send_response(200)
            self._cors()
            self.end_headers()

        def do_POST(self) -> None:  # noqa: N802
            if self.path not in ("/encode", "/decode"):
                return self._fail(404, "not found: POST /encode or /decode")
            if token and self.headers.get("Authorization") != f"Bearer {token}":
                return self._fail(401, "unauthorized")
            try:
                payloads = payloads_from_json(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                work = codec.encode if self.path == "/encode" else codec.decode
                body = payloads_to_json(asyncio.run(work(payloads))).encode()
            except Exception as err:  # a bad request or a key we do not hold: say so, keep serving
                return self._fail(400, f"{type(err).__name__}: {err}")
            self.send_response(200)
            self._cors()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _fail(self, status: int, message: str) -> None:
            body = message.encode()
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)
