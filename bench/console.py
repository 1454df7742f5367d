"""Console latency at scale: queue (default order, searches) and case pages against bare SQL.

Creates its own PostgreSQL database (tulay_bench_console_<random>), migrates it, bulk-loads
cases and messages with COPY, then times the pages through the Flask test client (in-process:
routing, sign-in session, domain queries, decryption, templates, the audit write of a case
view; no HTTP server or network) and, in the same run, the same queries sent bare through
psycopg (no ORM, no decryption, no templates). The database is dropped at the end.

    .venv/bin/python bench/console.py                     # 20 000 cases / 200 000 messages
    .venv/bin/python bench/console.py --full              # 100 000 cases / 1 000 000 messages
    .venv/bin/python bench/console.py --cases 5000 --messages-per-case 10 --requests 100
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from app import create_app
from app.db import upgrade_database
from app.security import LAST_SEEN, SESSION_NONCE, SIGNED_IN_AT
from bench.scratch import scratch_database
from casework.cases import OPEN_STATUSES, REFERENCE_ALPHABET
from casework.models import Case, CaseStatus, ChannelKind, Urgency, queue_keys
from casework.privacy import employer_key, encrypt_text, lookup_hash

TARGET_P95_MS = 100.0  # issue 20: the queue and its searches at 100 000 cases
OLD_CASE = timedelta(days=90)
STATUSES = ["new", "triaged", "assigned", "investigating", "in_mediation", "referred", "resolved", "closed"]
URGENCIES = ["low", "normal", "normal", "normal", "high", "critical"]
CATEGORIES = [
    "wage_theft",
    "document_confiscation",
    "recruitment_fees",
    "contract_substitution",
    "unsafe_work",
    "harassment_violence",
    "forced_labour",
    "housing",
    "other",
]
COUNTRIES = ["SA", "AE", "QA", "KW", "MY", "SG", "HK", "JP", "IT", "ES"]
SECTORS = ["domestic_work", "construction", "agriculture", "manufacturing", "hospitality", "fishing"]
EMPLOYERS = 2000


def nonce(n: int) -> str:
    return f"bench-session-nonce-{n:06d}"


def phone(n: int) -> str:
    return f"+63917{n:07d}"


def employer(n: int) -> str:
    return f"Employer {n} Trading"


LANGUAGES = ["tl", "ne", "bn", "hi", "id", "vi", "my", "am", "sw", "ur", "ar", "es"]
BODIES = [
    "Hindi po binayaran ang sahod ko ng tatlong buwan",
    "मेरो पासपोर्ट मालिकले राखेको छ",
    "Majikan saya tidak membayar gaji",
    "Tôi bị giữ hộ chiếu và không được ra ngoài",
    "They took my phone and I work 16 hours every day",
    "The agency asked for 3000 dollars again",
]


def reference(n: int) -> str:
    digits = []
    for _ in range(8):
        n, r = divmod(n, 32)
        digits.append(REFERENCE_ALPHABET[r])
    raw = "".join(reversed(digits))
    return f"{raw[:4]}-{raw[4:]}"


def load(
    conn: psycopg.Connection[Any], cases: int, per_case: int, rng: random.Random, uniform_statuses: bool = False
) -> dict[str, Any]:
    """Bulk-load staff, reporters, cases, messages and one audit event per case with COPY.

    Statuses: cases older than three months are 90 % closed, newer ones spread over every
    status; `uniform_statuses` spreads all cases evenly instead (a worst case: ~85 % overdue).
    """
    now = datetime.now(UTC)
    enc_bodies = [encrypt_text(b) for b in BODIES * 20]  # a pool: every row still decrypts for real
    enc_contact = [encrypt_text(f"+63917{n:07d}") for n in range(200)]
    staff = []  # (id, role)
    with conn.cursor() as cur:
        with cur.copy(
            "COPY staff_user (id, email, display_name, role, languages, is_supervisor, active, "
            "password_hash, failed_logins, created_at, session_nonce) FROM STDIN"
        ) as copy:
            for i in range(1, 61):
                role = "admin" if i <= 3 else "ombudsperson" if i <= 25 else "mediator"
                staff.append((i, role))
                copy.write_row(
                    (
                        i,
                        f"staff{i}@bench.test",
                        f"Staff {i}",
                        role,
                        '["en", "tl"]',
                        False,
                        True,
                        "!bench",
                        0,
                        now,
                        nonce(i),
                    )
                )
        ombuds = [s for s, r in staff if r == "ombudsperson"]
        mediators = [s for s, r in staff if r == "mediator"]
        with cur.copy("COPY reporter (id, contact_hash, contact, language, opted_out, created_at) FROM STDIN") as copy:
            for i in range(1, cases + 1):  # the real keyed hash of each reporter's number (phone search)
                copy.write_row(
                    (i, lookup_hash("phone", phone(i)), rng.choice(enc_contact), rng.choice(LANGUAGES), False, now)
                )
        pseudonyms = [employer_key(employer(n)) for n in range(EMPLOYERS)]
        with cur.copy(
            'COPY "case" (id, reference, status, category, category_confidence, urgency, route, channel, '
            "language, needs_human_translation, needs_human_triage, country, sector, employer_pseudonym, "
            "reporter_wrote_back_at, reporter_id, assignee_id, pin_failures, created_at, "
            "updated_at, first_response_due_at, first_response_at, resolution_due_at, version, queue_rank, "
            "queue_due_at) FROM STDIN"
        ) as copy:
            for i in range(1, cases + 1):
                created = now - timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
                status = rng.choice(STATUSES)
                if not uniform_statuses and now - created > OLD_CASE and rng.random() < 0.9:
                    status = "closed"  # most cases older than three months are closed, as in a working hotline
                route = rng.choice(["ombudsperson", "ombudsperson", "mediation"])
                assignee = (
                    None if status in ("new", "triaged") else rng.choice(mediators if route == "mediation" else ombuds)
                )
                answered = created + timedelta(hours=rng.randrange(1, 96)) if rng.random() < 0.8 else None
                urgency = rng.choice(URGENCIES)
                # the stored queue keys, as the ORM's before-insert hook computes them
                keys = Case(
                    reference="",
                    channel=ChannelKind.SMS,
                    reporter_id=i,
                    status=CaseStatus(status),
                    urgency=Urgency(urgency),
                    needs_human_triage=status in ("new", "triaged") and rng.random() < 0.1,
                    first_response_due_at=created + timedelta(days=2),
                    first_response_at=answered,
                    resolution_due_at=created + timedelta(days=30),
                )
                copy.write_row(
                    (
                        i,
                        reference(i * 7919 + 1),
                        status,
                        rng.choice(CATEGORIES),
                        rng.random(),
                        urgency,
                        route,
                        rng.choice(["sms", "whatsapp", "web"]),
                        rng.choice(LANGUAGES),
                        rng.random() < 0.05,
                        keys.needs_human_triage,
                        rng.choice(COUNTRIES),
                        rng.choice(SECTORS),
                        rng.choice(pseudonyms),
                        now - timedelta(hours=rng.randrange(1, 72)) if rng.random() < 0.05 else None,
                        i,
                        assignee,
                        0,
                        created,
                        created,
                        created + timedelta(days=2),
                        answered,
                        created + timedelta(days=30),
                        1,
                        *queue_keys(keys),
                    )
                )
        with cur.copy(
            "COPY message (case_id, reporter_id, direction, channel, kind, body, language, translation, "
            "translation_language, translation_engine, needs_human_translation, processing_state, "
            "send_attempts, created_at) FROM STDIN"
        ) as copy:
            for i in range(1, cases + 1):
                start = now - timedelta(days=rng.randrange(0, 700))
                for k in range(per_case):
                    inbound = k % 2 == 0
                    copy.write_row(
                        (
                            i,
                            i,
                            "inbound" if inbound else "outbound",
                            "sms",
                            "message" if inbound else "reply",
                            rng.choice(enc_bodies),
                            "tl",
                            rng.choice(enc_bodies),
                            "en",
                            "argos",
                            False,
                            "processed" if inbound else None,
                            0,
                            start + timedelta(hours=k),
                        )
                    )
        with cur.copy("COPY case_event (case_id, actor_kind, action, detail, created_at) FROM STDIN") as copy:
            for i in range(1, cases + 1):
                copy.write_row((i, "system", "case_opened", '{"channel": "sms"}', now))
        for table in ("staff_user", "reporter", "case", "message", "case_event"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"
            )
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")
    conn.autocommit = False
    return {"ombudsperson_id": ombuds[0], "mediator_id": mediators[0]}


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    for _ in range(min(10, runs)):
        fn()  # warm caches, pools and template compilation
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


OPEN = ", ".join(f"'{s.value}'" for s in OPEN_STATUSES)
UNRESOLVED = ", ".join(f"'{s.value}'" for s in OPEN_STATUSES if s.value != "resolved")
# The queue's default order (casework/worklist.py queue_order): the stored keys, one index.
DEFAULT_ORDER = "c.queue_rank, c.queue_due_at ASC NULLS LAST, c.id"
QUEUE_SQL = """SELECT count(*) FROM "case" c WHERE {where};
SELECT c.*, s.display_name FROM "case" c LEFT JOIN staff_user s ON s.id = c.assignee_id WHERE c.id IN (
SELECT c.id FROM "case" c WHERE {where} ORDER BY {order} LIMIT 50 OFFSET {offset})"""
# The page's previews: the latest inbound message of each case shown.
PREVIEW_SQL = """SELECT m.* FROM message m WHERE m.id IN (SELECT max(id) FROM message WHERE case_id IN (
SELECT c.id FROM "case" c WHERE {where} ORDER BY {order} LIMIT 50 OFFSET {offset}) AND direction = 'inbound'
GROUP BY case_id)"""
OVERDUE = (
    f"c.status IN ({OPEN}) AND ((c.first_response_at IS NULL AND c.first_response_due_at < now()) OR "
    f"(c.status IN ({UNRESOLVED}) AND c.resolution_due_at < now()))"
)
CASE_SQL = [
    """SELECT id, * FROM "case" WHERE reference = %(ref)s""",
    "SELECT * FROM message WHERE case_id = %(id)s ORDER BY created_at, id",
    "SELECT * FROM note WHERE case_id = %(id)s ORDER BY created_at, id",
    "SELECT * FROM case_event WHERE case_id = %(id)s AND action <> 'case_viewed' ORDER BY created_at, id",
    "SELECT * FROM mediation_session WHERE case_id = %(id)s",
    "SELECT * FROM outcome WHERE case_id = %(id)s",
    "SELECT * FROM staff_user",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--messages-per-case", type=int, default=10)
    parser.add_argument("--full", action="store_true", help="100 000 cases and 1 000 000 messages")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per scenario")
    parser.add_argument(
        "--uniform-statuses",
        action="store_true",
        help="spread statuses evenly over all cases, old ones too (most cases then overdue)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TULAY_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    cases = 100_000 if args.full else args.cases
    rng = random.Random(4)
    with scratch_database(args.database_url, prefix="tulay_bench_console") as url:
        return run(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
            cases,
            args.messages_per_case,
            args.requests,
            rng,
            args.uniform_statuses,
        )


def run(dsn: str, cases: int, per_case: int, runs: int, rng: random.Random, uniform_statuses: bool) -> int:
    upgrade_database(dsn)
    instance = tempfile.mkdtemp(prefix="tulay-bench-")
    app = create_app(
        {
            "TULAY_ENV": "development",
            "SECRET_KEY": "bench-secret-key-0123456789",
            "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DATABASE_URL": dsn,
            "INSTANCE_PATH": instance,
            "LOG_LEVEL": "WARNING",
        }
    )
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        ids = load(conn, cases, per_case, rng, uniform_statuses)
        loaded = time.perf_counter() - started
        print(f"loaded {cases:,} cases and {cases * per_case:,} messages with COPY in {loaded:.1f} s")
        (overdue,) = conn.execute(f'SELECT count(*) FROM "case" c WHERE {OVERDUE}').fetchone() or (0,)
        print(f"{overdue:,} cases overdue ({'uniform' if uniform_statuses else 'realistic'} statuses)")
        refs = [r for (r,) in conn.execute('SELECT reference FROM "case" ORDER BY random() LIMIT %s', (runs + 10,))]
        conn.commit()

        def client_as(user_id: int) -> Any:
            client = app.test_client()
            with client.session_transaction() as flask_session:  # what sign-in writes
                flask_session["_user_id"] = str(user_id)
                flask_session["_fresh"] = True
                flask_session[SESSION_NONCE] = nonce(user_id)
                flask_session[SIGNED_IN_AT] = flask_session[LAST_SEEN] = int(time.time())
            return client

        ombud, mediator = client_as(ids["ombudsperson_id"]), client_as(ids["mediator_id"])

        def page(client: Any, url: str) -> Callable[[], None]:
            def get() -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            return get

        def sql(where: str, offset: int = 0, order: str = DEFAULT_ORDER) -> Callable[[], None]:
            statements = QUEUE_SQL.format(where=where, offset=offset, order=order).split(";")
            statements.append(PREVIEW_SQL.format(where=where, offset=offset, order=order))

            def query() -> None:
                for statement in statements:
                    conn.execute(statement).fetchall()
                conn.commit()

            return query

        deep = max(1, min(100, cases // 50 // 2))  # a page deep in the queue that still has rows
        scenarios: list[tuple[str, Callable[[], None], Callable[[], None]]] = [
            ("queue, all cases, page 1", page(ombud, "/console/"), sql("true")),
            (
                "queue, status=assigned & urgency=high",
                page(ombud, "/console/?status=assigned&urgency=high"),
                sql("c.status = 'assigned' AND c.urgency = 'high'"),
            ),
            ("queue, overdue only", page(ombud, "/console/?overdue=true"), sql(OVERDUE)),
            (f"queue, page {deep}", page(ombud, f"/console/?page={deep}"), sql("true", offset=(deep - 1) * 50)),
            ("queue, mediator's own cases", page(mediator, "/console/"), sql(f"c.assignee_id = {ids['mediator_id']}")),
            (
                "queue, sort=newest",
                page(ombud, "/console/?sort=newest"),
                sql("true", order="c.created_at DESC, c.id DESC"),
            ),
            (
                "queue, reporter wrote back",
                page(ombud, "/console/?wrote_back=true"),
                sql("c.reporter_wrote_back_at IS NOT NULL"),
            ),
        ]
        # The three searches, each a different case every request.
        picks = [rng.randrange(1, cases + 1) for _ in range(runs + 10)]
        ref_of: dict[int, str] = dict(
            conn.execute('SELECT id, reference FROM "case" WHERE id = ANY(%s)', (picks,)).fetchall()
        )
        conn.commit()

        def search(client: Any, make_url: Callable[[int], str]) -> Callable[[], None]:
            picked = iter(picks * 3)

            def get() -> None:
                url = make_url(next(picked))
                response = client.get(url)
                assert response.status_code == 200 and response.text.count('name="reference"') >= 1, url

            return get

        def search_sql(make_where: Callable[[int], str]) -> Callable[[], None]:
            picked = iter(picks * 3)

            def query() -> None:
                where = make_where(next(picked))
                for statement in QUEUE_SQL.format(where=where, offset=0, order=DEFAULT_ORDER).split(";"):
                    conn.execute(statement).fetchall()
                conn.execute(PREVIEW_SQL.format(where=where, offset=0, order=DEFAULT_ORDER)).fetchall()
                conn.commit()

            return query

        scenarios += [
            (
                "search: reference",
                search(ombud, lambda i: f"/console/?q={ref_of[i]}"),
                search_sql(lambda i: f"c.reference LIKE '{ref_of[i]}%'"),
            ),
            (
                f"search: employer (1 of {EMPLOYERS})",
                search(ombud, lambda i: "/console/?employer=" + employer(i % EMPLOYERS).replace(" ", "+")),
                search_sql(lambda i: f"c.employer_pseudonym = '{employer_key(employer(i % EMPLOYERS))}'"),
            ),
            (
                "search: reporter phone",
                search(ombud, lambda i: "/console/?phone=" + phone(i).replace("+", "%2B")),
                search_sql(
                    lambda i: (
                        "c.reporter_id IN (SELECT id FROM reporter WHERE contact_hash = "
                        f"'{lookup_hash('phone', phone(i))}')"
                    )
                ),
            ),
        ]
        ref_iter, sql_iter = iter(refs * 3), iter(refs * 3)

        def case_page() -> None:
            response = ombud.get(f"/console/cases/{next(ref_iter)}")
            assert response.status_code == 200

        def case_sql() -> None:
            row = conn.execute(CASE_SQL[0], {"ref": next(sql_iter)}).fetchone()
            assert row is not None
            for statement in CASE_SQL[1:]:
                conn.execute(statement, {"id": row[0]}).fetchall()
            conn.commit()

        scenarios.append((f"case page ({per_case} messages)", case_page, case_sql))
        print(
            f"\n{runs} timed requests per scenario (after warm-up); console through the Flask test client, "
            f"bare SQL through psycopg on the same database\n"
        )
        print(f"{'scenario':44} {'console p50':>11} {'console p95':>11} {'SQL p95':>8} {'ratio':>6}  target")
        worst = 0.0
        for label, console_fn, sql_fn in scenarios:
            console = timed(console_fn, runs)
            bare = timed(sql_fn, runs)
            c95, s95 = p95(console), p95(bare)
            worst = max(worst, c95)
            print(
                f"{label:44} {statistics.median(console):9.1f}ms {c95:9.1f}ms {s95:6.1f}ms {c95 / s95:5.1f}x  "
                f"{'ok' if c95 < TARGET_P95_MS else 'MISSED'}"
            )
    print(f"\nworst console p95 {worst:.1f} ms (target < {TARGET_P95_MS:.0f} ms)")
    return 0 if worst < TARGET_P95_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
