// A department's system receiving the case engine's webhooks (Standard Webhooks): it verifies
// each signature with the subscription's secret, acknowledges with 204, and prints one JSON line
// per request on stdout. Delivery is at least once: a retried event carries its first webhook-id,
// so the receiver keeps the ids it has processed and does each event once.
//
//   WEBHOOK_SECRET=whsec_... PORT=8090 node receiver.mjs
//
// FAIL_FIRST=N answers 500 to the first N tries of every event (the engine's tests use it to see
// retries); PORT=0 takes a free port. The first line printed says where it listens.
import http from "node:http";
import { Webhook } from "standardwebhooks";

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error("set WEBHOOK_SECRET to the subscription's signing secret (whsec_...)");
  process.exit(2);
}
const webhook = new Webhook(secret);
const failFirst = Number(process.env.FAIL_FIRST || 0);
const tries = new Map(); // webhook-id -> tries seen
const done = new Set(); // webhook-ids processed: a redelivery is acknowledged, not done twice

function say(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

const server = http.createServer((req, res) => {
  if (req.method !== "POST") {
    res.writeHead(405).end();
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const id = req.headers["webhook-id"];
    let message;
    try {
      message = webhook.verify(body, req.headers); // throws on a bad or stale signature
    } catch (err) {
      say({ id, verified: false, error: String(err.message || err) });
      res.writeHead(400).end("bad signature");
      return;
    }
    const attempt = (tries.get(id) || 0) + 1;
    tries.set(id, attempt);
    const seen = { id, verified: true, attempt, type: message.type, case_id: message.data.case_id,
      seq: message.data.event.seq, version: message.data.version };
    if (attempt <= failFirst) {
      say({ ...seen, status: 500 });
      res.writeHead(500).end("not yet");
      return;
    }
    say({ ...seen, status: 204, duplicate: done.has(id), complainant: message.data.case.complainant });
    done.add(id);
    res.writeHead(204).end();
  });
});

server.listen(Number(process.env.PORT || 8090), process.env.HOST || "127.0.0.1", () => {
  say({ listening: server.address().port });
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.close(() => process.exit(0)));
