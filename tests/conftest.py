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


# The example model with made-up outcomes recorded (the track-record tests: score, history): question id ->
# (outcome as written in TOML, resolved_on, the outcome as 1/0).
EXAMPLE_OUTCOMES = {"q_tariffs": ("true", "2024-11-15", 1.0), "q_crisis": ("false", "2025-03-31", 0.0),
                    "q_diversion": ("0.46", "2025-09-01", 1.0)}


def example_with_outcomes(folder: Path, outcomes: dict = EXAMPLE_OUTCOMES) -> Path:
    """A copy of the example model in ``folder`` whose questions record ``outcomes``, its sources beside it."""
    text = EXAMPLE.read_text()
    for qid, (value, date, _) in outcomes.items():
        at = text.index(f'id = "{qid}"')
        end = text.index("importance", at)
        text = text[:end] + f"outcome = {value}\nresolved_on = {date}\n" + text[end:]
    path = folder / "trade_talks.toml"
    path.write_text(text)
    (folder / "sources").symlink_to(EXAMPLE_SOURCES)
    return path

