"""Signposts (``forecast signposts``) against exact answers and against the direct computation.

* **Exact, fixed parameters**: on every oracle network (``tests/oracle_models``: chains, a collider, gates, an
  18-latent-event network summed out one event at a time), with a question on every variable, each indicator's
  P(yes), both branch forecasts, the forecast now, the expected change and the expected Brier reduction equal
  pgmpy's ``VariableElimination`` over each branch (``test_oracle.exact``) to 1e-6.
* **Sampled parameters**: on the example model (random strengths and base rates, NUTS), each event indicator's
  branch forecasts agree with the brute-force answer, a fresh posterior with the observation added (another
  session and seed), within 3 ESS-based Monte Carlo errors of the two combined.
* The commands (``signposts``, ``flips``): JSON shape, every unobserved variable ranked, a bad ``--question``
  refused with exit 2. The flips themselves are checked in ``test_flips.py``.

The Hanoi checks (every question ranked; the worlds' estimates against the exact ones) are in
``test_shortcuts_hanoi_loo.py``, which has a Hanoi posterior already.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLE, ROOT

from forecast.analyses.indicators import indicators
from forecast.analyses.session import Session
from forecast.analyses.signposts import branches, signposts
from forecast.analyses.summary import stat

sys.path.insert(0, str(Path(__file__).parent))
import test_oracle as oracle  # noqa: E402  (the oracle networks and pgmpy's exact answers)

EXACT = 1e-6


def _with_questions(name: str, tmp: Path) -> Path:
    """The oracle model with a question on every variable."""
    src = (oracle.MODELS / f"{name}.toml").read_text()
    doc = tomllib.loads(src)
    qs = "".join(f'\n[[questions]]\nid = "q_{v["id"]}"\ntext = "Will {v["id"]} happen?"\nvariable = "{v["id"]}"\n'
                 f'resolution = "it happens"\nresolves_by = 2030-01-01\n' for v in doc["variables"])
    path = tmp / f"{name}.toml"
    path.write_text(src + qs)
    return path


def _marginals(name: str, evidence: dict[str, float], variables) -> dict[str, float]:
    """P(v = 1 | evidence) of ``variables`` in the oracle network, exactly (``test_oracle.exact``: pgmpy's
    ``VariableElimination``, one query per variable, which keeps pgmpy's elimination orders small)."""
    return {v: oracle.exact(name, v, evidence) for v in variables}


@pytest.mark.parametrize("name,observe", [("chain", {"C": 1.0}), ("chain", {}), ("collider", {"D": 1.0}),
                                          ("branch", {}), ("gated", {}), ("gated", {"C": 1.0}), ("wide", {})])
def test_signposts_equal_exact_inference_with_fixed_parameters(tmp_path, name, observe):
    s = Session(_with_questions(name, tmp_path), draws=50, seed=3, tune=100, chains=2)
    base = s.run(s.resolve(observe=observe) if observe else None)
    data = signposts(s, base)
    evidence = {**oracle.network(name)["evidence"], **observe}
    bad, n = [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = [v for v in oracle.network(name)["parents"] if not v.startswith("gate:")]
        now = _marginals(name, evidence, events)
        watch = [x for x in events if x not in evidence]
        if len(watch) > 8:  # the 24-event network: six indicators, every question (pgmpy's queries are the cost)
            watch = watch[:: len(watch) // 6][:6]
        branch = {(x, value): _marginals(name, {**evidence, x: value}, events) for x in watch for value in (0.0, 1.0)}
        for qid, q in data["questions"].items():
            v = qid[2:]
            f = now[v]
            assert abs(q["now"] - f) < EXACT, (qid, q["now"], f)
            watched = {d["variable"] for d in q["indicators"]}
            assert watched == set(oracle.network(name)["base"]) - {v} - set(evidence) - {
                g for g in oracle.network(name)["base"] if g.startswith("gate:")}
            for d in q["indicators"]:
                x = d["variable"]
                if x not in watch:
                    continue
                px, f1, f0 = now[x], branch[x, 1.0][v], branch[x, 0.0][v]
                want = {"p_yes": px, "yes": f1, "no": f0, "now": f,
                        "expected_change": px * abs(f1 - f) + (1 - px) * abs(f0 - f),
                        "brier_reduction": px * (f1 - f) ** 2 + (1 - px) * (f0 - f) ** 2}
                got = {"p_yes": d["p_yes"], "yes": d["yes"]["forecast"], "no": d["no"]["forecast"], "now": d["now"],
                       "expected_change": d["expected_change"], "brier_reduction": d["brier_reduction"]}
                n += 1
                assert d["method"] == "exact", (qid, x, d["method"])
                for k, w in want.items():
                    if got[k] is None or abs(got[k] - w) > EXACT:
                        bad.append(f"{name} {qid} watch {x}: {k} {got[k]} exact {w}")
    assert n and not bad, bad[:10]


def test_the_branch_arithmetic_against_a_closed_form():
    """Two kinds of draw, P(yes) 0.2 and 0.6, with P(q | yes) 0.9 / 0.5 and P(q | no) 0.3 / 0.1, in equal
    numbers: P(yes) = 0.4, P(q | yes) = (0.2 * 0.9 + 0.6 * 0.5) / 0.8, P(q | no) = (0.8 * 0.3 + 0.4 * 0.1) / 1.2."""
    a = np.array([0.2, 0.6] * 50)
    b = np.array([0.2 * 0.9, 0.6 * 0.5] * 50)
    f = b + np.array([0.8 * 0.3, 0.4 * 0.1] * 50)
    d = branches(a, b, f)
    f1, f0 = (0.18 + 0.30) / 0.8, (0.24 + 0.04) / 1.2
    now = 0.4 * f1 + 0.6 * f0
    assert d["p_yes"] == pytest.approx(0.4) and d["now"] == pytest.approx(now)
    assert d["yes"]["forecast"] == pytest.approx(f1) and d["no"]["forecast"] == pytest.approx(f0)
    assert d["brier_reduction"] == pytest.approx(0.4 * (f1 - now) ** 2 + 0.6 * (f0 - now) ** 2)
    assert d["uncertainty_removed"] == pytest.approx(d["brier_reduction"] / (now * (1 - now)))
    same = branches(a, a * 0.5, np.full(100, 0.5))  # the question does not depend on the indicator
    assert same["brier_reduction"] == pytest.approx(0.0, abs=1e-15)


@pytest.mark.slow
def test_signposts_with_sampled_parameters_match_fresh_posteriors():
    s = Session(EXAMPLE, draws=600, seed=0, tune=500)
    base = s.run()
    data = signposts(s, base, fresh=False)
    direct = Session(EXAMPLE, draws=600, seed=5, tune=500)
    bad, n = [], 0
    for ind in indicators(base.resolved):
        if ind.kind != "event":
            continue
        for side, value in (("yes", 1.0), ("no", 0.0)):
            fresh = direct.run(direct.resolve(observe={ind.variable: value}))
            for qid, q in data["questions"].items():
                row = next((d for d in q["indicators"] if d["variable"] == ind.variable), None)
                if row is None:
                    continue
                want = stat(fresh, f"q:{qid}")
                tol = 3 * math.hypot(row[side]["mcse"], want["mcse"])
                n += 1
                if not abs(row[side]["forecast"] - want["mean"]) <= tol:
                    bad.append(f"{ind.variable}={value:g} {qid} ({row['method']}): signposts "
                               f"{row[side]['forecast']:.4f}, fresh {want['mean']:.4f}, tolerance {tol:.4f}")
    assert n >= 6 and not bad, bad


def _cli(*args: str, command: str = "signposts") -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}  # the tables unwrapped
    return subprocess.run([sys.executable, "-m", "forecast", command, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, env=env)


def test_signposts_command(capsys, monkeypatch):
    from forecast.render_analyses import print_signposts

    got = _cli(str(EXAMPLE), "--draws", "100", "--tune", "200", "--json")
    assert got.returncode == 0, got.stderr
    data = json.loads(got.stdout)
    assert set(data["questions"]) == {"q_tariffs", "q_crisis", "q_diversion"}
    for q in data["questions"].values():
        rows = q["indicators"]
        assert [d["brier_reduction"] for d in rows] == sorted((d["brier_reduction"] for d in rows), reverse=True)
        for d in rows:  # the two branches average back to the forecast now
            assert d["p_yes"] * d["yes"]["forecast"] + (1 - d["p_yes"]) * d["no"]["forecast"] == pytest.approx(
                d["now"], abs=1e-9)
    from forecast import render

    monkeypatch.setattr(render.out, "width", 250)  # wide enough that no title or cell wraps
    print_signposts(data, 2)  # the tables the command prints without --json
    table = capsys.readouterr().out
    for qid, q in data["questions"].items():
        assert f"{qid}: {q['text']}" in table and q["indicators"][0]["watch"] in table


@pytest.mark.parametrize("command", ["signposts", "flips"])
def test_an_unknown_question_is_refused_before_any_work(command):
    got = _cli(str(EXAMPLE), "--question", "q_crisys", command=command)
    assert got.returncode == 2 and "Traceback" not in got.stderr
    assert "questions.q_crisys" in got.stderr and "q_crisis" in got.stderr


def test_flips_command():
    """``forecast flips --json`` for one question: each flip says what reproduces it, and its word differs."""
    got = _cli(str(EXAMPLE), "--draws", "100", "--tune", "200", "--question", "q_crisis", "--json", command="flips")
    assert got.returncode == 0, got.stderr
    data = json.loads(got.stdout)
    assert list(data["questions"]) == ["q_crisis"]
    q = data["questions"]["q_crisis"]
    assert q["flips"] or q["none"]
    for f in q["flips"]:
        assert f["to"] != f["from"] == q["word"] and f["probability"]["word"] == f["to"]
        assert f["change"]["set"] or f["change"]["kind"] in ("removed", "reversed")
