"""Shared fixtures: the bundled sample corpus and an index built from it once per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def load_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def sample_records() -> list[dict]:
    return load_jsonl(SAMPLES / "protected.jsonl")


@pytest.fixture(scope="session")
def sample_outputs() -> list[dict]:
    return load_jsonl(SAMPLES / "outputs.jsonl")


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, sample_records: list[dict]) -> Path:
    from build_index.build import build
    from dedupblock.params import IndexParams

    out = tmp_path_factory.mktemp("idx") / "sample.idx"
    build(sample_records, str(out), IndexParams())
    return out


@pytest.fixture(scope="session")
def blocker(sample_index: Path):
    from dedupblock import Blocker

    return Blocker(sample_index)
