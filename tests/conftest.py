"""Shared fixtures: paths of the example model and a copy of it without evidence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "models" / "examples" / "trade_talks.toml"
EXAMPLE_SOURCES = ROOT / "models" / "examples" / "sources"
HANOI = ROOT / "models" / "hanoi_2019.toml"
PRIORS = ROOT / "priors" / "hanoi_2019"
HANOI_DRAWS = 1000
FRESH_DRAWS = 500  # the direct computations (fresh posteriors): their own session, seed and draws


@pytest.fixture(scope="module")
def hanoi():
    """A Hanoi session at the baseline prior set and its run (per test file: the shortcut tests)."""
    from forecast.analyses.session import Session

    s = Session(HANOI, PRIORS / "baseline.toml", draws=HANOI_DRAWS, seed=0)
    return s, s.run()


@pytest.fixture(scope="module")
def direct():
    """The session the direct computations (fresh posteriors) run in: nothing shared with ``hanoi``'s."""
    from forecast.analyses.session import Session

    return Session(HANOI, PRIORS / "baseline.toml", draws=FRESH_DRAWS, seed=1)


@pytest.fixture(scope="session")
def example_no_evidence(tmp_path_factory) -> Path:
    """The example model with its [[evidence]] tables removed (forward simulation only)."""
    text = EXAMPLE.read_text()
    text = re.sub(r"\[\[evidence\]\].*?(?=\n\[\[questions\]\])", "", text, flags=re.S)
    path = tmp_path_factory.mktemp("models") / "trade_talks_forward.toml"
    path.write_text(text)
    return path
