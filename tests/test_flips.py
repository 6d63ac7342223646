"""Flip analysis (:mod:`forecast.analyses.flips`) against the direct computation it stands for.

* ``forecast run``: a credence flip found by ``flips``, applied with ``--set`` in :func:`forecast.api.run` (same
  seed and draws), moves the word, and one step less (0.01 nearer the current credence) does not;
* the credence search against a scan of the whole 0.01 grid, one direct evaluation per point (``forecast run``'s
  own computation without evidence; :meth:`Session.variant` with it), so the screen, the prediction, the gallop
  and the bisection are checked, not only the point they stop at;
* the shortcuts on Hanoi (a credence's posterior from the baseline's gate rows, several credences in one
  evaluation, settings written into the resolved spec) against :meth:`Session.reweighting`,
  :meth:`Session.variant` one change at a time and :meth:`Session.resolve`;
* a small model: no change that cannot reach a question is listed for it, although it moves the question's
  number; and "no single change flips it" where evaluating every single change directly says so.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EXAMPLE

from forecast import api
from forecast.analyses.flips import GRID, _Flips, _text, credence_posterior, flips
from forecast.analyses.session import Session
from forecast.analyses.summary import word
from forecast.compile import Numbers, ancestral_set, descendants

DRAWS = 1000  # forecast run's default: the example's flips are checked against forecast run at these draws


def reaches(r, change: dict, variable: str) -> bool:
    """Whether a change can move ``variable`` (written out here from the graph, not read from flips): a claim or
    base rate upstream of it, or an input of the evidence's ancestral set, or an observation, where it lies
    downstream of that set."""
    inside = ancestral_set(r, {o.variable for o in r.evidence}) if r.evidence else set()
    moved = inside | descendants(r, inside)
    if change["kind"] in ("removed", "reversed"):
        return variable in moved
    target = r.claims[change["id"]].effect if change["kind"] in ("credence", "strength") else change["id"]
    return variable in descendants(r, [target]) | {target} or (target in inside and variable in moved)


def path(k0: float, sign: int) -> list[int]:
    """The grid points from the one nearest ``k0`` to the end (0 or 1), as flips walks them."""
    pts = range(GRID, -1, -1) if sign < 0 else range(GRID + 1)
    return [p for p in pts if (p / GRID < k0 - 1e-9 if sign < 0 else p / GRID > k0 + 1e-9)]


def scan(session: Session, base, evaluate, claims=None) -> tuple[list[tuple[str, int, str, float | None]], int]:
    """Every claim's credence (of ``claims``, default all) over the whole grid, each point evaluated directly:
    rows (claim, direction, question, the first credence at which the word changes, None if it never does) and
    the number of evaluations."""
    r = base.resolved
    qs = [q.id for q in r.model.questions]
    w0 = {q: word(base, base.mean(f"q:{q}")) for q in qs}
    out, n = [], 0
    for c, rc in r.claims.items():
        if rc.credence in (0.0, 1.0) or (claims is not None and c not in claims):
            continue
        for sign in (-1, 1):
            first: dict[str, float | None] = dict.fromkeys(qs)
            for p in path(rc.credence, sign):
                res = evaluate({f"claims.{c}.credence": _text(p)})
                n += 1
                for q in qs:
                    if first[q] is None and word(res, res.mean(f"q:{q}")) != w0[q]:
                        first[q] = p / GRID
            out += [(c, sign, q, first[q]) for q in qs]
    return out, n


def found(doc: dict, claim: str, sign: int, q: str, k0: float) -> float | None:
    """The credence flips reports for one claim moved one way, for question ``q`` (None: no flip)."""
    mine = [f["change"]["to"] for f in doc["questions"][q]["flips"]
            if f["change"]["kind"] == "credence" and f["change"]["id"] == claim and (f["change"]["to"] - k0) * sign > 0]
    assert len(mine) <= 1
    return mine[0] if mine else None


@pytest.fixture(scope="module")
def example():
    """The example model (evidence on talks_fail and exporter_sentiment) at forecast run's draws and seed 0."""
    s = Session(EXAMPLE, draws=DRAWS, seed=0)
    base = s.run()
    return s, base, flips(s, base)


def test_flip_reproduces_in_forecast_run(example):
    """The first credence flip of a claim outside the evidence's ancestral set, run through ``forecast run
    --set`` (:func:`forecast.api.run`, same draws and seed), moves the word to the same word with the same
    number, and one step less does not move it.

    Outside that set the claim's credence does not enter the posterior: ``forecast run`` samples the same
    posterior (same model of the evidence, same seed) and simulates with the same seed, so the numbers are equal
    draw for draw and the word must match exactly. Inside it ``forecast run`` samples a fresh posterior, which
    differs from the reweighted one by Monte Carlo error: a word at a band edge could then differ with nothing
    wrong, so such a claim is not the case checked here."""
    s, base, doc = example
    r = base.resolved
    inside = ancestral_set(r, {o.variable for o in r.evidence})
    flip = next(f for d in doc["questions"].values() for f in d["flips"]
                if f["change"]["kind"] == "credence" and r.claims[f["change"]["id"]].effect not in inside)
    q, change = flip["question"], flip["change"]
    key = next(iter(change["set"]))
    assert flip["from"] != flip["to"]

    ran = api.run(EXAMPLE, sets=change["set"], draws=DRAWS, seed=0)["questions"][q]
    assert ran["word"] == flip["to"]
    assert ran["mean"] == pytest.approx(flip["probability"]["mean"], abs=1e-12)

    less = change["one_step_less"]
    k0 = r.claims[change["id"]].credence
    if less is not None:  # 0.01 nearer the current credence; None: that is the current credence itself
        assert abs(float(less) - change["to"]) == pytest.approx(1 / GRID)
        assert abs(float(less) - k0) < abs(change["to"] - k0)
    before = api.run(EXAMPLE, sets={key: less} if less else None, draws=DRAWS, seed=0)["questions"][q]
    assert before["word"] == flip["from"] == doc["questions"][q]["word"]


def test_inside_credences_match_a_scan_of_direct_reweighting(example):
    """Claims inside the evidence's ancestral set: flips' answer (screened at the ends, searched on the grid,
    the posterior at each credence from the baseline's gate rows) equals the first word change of a scan of every
    grid point, each reweighted directly by :meth:`Session.variant`."""
    s, base, doc = example
    r = base.resolved
    inside = ancestral_set(r, {o.variable for o in r.evidence})

    def evaluate(sets):
        return s.variant(base, s.resolve(sets=sets), resample=False)

    rows, _ = scan(s, base, evaluate, [c for c, rc in r.claims.items() if rc.effect in inside])
    assert {c for c, *_ in rows} == {"m1", "m2", "k2"}
    assert any(first is not None for *_, first in rows)  # some flip, some not: both sides are checked
    assert any(first is None for *_, first in rows)
    for c, sign, q, first in rows:
        assert found(doc, c, sign, q, r.claims[c].credence) == first, (c, sign, q)


def test_credence_search_matches_a_scan_of_forecast_run(example_no_evidence):
    """Without evidence, every claim and direction: flips' answer equals the first word change of a scan of every
    grid point, each computed as ``forecast run --set`` computes it (``Session.run`` of the resolved setting,
    same seed), and where the scan finds no change flips reports none (the screen at the end is not fooled)."""
    s = Session(example_no_evidence, draws=500, seed=0)
    base = s.run()
    doc = flips(s, base, kinds=("credence",))
    rows, n = scan(s, base, lambda sets: s.run(s.resolve(sets=sets)))
    assert any(first is not None for *_, first in rows) and any(first is None for *_, first in rows)
    r = base.resolved
    for c, sign, q, first in rows:
        assert found(doc, c, sign, q, r.claims[c].credence) == first, (c, sign, q)
    assert doc["evaluations"]["total"] < n / 10  # the search's evaluations, against the scan's


def test_unreachable_changes_are_not_listed(example):
    """No listed change is one that cannot reach its question, though such changes do move its number: a strength
    or base-rate setting draws that family's parameters afresh (here m4's strength, into trade_diversion, moves
    q_crisis)."""
    s, base, doc = example
    r = base.resolved
    var = {q.id: q.variable for q in r.model.questions}
    for q, d in doc["questions"].items():
        assert d["none"] == (not d["flips"])
        for f in d["flips"]:
            assert f["from"] == d["word"] != f["to"] == f["probability"]["word"]
            assert reaches(r, f["change"], var[q]), f["change"]
    assert not reaches(r, {"kind": "strength", "id": "m4"}, "coalition_crisis")
    moved = s.variant(base, s.resolve(sets={"claims.m4.strength": "strong"}))
    assert moved.mean("q:q_crisis") != base.mean("q:q_crisis")


TINY = """
[model]
id = "tiny"
title = "One question no single change can flip, one that a base rate can"

[[sources]]
id = "src"
title = "Source"
reliability = "B"
credibility = 2
file = "none.txt"

[[variables]]
id = "rare"
label = "A rare event"
kind = "event"
base = "almost no chance"

[[variables]]
id = "target"
label = "An event with a fixed base"
kind = "event"
base = 0.3

[[claims]]
id = "r1"
cause = "rare"
effect = "target"
direction = "raises"
strength = "weak"
credence = 0.6
source = "src"
locator = "1"
paraphrase = "The rare event raises the target a little."

[[questions]]
id = "q_target"
text = "Target?"
variable = "target"
resolution = "-"
resolves_by = 2030-01-01

[[questions]]
id = "q_rare"
text = "Rare?"
variable = "rare"
resolution = "-"
resolves_by = 2030-01-01
"""


def test_no_single_change_flips_it(tmp_path):
    """q_target (fixed base 0.3, one weak claim from a rare cause) keeps its word under every single change,
    each evaluated directly (every grid credence both ways, every strength and base-rate step): flips says "no
    single change flips it" after trying them; q_rare's base rate one word up flips q_rare."""
    path_ = tmp_path / "tiny.toml"
    path_.write_text(TINY)
    s = Session(path_, draws=500, seed=0)
    base = s.run()
    doc = flips(s, base)
    w0 = word(base, base.mean("q:q_target"))
    target = doc["questions"]["q_target"]
    assert target["none"] and target["flips"] == []
    assert target["candidates"] == 4  # r1's credence down and up, its strength up, rare's base rate up

    settings = [{"claims.r1.credence": _text(p)} for sign in (-1, 1) for p in path(0.6, sign)]
    settings += [{"claims.r1.strength": "moderate"}, {"variables.rare.base": "very unlikely"}]
    for sets in settings:
        res = s.run(s.resolve(sets=sets))
        assert word(res, res.mean("q:q_target")) == w0, sets

    rare = doc["questions"]["q_rare"]
    assert [(f["change"]["kind"], f["change"]["to"]) for f in rare["flips"]] == [("base", "very unlikely")]
    res = s.run(s.resolve(sets=rare["flips"][0]["change"]["set"]))
    assert word(res, res.mean("q:q_rare")) == rare["flips"][0]["to"] != rare["word"]


def test_hanoi_shortcuts_equal_the_direct_computation(hanoi):
    """On Hanoi (5 latent events, 16 uncertain claims in the evidence's ancestral set):

    * c23's posterior at credence 0 (1e-9), 0.3 and 1 (1 - 1e-9) from the baseline's gate rows equals
      :meth:`Session.reweighting`'s recovery (weights, the latent events' joint, every gate), and the results
      :meth:`Session.variant` makes of either are the same numbers;
    * the settings flips writes into the resolved spec are :meth:`Session.resolve`'s;
    * two credences outside that set whose claims reach apart (c24 into the trade deal, c45 into the end-of-war
      declaration) evaluated together give each reached question, draw for draw, its own claim's numbers."""
    s, base = hanoi
    post = base.posterior
    f = _Flips(s, base, [q.id for q in base.resolved.model.questions], None)
    rows = post.recovery.rows(post.numbers)
    for x in ("1e-09", "0.30", "0.999999999"):
        r = s.resolve(sets={"claims.c23.credence": x})
        direct, logw, k = s.reweighting(base, r)
        mine, logw2, k2 = credence_posterior(post, "c23", float(x), Numbers.of(r), rows)
        np.testing.assert_allclose(logw2, logw, atol=1e-10)
        np.testing.assert_allclose(mine.joint.probs, direct.joint.probs, atol=1e-10)
        for c, g in direct.gate_probs.items():
            np.testing.assert_allclose(mine.gate_probs[c], g, atol=1e-10)
        assert k2 == pytest.approx(k, abs=1e-9)
        a = s.variant(base, r, resample=False)
        b = s.variant(base, r, reweighting=(mine, logw2, k2), resample=False)
        assert max(abs(a.mean(key) - b.mean(key)) for key in a.outcomes) < 1e-12

    for sets in ({"claims.c23.credence": "0.45"}, {"claims.c40.credence": "1e-09", "claims.c01.credence": "0.92"},
                 {"claims.c23.strength": "strong"}, {"claims.c37.strength": "moderate"},
                 {"variables.third_summit.base": "likely"}, {"variables.summit_failed.base": "very unlikely"}):
        assert Numbers.of(f.setting(sets)) == Numbers.of(s.resolve(sets=sets)), sets

    lanes = {lane.claim: lane for lane in f.lanes() if lane.claim in ("c24", "c45") and lane.points[-1] == 0}
    assert f.apart(lanes["c24"], lanes["c45"])
    both = s.variant(base, s.resolve(sets={"claims.c24.credence": "0.20", "claims.c45.credence": "0.70"}))
    for c, x in (("c24", "0.20"), ("c45", "0.70")):
        alone = s.variant(base, s.resolve(sets={f"claims.{c}.credence": x}))
        for q in lanes[c].questions:
            np.testing.assert_array_equal(both.outcomes[f"q:{q}"], alone.outcomes[f"q:{q}"])


def test_hanoi_credence_flips_hold_one_at_a_time(hanoi):
    """Hanoi's q10 (at 55%, on the edge of "roughly even chance"): every credence flip flips, with the same number,
    and its one step less does not, when that single setting is evaluated on its own (no batch, no shortcut); and
    every listed claim reaches q10."""
    s, base = hanoi
    doc = flips(s, base, questions=["q10"], kinds=("credence",))
    d = doc["questions"]["q10"]
    assert d["flips"] and not d["none"]
    r = base.resolved
    for fl in d["flips"]:
        change = fl["change"]
        assert reaches(r, change, "japan_seeks_beijing")
        key = next(iter(change["set"]))
        res = s.variant(base, s.resolve(sets=change["set"]), resample=False)
        assert word(res, res.mean("q:q10")) == fl["to"] != d["word"]
        assert res.mean("q:q10") == pytest.approx(fl["probability"]["mean"], abs=1e-12)
        less = change["one_step_less"]
        if less is not None:
            res = s.variant(base, s.resolve(sets={key: less}), resample=False)
            assert word(res, res.mean("q:q10")) == d["word"]
    assert doc["evaluations"]["total"] == doc["evaluations"]["credence"] and doc["kinds"] == ["credence"]


FIXED = """
[model]
id = "fixed"
title = "A -> B -> C -> D, every parameter fixed; a soft report on B and C observed"

[[sources]]
id = "src"
title = "Source"
reliability = "B"
credibility = 2
file = "none.txt"

[[variables]]
id = "A"
label = "A"
kind = "event"
base = 0.3

[[variables]]
id = "B"
label = "B"
kind = "event"
base = 0.2

[[variables]]
id = "C"
label = "C"
kind = "event"
base = 0.6

[[variables]]
id = "D"
label = "D"
kind = "event"
base = 0.4

[[claims]]
id = "ab"
cause = "A"
effect = "B"
direction = "raises"
strength = { dist = "DiracDelta", kwargs = { c = 1.3 } }
credence = 1.0
source = "src"
locator = "1"
paraphrase = "A raises B."

[[claims]]
id = "bc"
cause = "B"
effect = "C"
direction = "lowers"
strength = { dist = "DiracDelta", kwargs = { c = 2.0 } }
credence = 1.0
source = "src"
locator = "1"
paraphrase = "B lowers C."

[[claims]]
id = "cd"
cause = "C"
effect = "D"
direction = "raises"
strength = { dist = "DiracDelta", kwargs = { c = 1.5 } }
credence = 1.0
source = "src"
locator = "1"
paraphrase = "C raises D."

[[evidence]]
id = "e_b"
variable = "B"
date = 2030-01-01
source = "src"
value = B_REPORT
soft = true
grade = "C3"

[[evidence]]
id = "e_c"
variable = "C"
date = 2030-01-01
source = "src"
value = C_SEEN

[[questions]]
id = "qa"
text = "A?"
variable = "A"
resolution = "-"
resolves_by = 2030-06-01

[[questions]]
id = "qd"
text = "D?"
variable = "D"
resolution = "-"
resolves_by = 2030-06-01
"""


def test_reversed_equals_the_model_with_the_observation_flipped(tmp_path):
    """With every parameter fixed the posterior is exact (nothing sampled), so :meth:`Session.reversed` (the
    baseline's draws under the switched observation) must give the numbers of the model whose file says the
    opposite: a soft report saying no (the same report with accuracy 1 - q), an observed event's other value.
    And leaving an observation out lands between keeping it and reversing it, which is why flips leaves one out
    only where its reversal flips a question."""
    def model(b: str, c: str):
        path_ = tmp_path / f"fixed_{b}_{c}.toml"
        path_.write_text(FIXED.replace("B_REPORT", b).replace("C_SEEN", c))
        s = Session(path_, draws=200, seed=0)
        return s, s.run()

    s, base = model("true", "false")
    for ob, b, c in (("e_b", "false", "false"), ("e_c", "true", "true")):
        rev = s.reversed(base, ob)
        _, direct = model(b, c)
        out = s.without(base, ob)
        for key in ("q:qa", "q:qd", "A", "B", "D"):
            assert rev.mean(key) == pytest.approx(direct.mean(key), abs=1e-12), (ob, key)
            lo, hi = sorted((base.mean(key), rev.mean(key)))
            assert lo - 1e-12 <= out.mean(key) <= hi + 1e-12, (ob, key)
        assert rev.mean("q:qa") != pytest.approx(base.mean("q:qa"), abs=1e-3)
