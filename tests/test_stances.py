"""Stance weights (``forecast run --stances``) against exact marginal likelihoods.

* Fixed parameters (``tests/oracle_models/gated.toml``, B observed true): a stance that believes the uncertain
  claim A -> B at 0.9 instead of 0.5. The Bayes factor must equal pgmpy's P(B = 1) under each network's
  credence, to 1e-9 (every draw has the same weight: the estimate is exact).
* A random base rate (``branch_beta.toml``: L's base ~ Beta(3.5, 6.5), X observed true, P(X | L) fixed): a
  stance with L's base ~ Beta(5, 5) (a bolder one, Beta(7, 3), gives Pareto k 0.94 from these draws: flagged, not
  tested). P(X = 1) = m P(X | L = 1) + (1 - m) P(X | L = 0) with m the Beta's mean,
  so the Bayes factor has a closed form; the estimate from the baseline's NUTS draws must lie within 4 of its
  stated Monte Carlo errors (or 0.01 on the log scale).
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import EXAMPLE, ROOT

from forecast.analyses.session import Session
from forecast.analyses.stances import stance_weights

sys.path.insert(0, str(Path(__file__).parent))
import test_oracle as oracle  # noqa: E402


def _p_evidence(name: str) -> float:
    ev = {k: int(v) for k, v in oracle.network(name)["evidence"].items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgmpy.inference import VariableElimination

        got = VariableElimination(oracle.pgmpy_network(name)).query(list(ev), joint=True, show_progress=False)
    return float(got.get_value(**ev))


def test_bayes_factor_equals_pgmpy_with_fixed_parameters(tmp_path, monkeypatch):
    text = (oracle.MODELS / "gated.toml").read_text()
    alt = text.replace('id = "A_B"', 'id = "A_B"', 1)
    at = alt.index('id = "A_B"')
    alt = alt[:at] + alt[at:].replace("credence = 0.5", "credence = 0.9", 1)
    (tmp_path / "gated.toml").write_text(text)
    (tmp_path / "gated_alt.toml").write_text(alt)
    monkeypatch.setattr(oracle, "MODELS", tmp_path)
    want = _p_evidence("gated_alt") / _p_evidence("gated")
    oracle.network.cache_clear()
    s = Session(tmp_path / "gated.toml", draws=200, seed=0, tune=100)
    base = s.run()
    w = stance_weights(s, base, [("file", s.baseline), ("believer", s.resolve(sets={"claims.A_B.credence": "0.9"}))])
    file_, believer = w["stances"]
    assert file_["log_bf"] == 0.0 and believer["pareto_k"] is not None
    assert believer["bayes_factor"] == pytest.approx(want, rel=1e-9), (believer, want)
    assert abs(want - 1.0) > 0.05  # the two stances predict the evidence differently: the test can fail
    assert file_["weight"] + believer["weight"] == pytest.approx(1.0)
    assert believer["weight"] == pytest.approx(want / (1 + want), rel=1e-9)
    for q, p in w["averaged"].items():  # the averaged forecast lies between the two stances'
        lo, hi = sorted((file_["forecasts"][q], believer["forecasts"][q]))
        assert lo - 1e-12 <= p <= hi + 1e-12
    oracle.network.cache_clear()


@pytest.mark.slow
def test_bayes_factor_matches_the_closed_form_with_a_random_base_rate():
    s = Session(oracle.MODELS / "branch_beta.toml", draws=1000, seed=4, tune=500)
    base = s.run()
    alt = s.resolve(sets={"variables.L.base": {"dist": "Beta", "kwargs": {"alpha": 5.0, "beta": 5.0}}})
    w = stance_weights(s, base, [("file", s.baseline), ("alt", alt)])
    got = w["stances"][1]
    sig = lambda z: 1.0 / (1.0 + math.exp(-z))  # noqa: E731
    s0, s1 = 0.2, sig(math.log(0.2 / 0.8) + 2.0)  # P(X = 1 | L = 0), P(X = 1 | L = 1)
    p = lambda m: m * s1 + (1 - m) * s0  # noqa: E731
    want = math.log(p(0.5) / p(0.35))
    assert got["pareto_k"] is not None and got["pareto_k"] < 0.7, got
    assert abs(got["log_bf"] - want) <= 4 * got["mcse"] + 0.01, (got, want)
    assert abs(want) > 0.1


def test_run_stances_prints_every_prior_set():
    got = subprocess.run([sys.executable, "-m", "forecast", "run", str(EXAMPLE), "--priors",
                          str(ROOT / "priors" / "example_skeptic.toml"), "--stances", "--draws", "200", "--tune",
                          "300"], capture_output=True, text=True, cwd=ROOT, timeout=600,
                         env={**__import__("os").environ, "COLUMNS": "200"})
    assert got.returncode == 0, got.stderr
    assert "Stances: how well each prior set predicted the evidence" in got.stdout
    assert "example_skeptic" in got.stdout and "averaged" in got.stdout
