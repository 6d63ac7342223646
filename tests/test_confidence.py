"""Confidence in a judgment by ICD 203's factors (forecast.analyses.confidence) and its sentence
(forecast.report.confidence_text): every factor on crafted models, the reasons given, and the guarantee
(no claim, or a single source graded C or worse → never above low) as a property over random models."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast.analyses.confidence import LEVELS, Assessment, assess, rank
from forecast.report.confidence_text import sentence
from forecast.spec.load import load_model
from forecast.spec.schema import Claim, ModelInfo, ScenarioModel, Source, Variable

NARROW = (0.40, 0.50)  # 10 points: the width allows high
LIKELIHOOD = re.compile(r"\b(likely|unlikely|chance|chances|probable|probably|probability|certain|certainly|even)\b",
                        re.I)
JARGON = re.compile(r"prior set|posterior|pareto|draws|r-hat|\bess\b|sampler", re.I)


def src(sid: str, grade: str, publisher: str = "", unnamed: bool = False) -> dict:
    return {"id": sid, "title": f"Document {sid}", "publisher": publisher, "reliability": grade[0],
            "credibility": int(grade[1]), "url": f"https://example.org/{sid}", "unnamed_sources": unnamed}


def claims_from(*pairs: tuple[str, int]) -> list[tuple[str, str]]:
    """``("a", 3), ("b", 1)`` → claims a1, a2, a3 from source a and b1 from b."""
    return [(f"{sid}{i}", sid) for sid, n in pairs for i in range(1, n + 1)]


@pytest.fixture
def model(tmp_path):
    """A model file written to ``tmp_path`` and read by ``load_model``: sources as :func:`src` dicts, claims as
    (id, source) pairs, all from ``cause`` to ``effect``."""

    def make(sources: list[dict], claims: list[tuple[str, str]]) -> ScenarioModel:
        doc = {"model": {"id": "crafted", "title": "Crafted"}, "sources": sources,
               "variables": [{"id": "cause", "label": "Cause", "kind": "event", "base": 0.5},
                             {"id": "effect", "label": "Effect", "kind": "event", "base": 0.3}],
               "claims": [{"id": cid, "cause": "cause", "effect": "effect", "direction": "raises", "source": sid,
                           "paraphrase": "It raises it."} for cid, sid in claims]}
        path = tmp_path / "crafted.toml"
        path.write_text(tomli_w.dumps(doc))
        return load_model(path)

    return make


def all_claims(m: ScenarioModel) -> list[str]:
    return [c.id for c in m.claims]


def codes(a: Assessment) -> list[str]:
    return [f.code for f in a.binding]


# --- the base rate and corroboration ---------------------------------------------------------------------------


def test_no_claim_is_low_whatever_else(model):
    m = model([src("a", "A1")], claims_from(("a", 2)))
    a = assess(m, [], interval=NARROW, stance_means=(0.45, 0.46), stance_words=("x", "x"))
    assert (a.level, codes(a), a.claims, a.independent, a.sources) == ("low", ["base_rate"], 0, 0, ())
    assert "base rate" in sentence(a)


@pytest.mark.parametrize(("grade", "unnamed", "level"), [
    ("C3", False, "low"), ("F6", False, "low"), ("A4", False, "low"), ("B6", False, "low"),
    ("A1", True, "low"), ("B3", False, "moderate"), ("A1", False, "moderate")])
def test_one_source(model, grade, unnamed, level):
    """One source: moderate at best (nothing corroborates it), low when graded C or worse, of credibility 4-6
    or resting on unnamed officials."""
    m = model([src("only", grade, unnamed=unnamed)], claims_from(("only", 3)))
    a = assess(m, all_claims(m), interval=NARROW)
    assert a.level == level
    assert codes(a) == ["corroboration"]
    assert a.factor("corroboration").data["independent"] == 1
    text = sentence(a)
    assert f"one source (only, graded {grade})" in text
    assert ("unnamed officials" in text) == unnamed
    assert ("no independent source" in text) == (level == "moderate")


def test_same_publisher_counts_once(model):
    """Two well graded documents of one publisher (named with other case and spaces) corroborate nothing."""
    m = model([src("a", "A1", "Daily News"), src("b", "B2", " daily news ")], claims_from(("a", 1), ("b", 1)))
    a = assess(m, all_claims(m), interval=NARROW)
    assert (a.level, a.independent, codes(a)) == ("moderate", 1, ["corroboration"])
    assert "two documents from one publisher" in sentence(a)
    other = model([src("a", "A1", "Daily News"), src("b", "B2", "Evening Post")], claims_from(("a", 1), ("b", 1)))
    b = assess(other, all_claims(other), interval=NARROW)
    assert (b.level, b.independent, b.binding) == ("high", 2, ())


def test_one_publisher_mostly_poor_is_low(model):
    m = model([src("a", "B2", "Wire"), src("b", "C3", "Wire")], claims_from(("a", 1), ("b", 2)))
    assert assess(m, all_claims(m), interval=NARROW).level == "low"
    m = model([src("a", "B2", "Wire"), src("b", "C3", "Wire")], claims_from(("a", 2), ("b", 1)))
    assert assess(m, all_claims(m), interval=NARROW).level == "moderate"


def test_only_the_claims_named_count(model):
    """A well graded source elsewhere in the model does not corroborate a question it has no claim on."""
    m = model([src("poor", "C3"), src("good", "A1")], claims_from(("poor", 1), ("good", 1)))
    assert assess(m, ["poor1"], interval=NARROW).level == "low"
    assert assess(m, ["poor1", "good1"], interval=NARROW).level == "high"
    assert assess(m, ["poor1", "poor1"], interval=NARROW).claims == 1


def test_unknown_claim_is_an_error(model):
    m = model([src("a", "A1")], claims_from(("a", 1)))
    with pytest.raises(ValueError, match="nope"):
        assess(m, ["a1", "nope"], interval=NARROW)


# --- dependence, unnamed officials, quality --------------------------------------------------------------------


def test_dependence_by_count(model):
    m = model([src("a", "A1"), src("b", "B2")], claims_from(("a", 3), ("b", 1)))
    a = assess(m, all_claims(m), interval=NARROW)
    assert (a.level, codes(a)) == ("moderate", ["dependence"])
    assert a.sources == ("a", "b")
    assert "one source (a, graded A1) carries 3 of its 4 claims" in sentence(a)
    even = model([src("a", "A1"), src("b", "B2")], claims_from(("a", 2), ("b", 1)))  # exactly two thirds
    assert assess(even, all_claims(even), interval=NARROW).level == "high"


@pytest.mark.parametrize(("grade", "unnamed"), [("C3", False), ("B5", False), ("A2", True)])
def test_dependence_on_a_weak_source_is_low(model, grade, unnamed):
    m = model([src("weak", grade, unnamed=unnamed), src("good", "A1")], claims_from(("weak", 3), ("good", 1)))
    a = assess(m, all_claims(m), interval=NARROW)
    assert a.level == "low"
    assert codes(a) == ["dependence"]
    assert f"one source (weak, graded {grade})" in sentence(a)


def test_dependence_by_swing(model):
    """With the sensitivity's swings, dependence is measured by how far each claim moves the judgment."""
    m = model([src("a", "A1"), src("b", "B2")], claims_from(("a", 2), ("b", 2)))
    ids = all_claims(m)
    assert assess(m, ids, interval=NARROW).level == "high"
    a = assess(m, ids, interval=NARROW, drivers={"a1": 0.30, "a2": -0.20, "b1": 0.05})  # b2 absent: 0
    assert (a.level, codes(a)) == ("moderate", ["dependence"])
    assert a.factor("dependence").data["by"] == "weight"
    assert "91% of how far the claims move it" in sentence(a)
    lopsided = model([src("a", "A1"), src("b", "B2")], claims_from(("a", 3), ("b", 1)))
    balanced = {"a1": 0.1, "a2": 0.1, "a3": 0.1, "b1": 0.3}
    assert assess(lopsided, all_claims(lopsided), interval=NARROW, drivers=balanced).level == "high"
    zero = {"a1": 0.0, "b1": float("nan")}  # no claim swings: by count again
    assert assess(lopsided, all_claims(lopsided), interval=NARROW, drivers=zero).level == "moderate"


def test_unnamed_officials(model):
    m = model([src("a", "A1", unnamed=True), src("b", "A2", unnamed=True), src("c", "B1")],
              claims_from(("a", 1), ("b", 1), ("c", 1)))
    a = assess(m, all_claims(m), interval=NARROW)
    assert (a.level, codes(a)) == ("moderate", ["unnamed"])
    assert "2 of its 3 claims come from sources citing unnamed officials" in sentence(a)
    half = model([src("a", "A1", unnamed=True), src("c", "B1")], claims_from(("a", 1), ("c", 1)))
    assert assess(half, all_claims(half), interval=NARROW).level == "high"
    by_swing = assess(m, all_claims(m), interval=NARROW, drivers={"a1": 0.05, "b1": 0.05, "c1": 0.15})
    assert by_swing.level == "high"


def test_quality(model):
    """Corroborated, but no source graded A or B with credibility 1-3: moderate."""
    m = model([src("a", "C2"), src("b", "D3"), src("c", "B4")], claims_from(("a", 1), ("b", 1), ("c", 1)))
    a = assess(m, all_claims(m), interval=NARROW)
    assert (a.level, codes(a)) == ("moderate", ["quality"])
    assert "none of its three sources is graded A or B with credibility 1–3" in sentence(a)


# --- stances, width, sampler -----------------------------------------------------------------------------------


@pytest.fixture
def sound(model):
    m = model([src("a", "A1", "P"), src("b", "B2", "Q"), src("c", "A2", "R")],
              claims_from(("a", 1), ("b", 1), ("c", 1)))
    return m, all_claims(m)


@pytest.mark.parametrize(("means", "words", "level"), [
    ((0.40, 0.49), ("w", "w"), "high"),  # 9 points
    ((0.40, 0.50), ("w", "w"), "moderate"),  # 10 points
    ((0.40, 0.42), ("w", "v"), "moderate"),  # the word changes
    ((0.30, 0.5449), ("w", "w"), "moderate"),  # printed 30 and 54: 24 points
    ((0.30, 0.5451), ("w", "w"), "low"),  # printed 30 and 55: 25 points
    ((0.60, 0.20, 0.41), ("w", "w", "w"), "low"),
])
def test_stances(sound, means, words, level):
    m, ids = sound
    a = assess(m, ids, interval=NARROW, stance_means=means, stance_words=words)
    assert a.level == level
    assert codes(a) == ([] if level == "high" else ["stances"])
    spread = a.factor("stances").data["spread"]
    text = sentence(a)
    assert f"{spread} points" in text
    assert ("word it differently" in text) == (words[0] != words[1] and spread < 10)


def test_no_stances_no_factor(sound):
    m, ids = sound
    assert assess(m, ids, interval=NARROW).factor("stances") is None


@pytest.mark.parametrize(("interval", "points", "level"), [
    ((0.30, 0.54), 24, "high"), ((0.30, 0.55), 25, "moderate"),
    ((0.304, 0.5459), 25, "moderate"),  # 24.2 points apart, printed 30 and 55: the printed width counts
    ((0.1, 0.59), 49, "moderate"), ((0.1, 0.6), 50, "low"), ((0.0, 1.0), 100, "low")])
def test_width(sound, interval, points, level):
    m, ids = sound
    a = assess(m, ids, interval=interval)
    assert (a.level, a.factor("width").data["points"]) == (level, points)
    assert codes(a) == ([] if level == "high" else ["width"])
    assert f"its 90% interval spans {points} points" in sentence(a, level_pct=90)


def test_sampler_one_step_down(model, sound):
    m, ids = sound
    a = assess(m, ids, interval=NARROW, sampler_bad=True)
    assert (a.level, codes(a)) == ("moderate", ["sampler"])
    b = assess(m, ids, interval=(0.3, 0.6), sampler_bad=True)  # the width alone: moderate
    assert (b.level, codes(b)) == ("low", ["width", "sampler"])
    assert "failed its checks" in sentence(b)
    c = assess(m, ids, interval=(0.0, 0.9), sampler_bad=True)  # already low: stays low, and said for the width
    assert (c.level, codes(c)) == ("low", ["width"])
    assert c.factor("sampler") is not None
    assert assess(m, ids, interval=NARROW).factor("sampler") is None


def test_every_factor_at_the_lowest_level_binds(model):
    m = model([src("a", "A1"), src("b", "B2")], claims_from(("a", 3), ("b", 1)))
    a = assess(m, all_claims(m), interval=(0.3, 0.6), stance_means=(0.4, 0.5))
    assert (a.level, codes(a)) == ("moderate", ["dependence", "stances", "width"])
    text = sentence(a)
    assert "carries 3 of its 4 claims" in text and "disagree by 10 points" in text and "spans 30 points" in text


def test_high_sentence_names_its_support(sound):
    m, ids = sound
    a = assess(m, ids, interval=NARROW, stance_means=(0.44, 0.49), stance_words=("w", "w"))
    assert a.level == "high" and a.binding == ()
    assert sentence(a) == ("High confidence: three independent sources bear on it, all of them graded A or B with "
                           "credibility 1–3, the stances agree within 5 points and its 80% interval spans 10 points.")


def test_round_trip_and_json(model):
    m = model([src("a", "C3", "P", unnamed=True), src("b", "B2", "Q")], claims_from(("a", 3), ("b", 1)))
    a = assess(m, all_claims(m), interval=(0.2, 0.5), drivers={"a1": 0.2, "b1": 0.1},
               stance_means=(0.2, 0.5), stance_words=("x", "y"), sampler_bad=True)
    d = json.loads(json.dumps(a.to_dict()))
    assert Assessment.from_dict(d) == a
    assert sentence(Assessment.from_dict(d)) == sentence(a)


def test_the_rule_imports_no_pymc():
    code = ("import sys, forecast.analyses.confidence; "
            "assert not [m for m in sys.modules if m.split('.')[0] in {'pymc', 'pytensor', 'arviz'}]")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the sentence: no likelihood word, no jargon -----------------------------------------------------------------


def test_sentence_words(model):
    m = model([src("a", "C3", unnamed=True), src("b", "A1", "P"), src("c", "B2", "Q", unnamed=True)],
              claims_from(("a", 2), ("b", 1), ("c", 3)))
    seen = set()
    for ids in ([], ["a1"], ["b1"], ["a1", "a2", "b1"], ["c1", "c2", "c3", "b1"], all_claims(m)):
        for means, words in (((), ()), ((0.3, 0.7), ("likely", "unlikely")), ((0.5, 0.52), ("even", "likely"))):
            for bad in (False, True):
                a = assess(m, ids, interval=(0.1, 0.4), stance_means=means, stance_words=words, sampler_bad=bad)
                text = sentence(a)
                assert not LIKELIHOOD.search(text), text
                assert not JARGON.search(text), text
                assert text.startswith(f"{a.level.capitalize()} confidence: ") and text.endswith(".")
                seen.add(a.level)
    assert seen == {"low", "moderate"}


# --- the guarantee and monotonicity, over random models --------------------------------------------------------

GRADES = [f"{r}{c}" for r in "ABCDEF" for c in range(1, 7)]
# the strategies lean towards inputs that allow high confidence, so that the properties are tested at every level
GOOD = st.sampled_from(["A1", "A2", "B2", "B3"])
SWING = st.floats(-0.5, 0.5) | st.just(0.0)


@st.composite
def cases(draw):
    """A random small model (1-4 sources, 0-6 claims), the claims bearing on the question, and the rest of the
    assessment's inputs."""
    n = draw(st.integers(1, 4))
    grades = [draw(GOOD | st.sampled_from(GRADES)) for _ in range(n)]
    sources = tuple(Source(id=f"s{i}", title="t", reliability=g[0], credibility=int(g[1]),
                           publisher=draw(st.sampled_from(["", "", "P", "Q"])),
                           unnamed_sources=draw(st.sampled_from([False, False, True]))) for i, g in enumerate(grades))
    k = draw(st.integers(0, 6) | st.integers(2, 6))
    claims = tuple(Claim(id=f"c{j}", cause="x", effect="y", direction="raises", paraphrase="p",
                         source=f"s{draw(st.integers(0, n - 1))}") for j in range(k))
    every = [c.id for c in claims]
    m = ScenarioModel(path="random.toml", info=ModelInfo(id="random", title="Random"), sources=sources,
                      variables=(Variable(id="x", label="x", kind="event"), Variable(id="y", label="y", kind="event")),
                      claims=claims)
    ids = draw(st.just(every) | st.lists(st.sampled_from(every), unique=True)) if claims else []
    drivers = draw(st.none() | st.just(dict.fromkeys(every, 0.1))
                   | st.dictionaries(st.sampled_from(every or ["none"]), SWING))
    if draw(st.booleans()):  # only the sources limit confidence
        return m, ids, {"interval": NARROW, "drivers": drivers}
    lo = draw(st.floats(0, 1))
    hi = min(1.0, lo + draw(st.sampled_from([0.0, 0.1, 0.3, 0.6]) | st.floats(0, 1)))
    means = draw(st.lists(st.sampled_from([0.40, 0.43, 0.47]) | st.floats(0, 1), max_size=3))
    words = draw(st.lists(st.just("a"), max_size=3) | st.lists(st.sampled_from(["a", "b"]), max_size=3))
    options = {"interval": (lo, hi), "drivers": drivers, "stance_means": means, "stance_words": words,
               "sampler_bad": draw(st.booleans())}
    return m, ids, options


def poorly_graded(s: Source) -> bool:
    return s.reliability in "CDEF" or s.credibility >= 4


@settings(max_examples=400, deadline=None)
@given(cases())
def test_the_guarantee(case):
    """No claim, or a single source graded C or worse (or of credibility 4-6): never above low."""
    m, ids, options = case
    a = assess(m, ids, **options)
    used = {c.source for c in m.claims if c.id in ids}
    if not used or (len(used) == 1 and poorly_graded(m.source(used.pop()))):
        assert a.level == "low"
    assert a.level in LEVELS
    assert not LIKELIHOOD.search(sentence(a)) and not JARGON.search(sentence(a))
    assert (a.binding == ()) == (a.level == "high")
    assert all(rank(f.level) <= rank(a.level) + (f.code != "sampler") for f in a.binding)


def swings(ids: list[str], drivers: dict | None) -> float:
    """The claims' total swing as :func:`assess` measures it (absolute values, not a number as 0)."""
    return sum(abs(v) for k, v in (drivers or {}).items() if k in ids and math.isfinite(v))


@settings(max_examples=400, deadline=None)
@given(cases(), st.floats(0, 2))
def test_a_corroborating_a1_source_never_lowers_confidence(case, fraction):
    """A claim from a further A1 source of another publisher never lowers the level, the other inputs unchanged;
    with swings, when its own swing is at most twice the others' total (beyond, the judgment depends on it)."""
    m, ids, options = case
    before = assess(m, ids, **options)
    extra = Source(id="fresh", title="t", reliability="A", credibility=1, publisher="Independent Press")
    claim = Claim(id="cfresh", cause="x", effect="y", direction="raises", paraphrase="p", source="fresh")
    more = m.model_copy(update={"sources": (*m.sources, extra), "claims": (*m.claims, claim)})
    drivers = options["drivers"]
    if drivers is not None:
        drivers = {**drivers, "cfresh": fraction * swings(ids, drivers)}
    after = assess(more, [*ids, "cfresh"], **{**options, "drivers": drivers})
    assert rank(after.level) >= rank(before.level), (before, after)


def test_a_source_carrying_the_whole_swing_is_a_dependence(model):
    """The limit of the property above: a new A1 claim that swings the judgment far more than the others makes
    the judgment depend on that one source (at most moderate)."""
    m = model([src("a", "A1", "P"), src("b", "B2", "Q"), src("fresh", "A1", "R")],
              claims_from(("a", 1), ("b", 1), ("fresh", 1)))
    drivers = {"a1": 0.1, "b1": 0.1}
    assert assess(m, ["a1", "b1"], interval=NARROW, drivers=drivers).level == "high"
    assert assess(m, ["a1", "b1", "fresh1"], interval=NARROW, drivers={**drivers, "fresh1": 0.4}).level == "high"
    after = assess(m, ["a1", "b1", "fresh1"], interval=NARROW, drivers={**drivers, "fresh1": 0.41})
    assert (after.level, codes(after)) == ("moderate", ["dependence"])
