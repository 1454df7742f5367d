"""Soak Tulay's intake under faults, over real HTTP, and prove nothing is lost or doubled.

Starts its OWN throw-away servers (never the machine's shared ones): a PostgreSQL cluster
(initdb + pg_ctl in a temp dir, 127.0.0.1 on an ephemeral port), a redis-server (no
persistence, so a restart loses every queued job), a fake Twilio REST API, gunicorn with the
real app and 2+ RQ workers (`flask --app app worker`, supervised: restarted when they die, as
systemd would). Then it sends N signed SMS and WhatsApp webhooks, retrying every non-2xx like
Twilio, replaying some MessageSids (also two at once), while it injects faults:

- a worker SIGKILLed in the middle of a job (several times; its job is retried once its
  heartbeat expires),
- Redis killed and restarted empty,
- PostgreSQL restarted once (`pg_ctl restart -m fast`),
- the fake Twilio answering 500 to the next sends.

Afterwards it waits for the queues to drain and checks: every MessageSid that got a 2xx is
stored exactly once and processed (attached to a triaged case), and each one was acknowledged
exactly once (sends counted on the fake Twilio, per reporter); a last sweep finds nothing stuck.

    .venv/bin/python bench/soak.py                       # 600 messages, ~1-2 minutes on 2 cores
    .venv/bin/python bench/soak.py --messages 20000 --duration 600 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from tests.fakes import FakeTwilio, fake_twilio_server  # noqa: E402

PUBLIC_BASE_URL = "https://soak.tulay.test"
ACCOUNT_SID = "AC" + "0" * 32
# Outbound work not done: queued, or claimed by a send whose outcome was never recorded.
OUTBOUND_PENDING = (
    "direction = 'outbound' AND (delivery_status = 'queued' OR (delivery_status = 'sending' AND provider_id IS NULL))"
)
BODIES = [
    "Hindi pa binabayaran ang sahod ko, tatlong buwan na",
    "My employer took my passport and I have not been paid for two months",
    "No me han pagado el salario de este mes y el jefe no contesta",
    "मेरा वेतन तीन महीने से नहीं मिला है",
    "Gaji saya belum dibayar selama dua bulan",
]


@dataclass
class Options:
    messages: int = 600
    duration: float = 20.0  # seconds over which the messages are paced (faults are spread over it)
    concurrency: int = 8
    workers: int = 2
    web_workers: int = 2
    replay_fraction: float = 0.05  # answered messages sent again later (Twilio's retry)
    concurrent_replay_fraction: float = 0.03  # messages sent twice at the same moment
    worker_kills: int = 3
    redis_down_seconds: float = 2.0
    postgres_restart: bool = True
    twilio_500s: int = 15
    drain_timeout: float = 240.0
    seed: int = 1
    keep_logs: bool = False  # keep the temp dir (server and worker logs) for a post-mortem


@dataclass
class Report:
    sent: int = 0
    answered_2xx: int = 0
    attempts: Counter[int] = field(default_factory=Counter)  # HTTP status (0: no answer) per attempt
    replays: int = 0
    faults: list[str] = field(default_factory=list)
    stored: int = 0
    stored_distinct: int = 0
    unprocessed: int = 0
    untriaged: int = 0
    acks_expected: int = 0
    acks_sent: int = 0
    reporters_ack_mismatch: int = 0
    outbound_not_sent: int = 0
    final_sweep: dict[str, int] = field(default_factory=dict)
    stuck_jobs: dict[str, int] = field(default_factory=dict)
    drain_seconds: float = 0.0
    ack_seconds: list[float] = field(default_factory=list)  # 2xx to acknowledgement sent, per message
    send_seconds: float = 0.0
    worker_restarts: int = 0
    missing_sids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.stored == self.stored_distinct == self.answered_2xx == self.sent
            and not self.missing_sids
            and self.unprocessed == 0
            and self.untriaged == 0
            and self.acks_sent == self.acks_expected
            and self.reporters_ack_mismatch == 0
            and self.outbound_not_sent == 0
            and not any(self.final_sweep.values())
        )

    def latency_summary(self) -> str:
        if not self.ack_seconds:
            return "none sent"
        pick = self.ack_seconds
        return f"p50 {pick[len(pick) // 2]:.1f} s, p95 {pick[int(len(pick) * 0.95)]:.1f} s, max {pick[-1]:.1f} s"

    def lines(self) -> list[str]:
        return [
            f"messages sent: {self.sent} ({self.replays} replays of a MessageSid); HTTP attempts by status: "
            f"{dict(sorted(self.attempts.items()))} (0 = no answer); sending took {self.send_seconds:.1f} s",
            f"faults injected: {', '.join(self.faults) or 'none'}; worker restarts by the supervisor: "
            f"{self.worker_restarts}",
            f"answered 2xx: {self.answered_2xx}; stored: {self.stored} (distinct MessageSid {self.stored_distinct}); "
            f"missing: {len(self.missing_sids)}",
            f"unprocessed: {self.unprocessed}; processed but case untriaged: {self.untriaged}; "
            f"outbound still unsent: {self.outbound_not_sent}; drained in {self.drain_seconds:.1f} s",
            f"acknowledgements sent to Twilio: {self.acks_sent} for {self.acks_expected} messages; reporters whose "
            f"ack count differs from their message count: {self.reporters_ack_mismatch}",
            f"time from 2xx to acknowledgement sent: {self.latency_summary()}",
            f"final sweep (SWEEP_AFTER_SECONDS=0) re-enqueued: {self.final_sweep}; RQ state of work still "
            f"pending: {self.stuck_jobs or 'none'}",
            f"RESULT: {'OK - zero loss, zero duplicates' if self.ok else 'FAILED'}",
        ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(command: list[str], log: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start `command` with stdout and stderr appended to `log` (the parent's copy closed at once)."""
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **kwargs)


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{what} exited with {process.returncode}") from None
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temp dir (run as `postgres` when we are root)."""

    def __init__(self, workdir: Path) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin = Path(binaries[-1]).parent
        self.dir = workdir / "pg"
        self.dir.mkdir()
        self.port = free_port()
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(workdir, "postgres")
            shutil.chown(self.dir, "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.dir / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.prefix, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.dir / "data"),
            "-l",
            str(self.dir / "log"),
            "-o",
            options,
            "-w",
            action,
            *extra,
        )

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("stop", "-m", "immediate")


class PrivateRedis:
    """A redis-server on an ephemeral port without persistence: a restart loses every job."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir / "redis"
        self.dir.mkdir()
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = spawn(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            self.dir / "log",
        )
        wait_for_port(self.port, self.process, "redis-server")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Workers:
    """RQ worker processes, each in its own session, restarted when they exit (a supervisor)."""

    def __init__(self, count: int, env: dict[str, str], logdir: Path) -> None:
        self.env, self.logdir = env, logdir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.restarts = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        for index in range(count):
            self.processes.append(self._spawn(index))
        self.thread = threading.Thread(target=self._supervise, daemon=True)
        self.thread.start()

    def _spawn(self, index: int) -> subprocess.Popen[bytes]:
        return spawn(
            [str(ROOT / ".venv/bin/flask"), "--app", "app", "worker"],
            self.logdir / f"worker-{index}.log",
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
        )

    def _supervise(self) -> None:
        while not self.stopping.wait(0.5):
            with self.lock:
                for index, process in enumerate(self.processes):
                    if process.poll() is not None:
                        self.processes[index] = self._spawn(index)
                        self.restarts += 1

    def kill_busy(self, redis_url: str, timeout: float = 20) -> bool:
        """SIGKILL a worker (its whole process group) while it runs a job; True if one was."""
        from redis import Redis
        from rq import Worker

        connection = Redis.from_url(redis_url)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                with self.lock:
                    ours = {process.pid for process in self.processes if process.poll() is None}
                    for worker in Worker.all(connection=connection):
                        if worker.pid in ours and worker.get_state() == "busy":
                            with contextlib.suppress(ProcessLookupError):
                                os.killpg(worker.pid, signal.SIGKILL)
                            return True
                time.sleep(0.01)
        except Exception:  # Redis down at that moment: report the kill as skipped
            return False
        finally:
            connection.close()
        return False

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@dataclass
class Outgoing:
    sid: str
    path: str
    form: dict[str, str]
    sender: str  # the reporter's number, without the whatsapp: prefix


def make_messages(count: int, seed: int) -> list[Outgoing]:
    """`count` distinct webhooks, 2/3 SMS and 1/3 WhatsApp, from count/4 reporters."""
    rng = random.Random(seed)
    reporters = max(1, count // 4)
    messages = []
    for i in range(count):
        number = rng.randrange(reporters)
        sid = f"SM{secrets.token_hex(16)}"
        body = f"{rng.choice(BODIES)} ({i})"
        if i % 3 == 2:
            sender = f"+63918{number:07d}"
            form = {
                "MessageSid": sid,
                "SmsMessageSid": sid,
                "AccountSid": ACCOUNT_SID,
                "From": f"whatsapp:{sender}",
                "To": "whatsapp:+15005550006",
                "Body": body,
                "NumMedia": "0",
                "WaId": sender[1:],
                "ProfileName": "Soak",
                "ApiVersion": "2010-04-01",
            }
            path = "/channels/twilio/whatsapp"
        else:
            sender = f"+63917{number:07d}"
            form = {
                "MessageSid": sid,
                "SmsMessageSid": sid,
                "SmsSid": sid,
                "AccountSid": ACCOUNT_SID,
                "From": sender,
                "To": "+15005550006",
                "Body": body,
                "NumMedia": "0",
                "NumSegments": "1",
                "FromCountry": "PH",
                "ApiVersion": "2010-04-01",
            }
            path = "/channels/twilio/sms"
        messages.append(Outgoing(sid, path, form, sender))
    return messages


def raw_request(message: Outgoing, port: int, auth_token: str) -> bytes:
    signature = RequestValidator(auth_token).compute_signature(PUBLIC_BASE_URL + message.path, message.form)
    body = urlencode(message.form).encode()
    head = (
        f"POST {message.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        f"X-Twilio-Signature: {signature}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def post(port: int, raw: bytes) -> int:
    """One attempt; the HTTP status, or 0 when nothing (or garbage) came back."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
    except (TimeoutError, OSError):
        return 0
    try:
        writer.write(raw)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 60)
    except (TimeoutError, OSError):
        return 0
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return int(data[9:12]) if data.startswith(b"HTTP/1.") else 0


async def deliver(
    messages: list[Outgoing], port: int, auth_token: str, options: Options, report: Report, answered: dict[str, float]
) -> None:
    """Send every message until it gets a 2xx (Twilio retries), with replays and concurrent twins."""
    rng = random.Random(options.seed + 1)
    queue: asyncio.Queue[Outgoing] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)

    async def until_2xx(message: Outgoing, raw: bytes) -> None:
        delay = 0.2
        while True:
            status = await post(port, raw)
            report.attempts[status] += 1
            if 200 <= status < 300:
                return
            if status not in (0, 502, 503, 504):
                raise AssertionError(f"webhook answered {status} to a valid signed request")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3.0)

    rate = len(messages) / max(options.duration, 0.001)
    began = time.monotonic()
    order = {message.sid: index for index, message in enumerate(messages)}

    async def client() -> None:
        while not queue.empty():
            message = queue.get_nowait()
            wait = began + order[message.sid] / rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            raw = raw_request(message, port, auth_token)
            if rng.random() < options.concurrent_replay_fraction:
                report.replays += 1
                await asyncio.gather(until_2xx(message, raw), until_2xx(message, raw))
            else:
                await until_2xx(message, raw)
            answered.setdefault(message.sid, time.monotonic())
            if rng.random() < options.replay_fraction:
                report.replays += 1
                await until_2xx(message, raw)

    await asyncio.gather(*(client() for _ in range(options.concurrency)))


def start_gunicorn(env: dict[str, str], workers: int, logdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = spawn(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
            "--chdir",
            str(ROOT),
            "app:create_app()",
        ],
        logdir / "gunicorn.log",
        env=env,
        start_new_session=True,
    )
    wait_for_port(port, process, "gunicorn")
    # The master listens at once; its workers answer only once the app is built (seconds).
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30):
                return process, port
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("gunicorn's workers did not answer /healthz") from None
            time.sleep(0.2)


def fault_plan(options: Options) -> list[tuple[float, str]]:
    """(fraction of the sending time, fault) in order."""
    plan: list[tuple[float, str]] = []
    for k in range(options.worker_kills):
        plan.append((0.1 + 0.7 * k / max(1, options.worker_kills), "kill-worker"))
    if options.redis_down_seconds > 0:
        plan.append((0.25, "redis-down"))
    if options.postgres_restart:
        plan.append((0.45, "postgres-restart"))
    if options.twilio_500s:
        plan.append((0.6, "twilio-500"))
    return sorted(plan)


@contextlib.contextmanager
def environment(
    options: Options, log: Callable[[str], None]
) -> Iterator[tuple[dict[str, str], PrivatePostgres, PrivateRedis, FakeTwilio, Path]]:
    """Private PostgreSQL, Redis and fake Twilio, and the settings for Tulay processes using them."""
    workdir = Path(tempfile.mkdtemp(prefix="tulay-soak-"))
    postgres = PrivatePostgres(workdir)
    redis = PrivateRedis(workdir)
    postgres.start()
    redis.start()
    try:
        with fake_twilio_server() as fake:
            env = {
                **os.environ,
                "TULAY_ENV": "production",
                "SECRET_KEY": secrets.token_hex(24),
                "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "DATABASE_URL": postgres.url,
                "REDIS_URL": redis.url,
                "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
                "TWILIO_API_BASE_URL": fake.base_url,
                "TWILIO_SMS_FROM": "+15005550006",
                "TWILIO_WHATSAPP_FROM": "whatsapp:+15005550006",
                "INSTANCE_PATH": str(workdir / "instance"),
                "LOG_LEVEL": "WARNING",
                "SWEEP_AFTER_SECONDS": "3",
                "SWEEP_INTERVAL_SECONDS": "2",
            }
            for name in ("TULAY_TEST_DATABASE_URL", "TULAY_TEST_REDIS_URL"):
                env.pop(name, None)
            from app.db import upgrade_database

            upgrade_database(postgres.url.replace("postgresql://", "postgresql+psycopg://", 1))
            log(
                f"private PostgreSQL on 127.0.0.1:{postgres.port}, Redis on 127.0.0.1:{redis.port}, "
                f"fake Twilio at {fake.base_url}; logs in {workdir}"
            )
            yield env, postgres, redis, fake, workdir
    finally:
        redis.kill()
        postgres.stop()
        if not options.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)


def run_soak(options: Options, log: Callable[[str], None] = print) -> Report:
    """Run the whole soak and return its counts (see `Report.ok`)."""
    report = Report()
    messages = make_messages(options.messages, options.seed)
    with environment(options, log) as (env, postgres, redis, fake, workdir):
        gunicorn, port = start_gunicorn(env, options.web_workers, workdir)
        workers = Workers(options.workers, env, workdir)
        answered: dict[str, float] = {}  # MessageSid -> when it first got a 2xx
        plan = fault_plan(options)
        start = time.monotonic()

        def inject() -> None:
            """Inject each fault at its time (after the previous one ended), even once sending is done."""
            for fraction, fault in plan:
                delay = start + fraction * options.duration - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                began = time.monotonic()
                at = f"{began - start:.1f} s, {len(answered)} answered"
                if fault == "kill-worker":
                    done = workers.kill_busy(redis.url)
                elif fault == "redis-down":
                    redis.kill()
                    time.sleep(options.redis_down_seconds)
                    redis.start()
                    done = True
                elif fault == "postgres-restart":
                    postgres.restart()
                    done = True
                else:
                    with fake.lock:
                        fake.failures.extend([(500, 20500)] * options.twilio_500s)
                    done = True
                report.faults.append(
                    f"{fault}{'' if done else ' (no job running: skipped)'} "
                    f"at {at} (took {time.monotonic() - began:.1f} s)"
                )

        injector = threading.Thread(target=inject, daemon=True)
        injector.start()
        try:
            began = time.monotonic()
            asyncio.run(deliver(messages, port, env["TWILIO_AUTH_TOKEN"], options, report, answered))
            report.send_seconds = time.monotonic() - began
            injector.join()
            report.sent = len(messages)
            report.answered_2xx = len(answered)
            began = time.monotonic()
            drain(env, fake, options.drain_timeout)
            report.drain_seconds = time.monotonic() - began
            report.worker_restarts = workers.restarts
        finally:
            workers.stop()
            os.killpg(gunicorn.pid, signal.SIGTERM)
            gunicorn.wait(timeout=30)
        count(report, env, fake, messages, answered)
    return report


def pending(engine_url: str) -> tuple[int, int]:
    engine = create_engine(engine_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            inbound = conn.execute(
                text("SELECT count(*) FROM message WHERE direction = 'inbound' AND processing_state = 'received'")
            ).scalar_one()
            outbound = conn.execute(text(f"SELECT count(*) FROM message WHERE {OUTBOUND_PENDING}")).scalar_one()
    finally:
        engine.dispose()
    return int(inbound), int(outbound)


def drain(env: dict[str, str], fake: FakeTwilio, timeout: float) -> None:
    """Wait until the database shows no pending inbound or outbound work (workers + their sweeper)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pending(env["DATABASE_URL"]) == (0, 0):
            return
        time.sleep(1)


def count(
    report: Report, env: dict[str, str], fake: FakeTwilio, messages: list[Outgoing], answered: dict[str, float]
) -> None:
    """Fill the report from the database and from what the fake Twilio received."""
    from app import create_app
    from app.db import get_engine
    from app.jobs import sweep_unprocessed
    from app.queues import get_queues

    engine = create_engine(env["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT m.provider_id, m.processing_state, c.category FROM message m "
                "LEFT JOIN \"case\" c ON c.id = m.case_id WHERE m.direction = 'inbound'"
            )
        ).all()
        report.outbound_not_sent = conn.execute(
            text("SELECT count(*) FROM message WHERE direction = 'outbound' AND provider_id IS NULL")
        ).scalar_one()
    engine.dispose()
    stored = Counter(row[0] for row in rows)
    report.stored = len(rows)
    report.stored_distinct = len(stored)
    report.missing_sids = sorted(answered.keys() - set(stored))
    report.unprocessed = sum(1 for row in rows if row[1] != "processed")
    report.untriaged = sum(1 for row in rows if row[1] == "processed" and row[2] is None)
    expected = Counter(m.sender for m in messages if m.sid in answered)
    with fake.lock:
        acks = Counter(form["To"].removeprefix("whatsapp:") for form in fake.accepted)
        acked_at: dict[str, list[float]] = {}
        for form, at in zip(fake.accepted, fake.accepted_at, strict=True):
            acked_at.setdefault(form["To"].removeprefix("whatsapp:"), []).append(at)
    answered_at: dict[str, list[float]] = {}
    for message in messages:
        if message.sid in answered:
            answered_at.setdefault(message.sender, []).append(answered[message.sid])
    # A reporter's k-th acknowledgement answers their k-th message (acks carry no MessageSid).
    report.ack_seconds = sorted(
        ack - sent
        for sender, times in answered_at.items()
        for sent, ack in zip(sorted(times), sorted(acked_at.get(sender, [])), strict=False)
    )
    report.acks_expected = sum(expected.values())
    report.acks_sent = sum(acks.values())
    report.reporters_ack_mismatch = sum(
        1 for sender in expected.keys() | acks.keys() if expected[sender] != acks[sender]
    )
    settings = {
        key: env[key]
        for key in (
            "SECRET_KEY",
            "DATA_ENCRYPTION_KEY",
            "PUBLIC_BASE_URL",
            "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN",
            "TWILIO_API_BASE_URL",
            "INSTANCE_PATH",
            "REDIS_URL",
        )
    }
    app = create_app(
        {**settings, "TULAY_ENV": "production", "DATABASE_URL": env["DATABASE_URL"], "SWEEP_AFTER_SECONDS": 0}
    )
    with app.app_context():
        try:
            report.stuck_jobs = stuck_job_statuses(env["DATABASE_URL"])
            report.final_sweep = sweep_unprocessed()
        finally:
            get_engine().dispose()
            get_queues().connection.close()


def stuck_job_statuses(database_url: str) -> dict[str, int]:
    """RQ's view of every job whose row is still pending (the post-mortem of a failed soak)."""
    from rq.job import Job

    from app.queues import get_queues

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        ids = [
            f"inbound-{i}"
            for i in conn.execute(
                text("SELECT id FROM message WHERE direction = 'inbound' AND processing_state = 'received'")
            ).scalars()
        ]
        ids += [
            f"outbound-{i}" for i in conn.execute(text(f"SELECT id FROM message WHERE {OUTBOUND_PENDING}")).scalars()
        ]
    engine.dispose()
    statuses: Counter[str] = Counter()
    for job_id in ids:
        try:
            job = Job.fetch(job_id, connection=get_queues().connection)
            statuses[f"{job_id.split('-')[0]} {job.get_status()} retries_left={job.retries_left}"] += 1
        except Exception:
            statuses[f"{job_id.split('-')[0]} no job"] += 1
    return dict(statuses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Options()
    parser.add_argument("--messages", type=int, default=defaults.messages)
    parser.add_argument(
        "--duration",
        type=float,
        default=defaults.duration,
        help="seconds over which to pace the messages (faults spread over it)",
    )
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency, help="concurrent senders")
    parser.add_argument("--workers", type=int, default=defaults.workers, help="RQ worker processes (2+)")
    parser.add_argument("--web-workers", type=int, default=defaults.web_workers, help="gunicorn workers")
    parser.add_argument("--worker-kills", type=int, default=defaults.worker_kills, help="workers SIGKILLed mid-job")
    parser.add_argument("--twilio-500s", type=int, default=defaults.twilio_500s)
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--keep-logs", action="store_true", help="keep the temp dir with every process's log")
    args = parser.parse_args()
    options = Options(**vars(args))
    began = time.monotonic()
    report = run_soak(options)
    for line in report.lines():
        print(line)
    print(f"total {time.monotonic() - began:.0f} s on {os.cpu_count()} CPUs; {options}")
    if report.missing_sids:
        print(f"first missing MessageSids: {report.missing_sids[:5]}")
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
