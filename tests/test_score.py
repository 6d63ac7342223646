"""``forecast score``: the scores of resolved questions against a hand computation.

A copy of the example model records (made-up) outcomes for its three questions: a tariff round announced
(true), no coalition crisis (false), and the trade share read at 0.46 against the question's threshold of
0.4 (true). The scores of each prior set must equal the Brier and log scores computed by hand from the
forecasts `forecast run` gives with the same seed (and, for the second prior set, from its own run within
Monte Carlo error: it reweights the baseline's draws); the flat 50% forecaster scores 0.25 and log 2 exactly.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import EXAMPLE, EXAMPLE_OUTCOMES, ROOT, example_with_outcomes

from forecast.analyses.score import score
from forecast.analyses.session import Session

OUTCOMES = EXAMPLE_OUTCOMES
SKEPTIC = ROOT / "priors" / "example_skeptic.toml"
DRAWS, SEED, TUNE = 400, 2, 400


@pytest.fixture(scope="module")
def resolved(tmp_path_factory):
    return example_with_outcomes(tmp_path_factory.mktemp("score"))


@pytest.fixture(scope="module")
def scored(resolved):
    return score(resolved, [None, SKEPTIC], draws=DRAWS, seed=SEED, session_options={"tune": TUNE})


def _by_hand(p: dict[str, float]) -> tuple[float, float]:
    brier = np.mean([(p[q] - y) ** 2 for q, (_, _, y) in OUTCOMES.items()])
    log = np.mean([-math.log(p[q] if y else 1.0 - p[q]) for q, (_, _, y) in OUTCOMES.items()])
    return float(brier), float(log)


def test_scores_equal_a_hand_computation(resolved, scored):
    s = Session(resolved, draws=DRAWS, seed=SEED, tune=TUNE)
    res = s.run()
    p = {q: res.mean(f"q:{q}") for q in OUTCOMES}
    base = scored["prior_sets"][0]
    assert {d["id"]: d["forecast"] for d in base["questions"]} == pytest.approx(p, abs=1e-12)
    brier, log = _by_hand(p)
    assert base["brier"]["mean"] == pytest.approx(brier, abs=1e-12)
    assert base["log"]["mean"] == pytest.approx(log, abs=1e-12)
    assert base["brier"]["lo"] <= brier <= base["brier"]["hi"]
    assert scored["flat"] == pytest.approx({"brier": 0.25, "log": math.log(2)}, abs=1e-12)
    assert base["brier_vs_flat"]["mean"] == pytest.approx(brier - 0.25, abs=1e-12)
    bare = Session(resolved, draws=DRAWS, seed=SEED, tune=TUNE)
    r = bare.baseline
    from dataclasses import replace

    fwd = bare.run(replace(r, evidence=()))
    b0, _ = _by_hand({q: fwd.mean(f"q:{q}") for q in OUTCOMES})
    assert base["brier_vs_no_evidence"]["mean"] == pytest.approx(brier - b0, abs=1e-12)
    assert sum(row["n"] for row in base["calibration"]) == 3


def test_another_prior_set_is_scored_on_its_own_forecasts(resolved, scored):
    """The skeptic set reweights the baseline's draws; its forecasts must agree with its own fresh run within
    4 Monte Carlo errors, and its scores are the hand computation from the forecasts it reports."""
    from forecast.analyses.summary import stat

    alt = scored["prior_sets"][1]
    assert alt["priors"] == "example_skeptic"
    p = {d["id"]: d["forecast"] for d in alt["questions"]}
    brier, log = _by_hand(p)
    assert alt["brier"]["mean"] == pytest.approx(brier, abs=1e-12) and alt["log"]["mean"] == pytest.approx(log)
    fresh = Session(resolved, SKEPTIC, draws=DRAWS, seed=SEED + 1, tune=TUNE).run()
    for q in OUTCOMES:
        st = stat(fresh, f"q:{q}")
        assert abs(p[q] - st["mean"]) <= 4 * st["mcse"] + 0.02, (q, p[q], st)


def test_the_stance_averaged_forecaster(resolved, scored):
    """The last row averages the stances by the posterior weights ``run --stances`` reports (equal prior odds):
    its forecasts equal Σ w_i p_i of the rows above with those weights, and its scores the hand computation."""
    from forecast.analyses.stances import stance_weights, stances_of

    avg = scored["prior_sets"][-1]
    assert avg["priors"] == "stance-averaged" and len(scored["prior_sets"]) == 3
    s = Session(resolved, draws=DRAWS, seed=SEED, tune=TUNE)
    w = stance_weights(s, s.run(), stances_of(s, [None, SKEPTIC]))
    weights = {d["priors"]: d["weight"] for d in w["stances"]}
    assert {d["priors"]: d["weight"] for d in avg["weights"]} == pytest.approx(weights, abs=1e-12)
    sets = {ps["priors"]: {d["id"]: d["forecast"] for d in ps["questions"]} for ps in scored["prior_sets"][:2]}
    p = {q: sum(weights[n] * sets[n][q] for n in weights) for q in OUTCOMES}
    assert {d["id"]: d["forecast"] for d in avg["questions"]} == pytest.approx(p, abs=1e-12)
    assert p == pytest.approx({q: w["averaged"][q] for q in OUTCOMES}, abs=1e-12)
    brier, log = _by_hand(p)
    assert avg["brier"]["mean"] == pytest.approx(brier, abs=1e-12) and avg["log"]["mean"] == pytest.approx(log)

def test_score_command(resolved, tmp_path):
    diagram = tmp_path / "out" / "reliability.png"
    got = subprocess.run([sys.executable, "-m", "forecast", "score", str(resolved), "--draws", "100", "--tune", "200",
                          "--json", "--png", str(diagram)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert got.returncode == 0, got.stderr
    data = json.loads(got.stdout)
    assert data["resolved"] == 3 and len(data["prior_sets"]) == 1  # one prior set: no stance-averaged row
    assert diagram.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run([sys.executable, "-m", "forecast", "score", str(resolved), "--png", str(tmp_path / "r.pdf")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "should name a .png file" in bad.stderr
    none = subprocess.run([sys.executable, "-m", "forecast", "score", str(EXAMPLE)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    assert none.returncode == 2 and "no question records an outcome" in none.stderr and "Traceback" not in none.stderr


def test_as_of_gives_the_numbers_of_a_copy_without_the_later_evidence(tmp_path):
    """``--as-of 2024-05-05`` keeps e_talks (3 May) and leaves e_sentiment (9 May) out: every number equals a
    run of a copy of the model file with that evidence entry deleted (same seed), and the output says so."""
    text = EXAMPLE.read_text()
    start = text.index("[[evidence]]\nid = \"e_sentiment\"")
    end = text.index("[[questions]]", start)
    copy = tmp_path / "trade_talks.toml"
    copy.write_text(text[:start] + text[end:])

    import datetime as dt

    from forecast.analyses.summary import summarize

    def run(path, **kw):
        s = Session(path, draws=DRAWS, seed=SEED, tune=TUNE, **kw)
        return summarize(s.run())

    cut, direct = run(EXAMPLE, as_of=dt.date(2024, 5, 5)), run(copy)
    assert cut["as_of"] == "2024-05-05" and "1 observation" in cut["as_of_basis"]
    assert cut["manifest"]["as_of"] == "2024-05-05"
    for section in ("variables", "questions"):
        for k, d in direct[section].items():
            assert cut[section][k]["mean"] == d["mean"], (section, k)
    bad = subprocess.run([sys.executable, "-m", "forecast", "run", str(EXAMPLE), "--as-of", "2024-13-01"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "is not a date" in bad.stderr and "Traceback" not in bad.stderr


def test_the_worst_misses_come_with_inputs_that_can_reach_them(resolved, scored):
    """The misses are the worst Brier scores, worst first; every driver is a claim into, or the base rate of, a
    variable in the question's ancestral set (only those can move it), largest swing first."""
    from forecast.compile import ancestral_set

    s = Session(resolved, draws=DRAWS, seed=SEED, tune=TUNE)
    r = s.baseline
    rows = scored["prior_sets"][0]["questions"]
    misses = scored["misses"]
    assert [d["id"] for d in misses] == [d["id"] for d in sorted(rows, key=lambda d: -d["brier"])][:len(misses)]
    for d in misses:
        q = next(q for q in r.model.questions if q.id == d["id"])
        anc = ancestral_set(r, [q.variable])
        assert d["drivers"], d["id"]
        for b in d["drivers"]:
            target = b["id"] if b["kind"] == "base" else r.claims[b["id"]].effect
            assert target in anc, (d["id"], b["id"])
        swings = [b["swing"] for b in d["drivers"]]
        assert swings == sorted(swings, reverse=True)


def test_a_news_source_and_evidence_recorded_since_the_models_date(tmp_path):
    """A source without a local text (publisher, date, url; no file) passes ``check`` with the sources folder
    (the other sources' locators still verified) and can carry a claim without a locator. Evidence it dates after
    the model's own ``as_of`` is left out of a plain run, which says so and gives the numbers of the model
    without that entry; ``--as-of`` a later date uses it."""
    import datetime as dt

    from forecast.analyses.summary import summarize
    from forecast.check import check

    news = ('[[sources]]\nid = "wire"\ntitle = "Tariff round announced"\npublisher = "Example wire"\n'
            'date = 2024-06-02\nurl = "https://example.org/tariffs"\nreliability = "B"\ncredibility = 2\n\n')
    claim = ('[[claims]]\nid = "c_wire"\ncause = "talks_fail"\neffect = "tariffs"\ndirection = "raises"\n'
             'source = "wire"\nparaphrase = "Failed talks make tariffs likelier."\n\n')
    late = ('[[evidence]]\nid = "e_later"\nvariable = "tariffs"\ndate = 2024-06-02\nsource = "wire"\n'
            'value = true\n\n')
    text = EXAMPLE.read_text().replace("[[sources]]", news + "[[sources]]", 1)
    text = text.replace("[[evidence]]", claim + "[[evidence]]", 1)
    base, later = tmp_path / "base.toml", tmp_path / "later.toml"
    base.write_text(text)
    later.write_text(text.replace("[[questions]]", late + "[[questions]]", 1))
    (tmp_path / "sources").symlink_to(EXAMPLE.parent / "sources")
    report = check(later, sources=tmp_path / "sources")
    assert report.ok, report.errors
    plain, direct = (summarize(Session(p, draws=DRAWS, seed=SEED, tune=TUNE).run()) for p in (later, base))
    assert plain["as_of"] == "2024-05-10" and "1 recorded since left out" in plain["as_of_basis"]
    assert all(plain["questions"][k]["mean"] == d["mean"] for k, d in direct["questions"].items())
    after = summarize(Session(later, draws=DRAWS, seed=SEED, tune=TUNE, as_of=dt.date(2024, 7, 1)).run())
    assert after["variables"]["tariffs"]["mean"] == 1.0
