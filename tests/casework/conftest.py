"""Tiny real argos packages, built once per test session (see tests/argos_package.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.argos_package import build_package


@pytest.fixture(scope="session")
def argos_archives(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """`.argosmodel` files for es→en, en→es and en→tl (distinct seeds, so distinct models)."""
    folder = tmp_path_factory.mktemp("argos-archives")
    return {
        pair: build_package(folder, source=pair[0], target=pair[1], seed=seed)
        for seed, pair in enumerate([("es", "en"), ("en", "es"), ("en", "tl")])
    }
