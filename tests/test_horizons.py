"""Horizons (issue 15): a question dated otherwise than its event's window, under a constant hazard.

An event variable may state its window (``start``, default the model's ``as_of``, to ``by``); a question on it
dated ``resolves_by`` gets, per draw, 1 - (1 - p) ** r with r = (resolves_by - start) / (by - start) in days
(:mod:`forecast.spec.horizons`; docs/semantics.md, "Horizons"). Here:

* **closed form**: a model of two root events, one with a fixed base rate p (every draw 1 - (1 - p) ** r exactly)
  and one with a Beta(2, 5) base rate B, whose mean must be E[1 - (1 - B) ** r] = 1 - B(2, 5 + r) / B(2, 5)
  within 4 Monte Carlo errors;
* **consistency**: on random small models (``test_equations.random_model``: events and indices, gated claims,
  hard and soft evidence, index measurements) given windows and questions at random dates, every pair of
  questions on one variable is ordered draw by draw as their dates are, equal at equal dates, and each equals the
  formula computed here from the dates; so also under an intervention;
* **known states**: no rescaling for a variable observed outright or intervened on (a soft report leaves the state
  uncertain: rescaled);
* **signposts**: on a fixed-parameter copy of the example (tests/horizons/ceasefire.toml), each branch of a
  question with a horizon equals the rescaled exact conditional (enumerated here) and what a run observing the
  indicator gives;
* **Hanoi** has no window: nothing is rescaled, its numbers are those of before.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from conftest import HANOI
from scipy.special import betaln, expit, logit

from forecast.analyses.session import Session
from forecast.analyses.signposts import signposts
from forecast.spec import horizons, load_model
from forecast.spec.resolve import RObservation

sys.path.insert(0, str(Path(__file__).parent))
import test_equations  # noqa: E402  (its random model generator)

HERE = Path(__file__).parent
EXAMPLE = HERE / "horizons" / "ceasefire.toml"
START = dt.date(2024, 1, 1)
DRAWS = 400


def _days(a: dt.date, b: dt.date) -> int:
    return (b - a).days


# --------------------------------------------------------------------------- the equation


def test_scale_is_the_constant_hazard_equation():
    p = np.array([0.0, 1e-12, 0.3, 0.999, 1.0])
    assert np.allclose(horizons.scale(p, 1.0), p, rtol=1e-15, atol=0)
    big = p[2:]  # 1 - (1 - p) ** r written plainly loses the digits of a small p
    assert np.allclose(horizons.scale(big, 0.5), 1 - np.sqrt(1 - big), rtol=1e-13, atol=0)
    assert np.allclose(horizons.scale(big, 2.0), 1 - (1 - big) ** 2, rtol=1e-13, atol=0)
    assert horizons.scale(1e-12, 0.25) == pytest.approx(0.25e-12, rel=1e-9)  # small p keeps its digits
    assert horizons.scale(1.0, 0.1) == 1.0 and horizons.scale(0.0, 3.0) == 0.0
    assert np.all(horizons.scale(p, 0.0) == 0.0)  # an empty window
    later = horizons.scale(p, 1.7)
    assert np.all(horizons.scale(p, 0.3) <= later)


def _one_event_model(tmp: Path) -> tuple[Path, dict[str, float]]:
    """Two root events with windows, questions at several dates; returns the path and each question's r."""
    by = dt.date(2025, 12, 31)
    dates = {"early": dt.date(2024, 3, 31), "mid": dt.date(2024, 12, 31), "end": by, "late": dt.date(2027, 6, 30)}
    doc = {"model": {"id": "one_event", "title": "one event", "as_of": START},
           "sources": [{"id": "s", "title": "t", "publisher": "p", "date": START, "reliability": "B",
                        "credibility": 2}],
           "variables": [{"id": "fixed", "label": "fixed", "kind": "event", "base": 0.3, "by": by},
                         {"id": "beta", "label": "beta", "kind": "event", "start": dt.date(2024, 7, 1), "by": by,
                          "base": {"dist": "Beta", "kwargs": {"alpha": 2.0, "beta": 5.0}}}],
           "questions": []}
    r = {}
    for v, start in (("fixed", START), ("beta", dt.date(2024, 7, 1))):
        for name, d in dates.items():
            if d <= start:
                continue
            qid = f"q_{v}_{name}"
            doc["questions"].append({"id": qid, "text": qid, "variable": v, "resolution": "r", "resolves_by": d})
            r[qid] = _days(start, d) / _days(start, by)
    path = tmp / "one_event.toml"
    path.write_text(tomli_w.dumps(doc))
    return path, r


def test_closed_form_on_one_event(tmp_path):
    path, rs = _one_event_model(tmp_path)
    s = Session(path, draws=DRAWS, seed=1)
    res = s.run()
    model = s.model
    for q in model.questions:
        x = horizons.exponent(model, q)
        assert (x is None) == (rs[q.id] == 1.0)
        assert x is None or x == pytest.approx(rs[q.id], rel=1e-15)
    for qid, r in rs.items():
        got = np.asarray(res.outcomes[f"q:{qid}"])
        if qid.startswith("q_fixed"):  # every draw exactly
            assert np.allclose(got, 1 - 0.7**r, rtol=1e-12, atol=0), (qid, got[:3], 1 - 0.7**r)
        else:  # E[1 - (1 - B)^r], B ~ Beta(2, 5): 1 - B(2, 5 + r) / B(2, 5)
            want = 1 - np.exp(betaln(2.0, 5.0 + r) - betaln(2.0, 5.0))
            err = got.std() / np.sqrt(len(got))
            assert abs(got.mean() - want) < 4 * err, (qid, got.mean(), want, err)
            assert np.allclose(got, 1 - (1 - np.asarray(res.outcomes["beta"])) ** r, rtol=1e-12, atol=1e-15)
    means = [res.mean(f"q:q_fixed_{n}") for n in ("early", "mid", "end", "late")]
    assert means == sorted(means) and means[2] == pytest.approx(0.3, abs=1e-12)


# --------------------------------------------------------------------------- consistency on random models


def _with_horizons(seed: int, tmp: Path) -> tuple[Path, dict]:
    """``test_equations.random_model(seed)`` with windows on most events (some with their own start) and 2-4
    questions on every event at random dates (one at the window's end, two on one date), one per index."""
    rng = np.random.default_rng(1000 + seed)
    doc = test_equations.random_model(seed)
    for c in doc["claims"]:  # no JAX implementation of the truncated normal's log density (erfcx): NUTS runs here
        if isinstance(c["strength"], dict) and c["strength"]["dist"] == "TruncatedNormal":
            c["strength"] = "moderate"
    doc["model"]["as_of"] = START
    doc["questions"] = []
    for v in doc["variables"]:
        vid = v["id"]
        if v["kind"] == "index":
            doc["questions"].append({"id": f"q_{vid}", "text": "t", "variable": vid, "threshold": 0.5,
                                     "resolution": "r", "resolves_by": START + dt.timedelta(days=200)})
            continue
        start = START
        if rng.random() < 0.8:
            if rng.random() < 0.3:
                start = START - dt.timedelta(days=int(rng.integers(1, 200)))
                v["start"] = start
            v["by"] = start + dt.timedelta(days=int(rng.integers(60, 900)))
        end = v.get("by", START + dt.timedelta(days=365))
        dates = [start + dt.timedelta(days=int(rng.integers(1, 2 * (end - start).days))) for _ in range(2)]
        dates += [dates[0], end]
        for i, d in enumerate(dates[: int(rng.integers(3, 5))]):
            doc["questions"].append({"id": f"q_{vid}_{i}", "text": "t", "variable": vid, "resolution": "r",
                                     "resolves_by": d})
    path = tmp / f"random{seed}.toml"
    path.write_text(tomli_w.dumps(doc))
    return path, doc


def _check_consistent(res, doc: dict, given: set[str]) -> int:
    """Every pair of questions on one event of ``res`` ordered draw by draw as their dates; each one the formula
    from the dates (or the variable's own probability); returns how many pairs were compared."""
    windows = {v["id"]: (v.get("start", START), v["by"]) for v in doc["variables"] if "by" in v}
    events = {v["id"] for v in doc["variables"] if v["kind"] == "event"}
    qs = [q for q in doc["questions"] if q["variable"] in events]
    for q in qs:
        p, got = np.asarray(res.outcomes[q["variable"]]), np.asarray(res.outcomes[f"q:{q['id']}"])
        w = windows.get(q["variable"])
        if w is None or q["variable"] in given or q["resolves_by"] == w[1]:
            assert np.array_equal(got, p), q["id"]
        else:
            r = _days(w[0], q["resolves_by"]) / _days(*w)
            assert np.allclose(got, 1 - (1 - p) ** r, rtol=1e-10, atol=1e-14), q["id"]
    n = 0
    for q1, q2 in itertools.combinations(qs, 2):
        if q1["variable"] != q2["variable"]:
            continue
        if q1["resolves_by"] > q2["resolves_by"]:
            q1, q2 = q2, q1
        a, b = (np.asarray(res.outcomes[f"q:{q['id']}"]) for q in (q1, q2))
        assert np.all(a <= b + 1e-15), (q1["id"], q2["id"], float(np.max(a - b)))
        if q1["resolves_by"] == q2["resolves_by"]:
            assert np.array_equal(a, b), (q1["id"], q2["id"])
        n += 1
    return n


@pytest.mark.parametrize("seed", [2, 11, 14])
def test_horizons_are_consistent_on_random_models(tmp_path, seed):
    path, doc = _with_horizons(seed, tmp_path)
    s = Session(path, draws=200, seed=seed, tune=300)
    res = s.run()
    seen = set(horizons.known(s.baseline.evidence))
    n = _check_consistent(res, doc, seen)
    target = next(v["id"] for v in doc["variables"] if v["kind"] == "event")
    did = s.run(do={target: 1.0})  # an intervention: its target's state is set, the others still rescaled
    n += _check_consistent(did, doc, seen | {target})
    assert n >= 3


# --------------------------------------------------------------------------- known states


@pytest.fixture(scope="module")
def example():
    s = Session(EXAMPLE, draws=DRAWS, seed=0, tune=500)
    return s, s.run()


def test_the_example_reads_each_question_at_its_date(example):
    s, res = example
    c = np.asarray(res.outcomes["ceasefire"])
    q24, q25, q26 = (np.asarray(res.outcomes[f"q:q_ceasefire_{y}"]) for y in (2024, 2025, 2026))
    assert np.array_equal(q25, c)  # the window's own date
    assert np.allclose(q24, 1 - np.sqrt(1 - c), rtol=1e-12) and np.allclose(q26, 1 - (1 - c) ** 1.5, rtol=1e-12)
    assert np.all(q24 <= q25) and np.all(q25 <= q26)
    t = np.asarray(res.outcomes["talks"])
    assert np.allclose(res.outcomes["q:q_talks_june"], 1 - (1 - t) ** (181 / 365), rtol=1e-12)
    assert np.array_equal(res.outcomes["q:q_mediator"], res.outcomes["mediator"])  # observed, and no window


def test_no_rescaling_for_a_variable_observed_or_intervened_on(example):
    s, base = example
    q = next(q for q in s.model.questions if q.id == "q_talks_june")
    assert horizons.exponent(s.model, q) == pytest.approx(181 / 365)
    assert horizons.exponent(s.model, q, {"talks"}) is None
    did = s.run(do={"talks": 0.0})
    assert np.array_equal(did.outcomes["q:q_talks_june"], did.outcomes["talks"])
    assert np.all(did.outcomes["talks"] == 0.0)
    seen = s.run(s.resolve(observe={"talks": 1.0}))
    assert np.array_equal(seen.outcomes["q:q_talks_june"], seen.outcomes["talks"])
    assert np.all(seen.outcomes["talks"] == 1.0)
    # its effect is still read at each question's date
    c = np.asarray(seen.outcomes["ceasefire"])
    assert np.allclose(seen.outcomes["q:q_ceasefire_2024"], 1 - np.sqrt(1 - c), rtol=1e-12)
    # a soft report leaves the state uncertain: still rescaled
    soft = horizons.known([RObservation("r", "talks", "soft", 1.0, accuracy=0.8)])
    assert "talks" not in soft and horizons.exponent(s.model, q, soft) is not None


# --------------------------------------------------------------------------- signposts


FIXED = {"mediator": 0.5, "talks": 0.2, "offensive": 0.5, "ceasefire": 0.2}
EFFECT = {"c_mediator": 1.0, "c_talks": 2.0, "c_offensive": -1.2}


def _fixed_example(tmp: Path) -> Path:
    """The example with every parameter fixed and every claim certain: an ordinary Bayesian network."""
    doc = tomllib.loads(EXAMPLE.read_text())
    for v in doc["variables"]:
        v["base"] = FIXED[v["id"]]
    for c in doc["claims"]:
        c.update(strength={"dist": "DiracDelta", "kwargs": {"c": abs(EFFECT[c["id"]])}}, credence=1.0)
    path = tmp / "ceasefire_fixed.toml"
    path.write_text(tomli_w.dumps(doc))
    return path


def _exact(query: str, given: dict[str, int]) -> float:
    """P(query | mediator = 1, given) in the fixed network, by enumeration."""
    num = den = 0.0
    for t, o, c in itertools.product((0, 1), repeat=3):
        x = {"talks": t, "offensive": o, "ceasefire": c}
        if any(x[k] != v for k, v in given.items()):
            continue
        pt = expit(logit(FIXED["talks"]) + EFFECT["c_mediator"])
        pc = expit(logit(FIXED["ceasefire"]) + EFFECT["c_talks"] * t + EFFECT["c_offensive"] * o)
        w = (pt if t else 1 - pt) * FIXED["offensive"] * (pc if c else 1 - pc)
        den += w
        num += w * x[query]
    return num / den


def test_signposts_rescale_each_branch_as_a_run_given_the_indicator(tmp_path):
    path = _fixed_example(tmp_path)
    s = Session(path, draws=100, seed=2, tune=100)
    model = s.model
    assert all(v.base == FIXED[v.id] for v in model.variables)
    base = s.run()
    data = signposts(s, base, fresh=False)
    rs = {q.id: horizons.exponent(model, q) for q in model.questions}
    assert rs["q_ceasefire_2024"] == 0.5 and rs["q_ceasefire_2026"] == 1.5 and rs["q_ceasefire_2025"] is None
    bad, n = [], 0
    for qid, q in data["questions"].items():
        v = next(x.variable for x in model.questions if x.id == qid)
        if v == "mediator":
            continue
        g = (lambda p, r=rs[qid]: p if r is None else 1 - (1 - p) ** r)  # noqa: E731
        for row in q["indicators"]:
            x = row["variable"]
            px = _exact(x, {})
            want = {"p_yes": px, "yes": g(_exact(v, {x: 1})), "no": g(_exact(v, {x: 0}))}
            want["now"] = px * want["yes"] + (1 - px) * want["no"]
            got = {"p_yes": row["p_yes"], "yes": row["yes"]["forecast"], "no": row["no"]["forecast"],
                   "now": row["now"]}
            n += 1
            assert row["method"] == "exact"
            bad += [f"{qid} watch {x}: {k} {got[k]} exact {w}" for k, w in want.items() if abs(got[k] - w) > 1e-9]
    assert n >= 6 and not bad, bad
    # a run given the indicator: the same branch (its worlds' Monte Carlo error aside)
    for value in (1.0, 0.0):
        seen = s.run(s.resolve(observe={"talks": value}))
        row = next(d for d in data["questions"]["q_ceasefire_2024"]["indicators"] if d["variable"] == "talks")
        side = "yes" if value else "no"
        assert seen.mean("q:q_ceasefire_2024") == pytest.approx(row[side]["forecast"], abs=0.01)


# --------------------------------------------------------------------------- Hanoi


def test_hanoi_has_no_window_so_nothing_is_rescaled():
    model = load_model(HANOI)
    assert all(v.by is None and v.start is None for v in model.variables)
    assert all(horizons.exponent(model, q) is None for q in model.questions)
