"""Benchmark the SMS webhook against a bare Flask endpoint, over real HTTP.

Starts gunicorn on 127.0.0.1 twice with the same settings: once with Tulay (PostgreSQL +
Redis, signed requests, each storing a new message) and once with a bare Flask app answering
the same TwiML. For each it measures peak throughput (closed loop, `--concurrency` clients)
and, for the intake, latency at half of its peak rate (open loop, latency counted from the
scheduled send time so a stall is not hidden). Finally it checks that every 200 stored
exactly one message.

    .venv/bin/python bench/intake.py                      # ~1 minute on 2 cores
    .venv/bin/python bench/intake.py --requests 20000 --workers 8 --concurrency 64

Uses (and drops) a fresh PostgreSQL database, and flushes the Redis database it is given.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from redis import Redis  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from app.db import upgrade_database  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402

PATH = "/channels/twilio/sms"
PUBLIC_BASE_URL = "https://bench.tulay.test"
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = secrets.token_hex(16)


@dataclass
class Result:
    label: str
    count: int
    seconds: float
    latencies: list[float]
    statuses: Counter[int]

    @property
    def rps(self) -> float:
        return self.count / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"{self.label:<28} {self.count:>6} req  {self.rps:>8.1f} req/s  p50 {self.pct(0.50):>7.1f} ms  "
            f"p99 {self.pct(0.99):>7.1f} ms  statuses {dict(self.statuses)}"
        )


def signed_requests(count: int, start: int, host: str) -> list[bytes]:
    """`count` distinct, validly signed SMS webhooks (new MessageSid each; 1000 distinct senders)."""
    validator = RequestValidator(AUTH_TOKEN)
    requests = []
    for i in range(start, start + count):
        form = {
            "ToCountry": "US",
            "SmsMessageSid": f"SM{i:032x}",
            "NumMedia": "0",
            "SmsSid": f"SM{i:032x}",
            "SmsStatus": "received",
            "Body": f"Hindi pa binabayaran ang sahod ko, tatlong buwan na ({i})",
            "FromCountry": "PH",
            "To": "+15005550006",
            "NumSegments": "1",
            "MessageSid": f"SM{i:032x}",
            "AccountSid": ACCOUNT_SID,
            "From": f"+63917{i % 1000:07d}",
            "ApiVersion": "2010-04-01",
        }
        body = urlencode(form).encode()
        signature = validator.compute_signature(PUBLIC_BASE_URL + PATH, form)
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {signature}\r\nConnection: close\r\n\r\n"
        )
        requests.append(head.encode() + body)
    return requests


async def send(port: int, raw: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await reader.read()
    writer.close()
    return int(data[9:12]) if data.startswith(b"HTTP/1.") else 0


async def closed_loop(label: str, port: int, requests: list[bytes], concurrency: int) -> Result:
    pending = iter(requests)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def client() -> None:
        for raw in pending:
            began = time.perf_counter()
            statuses[await send(port, raw)] += 1
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return Result(label, len(requests), time.perf_counter() - began, latencies, statuses)


async def open_loop(label: str, port: int, requests: list[bytes], rate: float) -> Result:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def timed(raw: bytes, scheduled: float) -> None:
        statuses[await send(port, raw)] += 1
        latencies.append(time.perf_counter() - scheduled)  # from the scheduled time: no coordinated omission

    began = time.perf_counter()
    tasks = []
    for index, raw in enumerate(requests):
        scheduled = began + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed(raw, scheduled)))
    await asyncio.gather(*tasks)
    return Result(label, len(requests), time.perf_counter() - began, latencies, statuses)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(
    app_spec: str, port: int, args: argparse.Namespace, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--backlog",
        "2048",
        "--chdir",
        str(ROOT),
        app_spec,
    ]
    process = subprocess.Popen(
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn for {app_spec} exited; see {log}") from None
            time.sleep(0.2)
    raise SystemExit(f"gunicorn for {app_spec} did not start; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)  # its own session: the master and its workers only
    process.wait(timeout=30)


def measure(
    label: str,
    app_spec: str,
    args: argparse.Namespace,
    env: dict[str, str],
    workdir: Path,
    first_id: int,
    half_load: bool,
) -> list[Result]:
    port = free_port()
    process = start_gunicorn(app_spec, port, args, env, workdir / f"{app_spec.split(':')[0]}.log")
    host = f"127.0.0.1:{port}"
    try:
        warmup = signed_requests(args.warmup, first_id, host)
        warm = asyncio.run(closed_loop(f"{label} warm-up", port, warmup, args.concurrency))
        peak_requests = signed_requests(args.requests, first_id + args.warmup, host)
        peak = asyncio.run(closed_loop(f"{label} peak", port, peak_requests, args.concurrency))
        results = [warm, peak]
        if half_load:
            rate = peak.rps / 2  # half of the peak just measured
            count = max(100, int(rate * args.half_load_seconds))
            paced = signed_requests(count, first_id + args.warmup + args.requests, host)
            results.append(asyncio.run(open_loop(f"{label} at 50% of peak", port, paced, rate)))
        return results
    finally:
        stop(process)


def run(db_url: str, args: argparse.Namespace) -> tuple[int, int, list[tuple[list[Result], list[Result]]]]:
    """Migrate the scratch database, measure bare then intake in interleaved rounds, count what was stored."""
    upgrade_database(db_url)
    with tempfile.TemporaryDirectory(prefix="tulay-bench-") as tmp:
        workdir = Path(tmp)
        env = {
            **os.environ,
            "TULAY_ENV": "production",
            "SECRET_KEY": secrets.token_hex(24),
            "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DATABASE_URL": db_url,
            "REDIS_URL": args.redis_url,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
            "INSTANCE_PATH": str(workdir / "instance"),
            "LOG_LEVEL": args.log_level,
        }
        rounds = []
        next_id = 0
        for _ in range(args.rounds):  # interleaved, so a noisy neighbour hits both sides alike
            bare = measure("bare Flask", "bench.bare_app:create_app()", args, env, workdir, next_id, False)
            intake = measure("intake (/sms)", "app:create_app()", args, env, workdir, next_id + 10_000_000, True)
            rounds.append((bare, intake))
            next_id += 20_000_000
    engine = create_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM message")).scalar_one()
        distinct = conn.execute(text("SELECT count(DISTINCT provider_id) FROM message")).scalar_one()
    engine.dispose()
    return stored, distinct, rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server to create the throw-away database on",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3", help="Redis database (flushed)")
    parser.add_argument("--requests", type=int, default=3000, help="requests per peak measurement")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients at peak")
    parser.add_argument("--half-load-seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=1, help="interleaved bare/intake rounds (median reported)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the Procfile's default)")
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--log-level", default="INFO", help="Tulay's LOG_LEVEL (INFO logs each stored message)")
    args = parser.parse_args()

    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    with scratch_database(args.database_url) as db_url:
        try:
            stored, distinct, rounds = run(db_url, args)
        finally:
            redis.flushdb()
    print(
        f"gunicorn: {args.workers} {args.worker_class} workers x {args.threads} threads; "
        f"{args.concurrency} concurrent clients; {os.cpu_count()} CPUs shared by server, client, PostgreSQL, Redis"
    )
    answered = 0
    ratios, half_p99 = [], []
    for number, (bare, intake) in enumerate(rounds, 1):
        print(f"-- round {number}")
        for result in bare[1:] + intake[1:]:
            print(result.line())
        answered += sum(r.statuses[200] for r in intake)
        ratios.append(intake[1].rps / bare[1].rps)
        half_p99.append(intake[2].pct(0.99))
        print(
            f"intake / bare throughput: {ratios[-1]:.0%} (target >= 50%); intake p99 at 50% of peak: "
            f"{half_p99[-1]:.1f} ms (target < 50 ms), p50 {statistics.median(intake[2].latencies) * 1000:.1f} ms"
        )
    if len(rounds) > 1:
        print(
            f"median over {len(rounds)} rounds: throughput ratio {statistics.median(ratios):.0%}, "
            f"p99 at 50% of peak {statistics.median(half_p99):.1f} ms"
        )
    print(
        f"stored messages: {stored} (distinct MessageSid {distinct}) for {answered} answered 200 "
        f"-> {'OK' if stored == distinct == answered else 'MISMATCH'}"
    )


if __name__ == "__main__":
    main()
