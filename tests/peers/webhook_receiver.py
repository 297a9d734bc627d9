"""A webhook receiver for the integration tests, built on the official
Standard Webhooks verifiers: `standardwebhooks` and `svix`.

Every delivery is verified with both libraries against the secrets the test
set (POST /_secrets {"secrets": [...]}); per delivery it also checks that a
tampered body, a foreign secret and a stale timestamp are refused by both.
The path decides how it answers:

  /ok           200 when verified (400 otherwise)
  /flaky        per event id (attempts are counted per path and id): 500, then too slow (past the gateway's timeout), then 200
  /slow/<ms>    waits <ms>, then as /ok
  /fail         500
  /gone         410
  /redirect     302 to /ok (which the gateway must not follow)
  /retry-after  per event id: 503 with Retry-After: 1, then 200
  /some-fail/<n>  the first attempt of one event id in <n> (by the CRC-32 of the
                id) answers 500, every other attempt as /ok

GET /_state answers {"log": [...], "overlaps": n}: one record per request, and
how many requests arrived while another request of the same event id to the
same path was still being answered. GET /_summary answers {"requests": n,
"accepted": n, "overlaps": n} (accepted: distinct event ids answered 200), cheap
to poll while thousands of deliveries arrive. It prints "listening <port>" when
ready.
"""

import base64
import json
import os
import sys
import threading
import time
import zlib
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook as StandardWebhook
from svix.webhooks import Webhook as SvixWebhook

LOCK = threading.Lock()
SECRETS = []
LOG = []
SEEN = {}
INFLIGHT = {}
OVERLAPS = [0]
ACCEPTED = set()
SLOW_SECONDS = float(os.environ.get("RECEIVER_SLOW_SECONDS", "3"))


def verifies(secret, body, headers):
    """(standardwebhooks accepts, svix accepts)."""
    results = []
    for make in (StandardWebhook, SvixWebhook):
        try:
            make(secret).verify(body, dict(headers))
            results.append(True)
        except Exception:  # noqa: BLE001 - any refusal counts as "not verified"
            results.append(False)
    return tuple(results)


def negative_checks(secret, body, headers):
    """Whether both libraries refuse a tampered body, a foreign secret and a
    stale (validly signed, 10 minutes old) timestamp."""
    tampered = verifies(secret, body + b" ", headers)
    foreign_secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    foreign = verifies(foreign_secret, body, headers)
    stale_time = datetime.now(timezone.utc) - timedelta(minutes=10)
    stale_headers = dict(headers)
    stale_headers["webhook-timestamp"] = str(int(stale_time.timestamp()))
    stale_headers["webhook-signature"] = StandardWebhook(secret).sign(
        headers["webhook-id"], stale_time, body.decode()
    )
    stale = verifies(secret, body, stale_headers)
    return {
        "tampered_refused": not any(tampered),
        "foreign_refused": not any(foreign),
        "stale_refused": not any(stale),
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes: with Nagle's algorithm the
    # body waits for the client's delayed ACK of the headers (40 ms on Linux),
    # which capped a keep-alive connection at about 25 requests a second.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_state":
            with LOCK:
                state = json.dumps({"log": LOG, "overlaps": OVERLAPS[0]}).encode()
            return self.answer(200, state, [("content-type", "application/json")])
        if self.path == "/_summary":
            with LOCK:
                summary = {
                    "requests": len(LOG),
                    "accepted": len(ACCEPTED),
                    "overlaps": OVERLAPS[0],
                }
            summary = json.dumps(summary).encode()
            return self.answer(200, summary, [("content-type", "application/json")])
        self.answer(404)

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        if self.path == "/_secrets":
            with LOCK:
                SECRETS[:] = json.loads(body)["secrets"]
            return self.answer(204)
        headers = {
            name: self.headers.get(name, "")
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        }
        event_id = headers["webhook-id"]
        # One endpoint (path) and one event: what "an attempt" counts.
        key = (self.path, event_id)
        received = time.time()
        with LOCK:
            SEEN[key] = SEEN.get(key, 0) + 1
            attempt = SEEN[key]
            if INFLIGHT.get(key, 0) > 0:
                OVERLAPS[0] += 1
            INFLIGHT[key] = INFLIGHT.get(key, 0) + 1
            secrets = list(SECRETS)
        try:
            per_secret = [verifies(s, body, headers) for s in secrets]
            verified = any(all(both) for both in per_secret)
            record = {
                "path": self.path,
                "id": event_id,
                "attempt": attempt,
                "timestamp": headers["webhook-timestamp"],
                "signature": headers["webhook-signature"],
                "body": body.decode(),
                "verified": verified,
                "per_secret": [list(both) for both in per_secret],
                "received": received,
            }
            if secrets:
                record.update(negative_checks(secrets[0], body, headers))
            status, extra = self.decide(attempt, verified)
            record["status"] = status
            record["finished"] = time.time()
            with LOCK:
                LOG.append(record)
                if status == 200:
                    ACCEPTED.add(event_id)
        finally:
            with LOCK:
                INFLIGHT[key] -= 1
        try:
            self.answer(status, b"ok" if status < 300 else b"no", extra)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def decide(self, attempt, verified):
        path = self.path
        if path == "/fail":
            return 500, []
        if path == "/gone":
            return 410, []
        if path == "/redirect":
            return 302, [("location", "/ok")]
        if path == "/flaky":
            if attempt == 1:
                return 500, []
            if attempt == 2:
                time.sleep(SLOW_SECONDS)
                return 200, []
        if path == "/retry-after" and attempt == 1:
            return 503, [("retry-after", "1")]
        if path.startswith("/some-fail/") and attempt == 1:
            every = int(path.split("/")[2])
            if zlib.crc32(self.headers.get("webhook-id", "").encode()) % every == 0:
                return 500, []
        if path.startswith("/slow/"):
            time.sleep(int(path.split("/")[2]) / 1000)
        return (200 if verified else 400), []


class Server(ThreadingHTTPServer):
    # Many gateway connections at once: a deep accept backlog, so none is refused.
    request_queue_size = 256
    daemon_threads = True


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
