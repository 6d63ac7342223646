"""Shared fixtures: paths of the example model and a copy of it without evidence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "models" / "examples" / "trade_talks.toml"
EXAMPLE_SOURCES = ROOT / "models" / "examples" / "sources"


@pytest.fixture(scope="session")
def example_no_evidence(tmp_path_factory) -> Path:
    """The example model with its [[evidence]] tables removed (forward simulation only)."""
    text = EXAMPLE.read_text()
    text = re.sub(r"\[\[evidence\]\].*?(?=\n\[\[questions\]\])", "", text, flags=re.S)
    path = tmp_path_factory.mktemp("models") / "trade_talks_forward.toml"
    path.write_text(text)
    return path
