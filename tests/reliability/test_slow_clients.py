"""Slow clients against the Procfile's own web command: a few connections trickling a request
body a byte at a time must not stall a signed Twilio webhook (Twilio gives up after 15 s).

This proves headroom, not immunity: gunicorn holds one thread per body still arriving, so
enough slow clients still fill every thread. The defence is a buffering reverse proxy in
front (docs/deploy/nginx.conf, docs/operations.md#behind-a-reverse-proxy).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from tests.processes import ROOT, cli_env

pytestmark = pytest.mark.slow

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "slow-clients-auth-token"
PUBLIC_BASE_URL = "https://tulay.test"
# More than one worker's threads (16), fewer than all of them (2 x 16): a worker whose threads
# are all held stops accepting (--worker-connections), so the webhook lands on the other one.
SLOW_CLIENTS = 24
PROMPT_SECONDS = 3.0


def procfile_web_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.partition(":")[2].strip()
    raise AssertionError("the Procfile has no web: line")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, path: str, timeout: float = 5.0) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except TimeoutError:
        return 0
    finally:
        connection.close()


def signed_sms(port: int, sid: str) -> tuple[int, float]:
    """POST a Twilio-signed SMS webhook; (status, seconds it took)."""
    form = {
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": "+639171234567",
        "To": "+15005550006",
        "Body": "Hindi binabayaran ang sahod ko",
        "NumMedia": "0",
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + "/channels/twilio/sms", form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROMPT_SECONDS + 2)
    start = time.monotonic()
    try:
        connection.request("POST", "/channels/twilio/sms", body=urlencode(form), headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - start
    except TimeoutError:
        return 0, time.monotonic() - start
    finally:
        connection.close()


@pytest.fixture
def web_port(config: dict[str, Any], redis: Any, tmp_path: Path) -> Iterator[int]:
    """The Procfile's `web:` command as written, bound to a free loopback port instead of 0.0.0.0."""
    command = procfile_web_command()
    assert "--bind 0.0.0.0:${PORT" in command
    command = command.replace("--bind 0.0.0.0:", "--bind 127.0.0.1:", 1)
    port = free_port()
    env = cli_env(
        config,
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        LOG_LEVEL="WARNING",
        PORT=port,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.pop("WEB_CONCURRENCY", None)  # the Procfile's default
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if get(port, "/healthz", timeout=2) == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the web command did not answer /healthz"
            time.sleep(0.3)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def test_slow_bodies_do_not_stall_a_signed_webhook(web_port: int) -> None:
    for warm_up in range(4):  # every worker imports what a webhook needs before the clock starts
        assert signed_sms(web_port, f"SM{warm_up:032d}")[0] == 200
    slow = []
    for _ in range(SLOW_CLIENTS):
        client = socket.create_connection(("127.0.0.1", web_port), timeout=5)
        client.sendall(
            b"POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nbody="
        )
        slow.append(client)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(0.5):
            for client in slow:
                with contextlib.suppress(OSError):  # the server gave up on it
                    client.send(b"x")

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        time.sleep(1.0)  # the slow bodies are being read by now, and go on trickling meanwhile
        answers = [signed_sms(web_port, f"SM{100 + n:032d}") for n in range(3)]
        page = get(web_port, "/report?lang=tl", timeout=PROMPT_SECONDS)
    finally:
        stop.set()
        trickler.join(timeout=5)
        for client in slow:
            client.close()
    for status, seconds in answers:
        assert status == 200 and seconds < PROMPT_SECONDS, answers
    assert page == 200
