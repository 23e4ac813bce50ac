"""Shared fixtures: the example ladder and one default forecast reused across tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import bayes_scaling as bs

# ../shared/data beside the checkout; BAYES_SCALING_SHARED_DATA points elsewhere (e.g. from a git worktree)
SHARED_DATA = Path(os.environ.get("BAYES_SCALING_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
TARGETS = [1e21, 1e22]


@pytest.fixture(scope="session")
def example():
    return bs.example_runs()


@pytest.fixture(scope="session")
def example_forecast(example):
    """A default forecast (4 chains × 1000 draws after 1000 tuning steps), seed 0."""
    return bs.forecast(example, target=TARGETS, seed=0, progress=False)


@pytest.fixture(scope="session")
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"published scaling data not found at {SHARED_DATA}")
    return SHARED_DATA
