"""The web process's own output (gunicorn, as the Procfile and `make run` start it) holds no
client address, user agent or query string: what a reporter's request looks like from outside
(who, on which device, reporting in which language) stays out of the logs. The app writes its own
request line instead: method, path without query, status, duration."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app import devserver
from tests.processes import ROOT, cli_env

CLIENT_ADDRESS = "127.0.0.77"  # a loopback address of its own, so any trace of it is the client's
USER_AGENT = "TulayProbe/7.7 (Linux; PlantedDevice-XJ9)"
QUERY = "lang=ne&probe=Qz7Kp2"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def procfile_web(port: int) -> list[str]:
    """The Procfile's `web:` command, as a platform runs it (a shell), bound to loopback."""
    [line] = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")]
    command = line.removeprefix("web:").strip()
    assert "--bind 0.0.0.0:${PORT:-5000}" in command
    return ["bash", "-c", command.replace("--bind 0.0.0.0:", "--bind 127.0.0.1:")]


def make_run_web(port: int) -> list[str]:
    """The gunicorn command `make run` (app/devserver.py) starts, bound to loopback."""
    return devserver.web_command("127.0.0.1", port)


def request(port: int, method: str, target: str, body: bytes = b"") -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(CLIENT_ADDRESS, 0))
    try:
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
        connection.request(method, target, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def wait_until_serving(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            if request(port, "GET", "/healthz") == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail("gunicorn did not answer /healthz")


def invalid_request(port: int) -> None:
    """A request line gunicorn itself refuses (scanners send these): its error log names the client."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(CLIENT_ADDRESS, 0)) as raw:
        raw.sendall(f"GARBAGE /report?{QUERY}\r\n\r\n".encode())
        raw.recv(1024)


@pytest.mark.slow
@pytest.mark.parametrize("command", [procfile_web, make_run_web], ids=["Procfile web", "make run"])
def test_web_process_logs_no_client_address_user_agent_or_query(
    command: Any, config: dict[str, Any], redis: Any, tmp_path: Path
) -> None:
    port = free_port()
    env = {**cli_env(config), "PORT": str(port), "WEB_CONCURRENCY": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # as in an activated venv
    env.pop("GUNICORN_CMD_ARGS", None)
    output = tmp_path / "web.log"
    with output.open("wb") as out:
        process = subprocess.Popen(
            command(port), env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_until_serving(port, process)
            assert request(port, "GET", f"/report?{QUERY}") == 200
            request(port, "POST", f"/report?{QUERY}", body=b"body=x")
            invalid_request(port)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    written = output.read_text(encoding="utf-8", errors="replace")
    for trace in (CLIENT_ADDRESS, "TulayProbe", "PlantedDevice", "Qz7Kp2", "probe=", "lang=ne"):
        assert trace not in written, (trace, written[-3000:])
    # The process really logged: gunicorn's own lines, the refused request, the app's request lines.
    assert "Booting worker" in written and "Invalid request" in written, written[-3000:]
    request_lines = [json.loads(line) for line in written.splitlines() if '"logger": "tulay.request"' in line]
    assert {(r["method"], r["path"], r["status"]) for r in request_lines} >= {("GET", "/report", 200)}, written
    assert all(isinstance(r["duration_ms"], float) for r in request_lines)
