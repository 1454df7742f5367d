"""Fakes for the network edge only: a real local HTTP server standing in for Twilio's REST API."""

from __future__ import annotations

import base64
import email.utils
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class RecordedRequest:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        value = self.headers.get("Authorization", "")
        if not value.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        return user, password


@dataclass
class FakeTwilio:
    """Records every request; answers message creation like Twilio (or with queued failures)."""

    base_url: str = ""
    requests: list[RecordedRequest] = field(default_factory=list)
    # Each send pops the next (HTTP status, Twilio error code) failure, if any.
    failures: list[tuple[int, int]] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path → (content, content type)
    accepted: list[dict[str, str]] = field(default_factory=list)  # forms of the sends answered 201
    accepted_at: list[float] = field(default_factory=list)  # time.monotonic() of each, in step
    created: list[dict[str, str]] = field(default_factory=list)  # the resources Twilio would hold
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def sent(self) -> list[dict[str, str]]:
        """The forms of every message-create call, in order."""
        return [r.form for r in self.requests if r.method == "POST" and r.path.endswith("/Messages.json")]

    def handle(self, method: str, path: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str, bytes]:
        with self.lock:
            self.requests.append(RecordedRequest(method, path, form, headers))
            if method == "GET" and path in self.media:
                content, content_type = self.media[path]
                return 200, content_type, content
            if method == "POST" and path.endswith("/Messages.json"):
                if self.failures:
                    status, code = self.failures.pop(0)
                    return (
                        status,
                        "application/json",
                        json.dumps(
                            {
                                "code": code,
                                "message": f"fake error {code}",
                                "status": status,
                                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                            }
                        ).encode(),
                    )
                sid = f"SM{next(self._counter):032x}"
                self.accepted.append(form)
                self.accepted_at.append(time.monotonic())
                body = form.get("Body", "")
                created = {
                    "sid": sid,
                    "status": "queued",
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "body": body,
                    "num_segments": "1",
                    "account_sid": path.split("/")[3],
                    "date_created": email.utils.format_datetime(datetime.now(UTC)),
                    "uri": path.replace(".json", f"/{sid}.json"),
                }
                self.created.append(created)
                return 201, "application/json", json.dumps(created).encode()
            if method == "GET" and path.endswith("/Messages.json"):  # the list, newest first, like Twilio
                found = [
                    m
                    for m in reversed(self.created)
                    if all(m.get(key.lower()) == form[key] for key in ("To", "From") if key in form)
                ]
                return (
                    200,
                    "application/json",
                    json.dumps(
                        {
                            "messages": found,
                            "next_page_uri": None,
                            "page": 0,
                            "page_size": len(found) or 50,
                            "start": 0,
                            "end": len(found),
                            "uri": path,
                        }
                    ).encode(),
                )
        return 404, "application/json", json.dumps({"code": 20404, "message": "not found", "status": 404}).encode()


@contextmanager
def fake_twilio_server() -> Iterator[FakeTwilio]:
    """Run a FakeTwilio on 127.0.0.1 on an ephemeral port for the duration of the block."""
    fake = FakeTwilio()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            form = dict(parse_qsl(raw or urlsplit(self.path).query, keep_blank_values=True))
            status, content_type, payload = fake.handle(
                self.command, self.path.split("?")[0], form, dict(self.headers.items())
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
