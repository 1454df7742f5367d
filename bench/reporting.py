"""Benchmark compliance reporting on PostgreSQL: summary endpoint p95 and full CSV export,
each against the bare SQL a database does without any privacy protection (GROUP BY, COPY).

    .venv/bin/python bench/reporting.py --records 200000            # default scale
    .venv/bin/python bench/reporting.py --records 1000000           # the target scale

Creates (and drops) its own database next to --database-url; binds nothing; no network.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session

from app import create_app, jobs
from app.db import upgrade_database
from app.transparency import release as compliance_cache
from bench.scratch import scratch_database
from casework.compliance.release import embargo_month, release_statement
from casework.compliance.schema import TABLE_DIMENSIONS
from casework.models import ComplianceRecord

CATEGORIES = (
    ["wage_theft"] * 6
    + ["document_confiscation"] * 3
    + ["recruitment_fees"] * 3
    + ["contract_substitution", "unsafe_work", "harassment_violence", "forced_labour", "housing", "other"]
)
COUNTRIES = {"MY": "MYR", "QA": "QAR", "AE": "AED", "SA": "SAR", "SG": "SGD", "KW": "KWD", "JO": "JOD", "LB": "LBP"}
SECTORS = [
    "construction",
    "domestic_work",
    "manufacturing",
    "agriculture",
    "fishing",
    "hospitality",
    "security",
    "care",
]
CHANNELS = ["sms"] * 5 + ["whatsapp"] * 4 + ["web"]
LANGUAGE_GROUPS = ["south_asian"] * 4 + ["southeast_asian"] * 3 + ["east_african", "arabic", "eastern_european"]
OUTCOMES = ["remedied"] * 4 + ["partially_remedied"] * 2 + ["not_remedied"] * 2 + ["referred", "withdrawn"]
REMEDIES = ["wages_paid", "documents_returned", "fees_refunded", "contract_honoured", "compensation_paid"]
AMOUNT_BANDS = ["under_100", "100_999", "1000_9999", "10000_99999"]
FIRST = ["0", "1_2", "1_2", "3_7", "8_30", "31_plus"]
REMEDY = ["0_29", "30_89", "30_89", "90_179", "180_364", "365_plus"]
AGE = ["0_6", "7_29", "30_89", "30_89", "90_179", "180_plus"]
# COPY columns in the table's own order (synthetic_rows writes its values in that order).
COLUMNS = [c.name for c in ComplianceRecord.__table__.columns if c.name != "id"]


def synthetic_rows(count: int, seed: int) -> io.StringIO:
    """`count` plausible records as COPY text (tab-separated, \\N for null)."""
    rng = random.Random(seed)
    months = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
    employers = [f"E{rng.getrandbits(60):015X}" for _ in range(400)]
    out = io.StringIO()
    for i in range(count):
        closed = rng.choice(months)
        country = rng.choice(list(COUNTRIES))
        outcome = rng.choice(OUTCOMES)
        remedied = outcome in ("remedied", "partially_remedied")
        remedies = sorted(rng.sample(REMEDIES, rng.choice((1, 1, 2)))) if remedied else []
        money = remedied and rng.random() < 0.6
        inspection = rng.random() < 0.2
        values = [
            uuid.UUID(int=rng.getrandbits(128)).hex + uuid.UUID(int=i).hex[:32],
            closed,
            closed,
            rng.choice(CATEGORIES),
            rng.choice(["normal"] * 6 + ["high"] * 3 + ["critical"]),
            rng.choice(["ombudsperson", "mediation"]),
            rng.choice(CHANNELS),
            rng.choice(LANGUAGE_GROUPS),
            country,
            rng.choice(SECTORS),
            outcome,
            "[" + ", ".join(f'"{r}"' for r in remedies) + "]",
            rng.choice(AMOUNT_BANDS) if money else None,
            COUNTRIES[country] if money else None,
            rng.choice(FIRST),
            rng.choice(REMEDY) if remedied else None,
            rng.choice(AGE),
            "t" if inspection else "f",
            "t" if inspection and rng.random() < 0.3 else "f",
            rng.choice(employers) if rng.random() < 0.7 else None,
            "2026-01-01 00:00:00+00",
        ]
        out.write("\t".join("\\N" if v is None else v for v in values) + "\n")
    out.seek(0)
    return out


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def p95(times: list[float]) -> float:
    return sorted(times)[max(0, round(0.95 * len(times)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000, help="compliance records to load (target 1000000)")
    parser.add_argument("--repeat", type=int, default=20, help="summary requests to time")
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL server where a scratch database may be created",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    with scratch_database(args.database_url, keep=args.keep) as url:
        run(url, args)


def run(url: str, args: argparse.Namespace) -> None:
    upgrade_database(url)
    engine = create_engine(url)
    start = time.perf_counter()
    data = synthetic_rows(args.records, seed=5)
    generated = time.perf_counter() - start
    start = time.perf_counter()
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor, cursor.copy(f"COPY compliance_record ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            while chunk := data.read(1 << 20):
                copy.write(chunk)
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE compliance_record"))
    loaded = time.perf_counter() - start
    print(f"records: {args.records:,}  (generated in {generated:.1f} s, COPY-loaded in {loaded:.1f} s)")

    instance = tempfile.mkdtemp(prefix="tulay-bench-")
    app = create_app(
        {
            "TULAY_ENV": "test",
            "SECRET_KEY": "bench-secret-key-0123456789",
            "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DATABASE_URL": url,
            "INSTANCE_PATH": instance,
            "LOG_LEVEL": "WARNING",
        }
    )
    client = app.test_client()

    redis = app.extensions["tulay.queues"].connection

    def forget() -> None:
        with app.app_context():
            compliance_cache.forget()

    def drop_cache() -> None:
        for key in redis.keys("tulay:compliance:release:*"):
            redis.delete(key)
        forget()

    def summary() -> None:
        response = client.get("/api/v1/compliance/summary")
        assert response.status_code == 200, response.get_data(as_text=True)

    def refresh_job() -> None:
        with app.app_context():
            jobs.refresh_compliance_release()

    def summary_cold() -> None:
        drop_cache()
        response = client.get("/api/v1/compliance/summary")
        # Nothing published: a fast 503 (the request only asks a worker to compute the release).
        assert response.status_code == 503 and response.headers["Retry-After"], response.status_code

    def summary_new_process() -> None:
        forget()
        summary()

    def summary_period() -> None:
        response = client.get("/api/v1/compliance/summary?period=2025-01..2025-06&country=QA")
        assert response.status_code == 200

    dims = [*TABLE_DIMENSIONS, "closed_month"]  # the summary's tables and its monthly trend
    grouping_sets = ", ".join(f"({d})" for d in dims)

    def bare_group_by() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT category, count(*) FROM compliance_record GROUP BY category")).all()

    def bare_grouping_sets() -> None:
        with engine.connect() as conn:
            conn.execute(
                text(
                    f"SELECT {', '.join(dims)}, count(*) FROM compliance_record "
                    f"GROUP BY GROUPING SETS ({grouping_sets})"
                )
            ).all()

    refresh_job()
    summary()  # warm-up: first request compiles templates and fills pools
    results = {
        "summary, nothing published (503)": timed(summary_cold, 3),
        "refresh job (worker, every 300 s)": timed(refresh_job, 3),
        "summary, release from Redis": timed(summary_new_process, args.repeat),
        "summary (all), memoized": timed(summary, args.repeat),
        "summary (period+country), memoized": timed(summary_period, args.repeat),
        "bare GROUP BY category": timed(bare_group_by, args.repeat),
        "bare GROUPING SETS (10 dims)": timed(bare_grouping_sets, args.repeat),
    }
    print(f"\n{'query':<40}{'p50 ms':>10}{'p95 ms':>10}")
    for label, times in results.items():
        print(f"{label:<40}{statistics.median(times) * 1000:>10.1f}{p95(times) * 1000:>10.1f}")
    base = p95(results["bare GROUPING SETS (10 dims)"])
    for label in ("summary, nothing published (503)", "summary, release from Redis", "summary (all), memoized"):
        print(f"ratio {label} p95 / bare GROUPING SETS p95: {p95(results[label]) / base:.1f}x")

    out = Path(instance) / "export.csv"
    runner = app.test_cli_runner()
    start = time.perf_counter()
    result = runner.invoke(args=["compliance", "export", "--format", "csv", "--out", str(out)])
    export_s = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    exported = sum(1 for _ in out.open()) - 1
    with Session(engine) as conn:
        released = release_statement(5, embargo_month(conn, k=5)).subquery()
        levels = conn.execute(
            select(released.c.level, func.sum(released.c.n), func.count())
            .group_by(released.c.level)
            .order_by(released.c.level)
        ).all()
    print("\nrelease by generalization level (0 = every column published):")
    for level, records, patterns in levels:
        print(f"  level {level}: {int(records):>9,} records in {patterns:>7,} patterns")
    copy_out = Path(instance) / "copy.csv"
    start = time.perf_counter()
    raw = engine.raw_connection()
    try:
        with (
            raw.cursor() as cursor,
            copy_out.open("wb") as handle,
            cursor.copy(
                "COPY (SELECT closed_month, category, urgency, route, channel, language_group, country, sector, "
                "resolution_type, remedies, amount_band, currency, days_to_first_response_band, "
                "days_to_remedy_band, case_age_band, inspection_requested, sanction_reported, employer_pseudonym "
                "FROM compliance_record) TO STDOUT WITH (FORMAT csv, HEADER)"
            ) as copy,
        ):
            for chunk in copy:
                handle.write(chunk)
    finally:
        raw.close()
    copy_s = time.perf_counter() - start
    print(
        f"\nCSV export (CLI, k-anonymous release): {export_s:.2f} s for {exported:,} published rows "
        f"({args.records - exported:,} withheld)"
    )
    print(f"bare COPY ... TO STDOUT (no protection):  {copy_s:.2f} s for {args.records:,} rows")
    print(f"ratio export / COPY: {export_s / copy_s:.1f}x")
    app.extensions["tulay.engine"].dispose()
    app.extensions["tulay.queues"].connection.close()
    engine.dispose()


if __name__ == "__main__":
    main()
