"""A department's system receiving the case engine's webhooks, in Python (the same as the Node.js
receiver beside it): verify each signature with the subscription's secret, acknowledge with 204,
print one JSON line per request. Delivery is at least once: a retried event carries its first
webhook-id, so keep the ids you have processed and do each event once.

    pip install standardwebhooks
    WEBHOOK_SECRET=whsec_... PORT=8091 python receiver.py
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

secret = os.environ.get("WEBHOOK_SECRET")
if not secret:
    sys.exit("set WEBHOOK_SECRET to the subscription's signing secret (whsec_...)")
webhook = Webhook(secret)
done: set[str] = set()  # webhook-ids processed: a redelivery is acknowledged, not done twice


def say(line: dict) -> None:
    print(json.dumps(line, ensure_ascii=False), flush=True)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            message = webhook.verify(body, dict(self.headers))  # raises on a bad or stale signature
        except WebhookVerificationError as err:
            say({"id": self.headers.get("webhook-id"), "verified": False, "error": str(err)})
            self.send_response(400)
            self.end_headers()
            return
        msg_id = self.headers["webhook-id"]
        data = message["data"]
        say(
            {
                "id": msg_id,
                "verified": True,
                "type": message["type"],
                "case_id": data["case_id"],
                "seq": data["event"]["seq"],
                "department": data["case"]["department"],
                "status": data["case"]["status"],
                "duplicate": msg_id in done,
            }
        )
        done.add(msg_id)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    server = HTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8091"))), Receiver)
    say({"listening": server.server_address[1]})
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
