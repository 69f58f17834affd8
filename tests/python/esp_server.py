"""A fake e-mail platform for the sync tests: a real HTTP server on 127.0.0.1 that behaves
as an ESP's idempotent API. It checks the bearer token, applies each change to an in-memory
store, answers a replayed Idempotency-Key with 200 without applying it again, records every
request and fails on purpose when told to."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Fail:
    """Answer ``status`` (0: drop the connection) to the first ``times`` requests of batch
    ``batch`` (-1: always)."""

    batch: int
    status: int
    times: int = 1
    retry_after: str | None = None


@dataclass
class FakeDestination:
    token: str
    url: str = ""
    store: dict[tuple[str, str], dict] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    effects: Counter = field(default_factory=Counter)  # (audience, person_id, op) applied
    bodies: dict[str, bytes] = field(default_factory=dict)  # Idempotency-Key -> body
    suppressed: int = 0  # replays answered without applying
    failures: list[Fail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        with self.lock:
            payload = json.loads(body)
            batch, key = payload["batch_number"], headers.get("Idempotency-Key", "")
            seen = sum(1 for r in self.requests if r["batch"] == batch)
            record = {"batch": batch, "key": key, "auth": headers.get("Authorization")}
            self.requests.append(record)
            if headers.get("Authorization") != f"Bearer {self.token}":
                return self._answer(record, 401)
            for rule in self.failures:
                if rule.batch == batch and (rule.times < 0 or seen < rule.times):
                    extra = {"Retry-After": rule.retry_after} if rule.retry_after else {}
                    return self._answer(record, rule.status, extra)
            if not key or headers.get("Content-Type") != "application/json":
                return self._answer(record, 400)
            if key in self.bodies:
                assert self.bodies[key] == body, "one key, two bodies"
                self.suppressed += 1
                return self._answer(record, 200)
            for change in payload["changes"]:
                self._apply(change)
            self.bodies[key] = body
            return self._answer(record, 200)

    def _apply(self, change: dict) -> None:
        where = (change["audience"], change["person_id"])
        self.effects[(*where, change["op"])] += 1
        if change["op"] == "remove":
            self.store.pop(where, None)
        else:
            self.store[where] = {"email": change["email"], **change["fields"]}

    @staticmethod
    def _answer(record: dict, status: int, extra: dict | None = None) -> tuple[int, dict]:
        record["status"] = status
        return status, extra or {}

    def sent_batches(self, status: int = 200) -> list[int]:
        return [r["batch"] for r in self.requests if r["status"] == status]

    def keys(self) -> dict[int, set[str]]:
        keys: dict[int, set[str]] = {}
        for r in self.requests:
            keys.setdefault(r["batch"], set()).add(r["key"])
        return keys


def _handler(destination: FakeDestination) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, extra = destination.handle(dict(self.headers.items()), body)
            if status == 0:  # a dropped connection: no answer at all
                self.close_connection = True
                return
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve(token: str) -> Iterator[FakeDestination]:
    """A FakeDestination listening on a free port of 127.0.0.1 (its ``url``)."""
    server = FakeDestination(token)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}/sync"
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
