"""`flask mt install` / `mt list`, the per-process MT registry, and the worker's preload."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from app.db import new_session
from app.jobs import intake_services
from app.mt import get_translator, packages_dir
from app.worker import warm_up
from casework.mt.apertium import installed_modes
from casework.mt.argos import ArgosEngine
from tests.argos_package import build_package


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package(tmp_path_factory.mktemp("cli-archive"), source="es", target="en", seed=3)


def test_install_then_list_shows_the_pair_with_engine_and_version(app: Any, runner: Any, archive: Path) -> None:
    result = runner.invoke(args=["mt", "install", str(archive)])
    assert result.exit_code == 0, result.output
    assert "installed es → en (version 1.0)" in result.output
    assert (packages_dir(app) / "es_en" / "model" / "model.bin").is_file()
    assert packages_dir(app) == Path(app.instance_path) / "argos-packages"
    listing = runner.invoke(args=["mt", "list"])
    assert listing.exit_code == 0
    assert "es → en  argos     es-en@1.0" in listing.output
    if "spa-eng" in installed_modes():  # Apertium's es→en is shadowed by argos, listed second
        assert "es → en  apertium" in listing.output and "shadowed" in listing.output


def test_corrupt_file_is_refused_with_its_name_and_others_still_install(
    runner: Any, app: Any, archive: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.argosmodel"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    result = runner.invoke(args=["mt", "install", str(broken), str(archive)])
    assert result.exit_code == 1
    assert "broken.argosmodel: not an argos package (not a zip archive)" in result.output
    assert "1 of 2 package(s) not installed" in result.output
    assert "installed es → en" in result.output


def test_missing_file_is_a_usage_error(runner: Any, tmp_path: Path) -> None:
    result = runner.invoke(args=["mt", "install", str(tmp_path / "nope.argosmodel")])
    assert result.exit_code != 0
    assert "nope.argosmodel" in result.output


def test_list_without_packages_says_what_that_means(make_app: Any, tmp_path: Path) -> None:
    application = make_app(MT_ENGINE_ORDER="")
    result = application.test_cli_runner().invoke(args=["mt", "list"])
    assert "no translation pairs installed" in result.output


def test_engine_order_setting_is_validated(make_app: Any) -> None:
    with pytest.raises(SystemExit):
        make_app(MT_ENGINE_ORDER="argos,google")


def test_service_is_built_once_per_app_and_honours_the_order(make_app: Any, archive: Path) -> None:
    application = make_app(MT_ENGINE_ORDER="apertium,argos")
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(packages_dir(application))
    with application.app_context():
        assert intake_services().translator is get_translator()
        names = [engine.name for engine in get_translator().engines]
    expected = ["apertium", "argos"] if "spa-eng" in installed_modes() else ["argos"]
    assert names == expected


def test_worker_warm_up_loads_installed_argos_models_once(make_app: Any, runner: Any, archive: Path) -> None:
    application = make_app()
    assert application.test_cli_runner().invoke(args=["mt", "install", str(archive)]).exit_code == 0
    warm_up(application)
    [argos] = [e for e in get_translator(application).engines if isinstance(e, ArgosEngine)]
    assert argos.loaded_pairs == {("es", "en")}


def test_worker_process_translates_with_argos_and_does_not_hang(
    app: Any, config: dict[str, Any], runner: Any, archive: Path
) -> None:
    import os
    import subprocess
    import sys

    from casework.intake import InboundMessage, accept_inbound
    from casework.models import Message, utcnow

    assert runner.invoke(args=["mt", "install", str(archive)]).exit_code == 0
    with new_session(expire_on_commit=True) as session:
        message, _ = accept_inbound(
            session,
            InboundMessage(
                channel="sms",
                external_id="SM" + "9" * 32,
                sender="+34600123456",
                body="El patrón no me ha pagado el sueldo de dos meses.",
                received_at=utcnow(),
            ),
        )
        session.commit()
        message_id = message.id
    env = {**os.environ, **{k: str(v) for k, v in config.items()}}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst", "--no-cron", "-q", "intake"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with new_session(expire_on_commit=True) as check:
        stored = check.get(Message, message_id)
        assert (stored.language, stored.translation_engine) == ("es", "argos")
        assert stored.translation and stored.translation_model_version == "es-en@1.0"
