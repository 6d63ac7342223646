"""Confidence in a judgment by ICD 203's factors: one rule, plain data in, plain data out.

ICD 203 asks analysts to state their confidence in a judgment apart from its likelihood, and to ground it
in the quality of the sources, their corroboration by independent sources, dependence on one source or on
unnamed officials, agreement across analytic lines and the spread of the estimate. No library turns those
factors into a level, so the rule is written here, once; the brief and every other surface read it
(:func:`assess`), and :mod:`forecast.report.confidence_text` words it. The rule reads the model's plain
spec (sources, their Admiralty grades and publishers, the claims) and numbers the analyses already made (the
interval, the stances' means and words, the sensitivity's swings): it imports no PyMC.

Each factor allows at most one level (high > moderate > low); the judgment's level is the lowest any factor
allows, one step lower again when the sampler's checks failed. Sources that share a non-empty publisher are
one *origin*: they count once as corroboration and together as one source for dependence. docs/semantics.md,
"Confidence", states the rule in words; ``tests/test_confidence.py`` checks it, and the guarantee that a
judgment resting on no claim, or on a single source graded C or worse, is never above low confidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from forecast.analyses.summary import percent
from forecast.spec.schema import Claim, ScenarioModel, Source

LEVELS = ("low", "moderate", "high")
# the interval's printed width (upper minus lower bound, in whole points): under 25 points high, under 50 moderate
CONFIDENCE_WIDTH = ((0.25, "high"), (0.5, "moderate"), (1.01, "low"))
# the stances' spread (highest minus lowest printed mean, in whole points): under 10 points high, under 25 moderate
STANCE_SPREAD = ((0.10, "high"), (0.25, "moderate"), (1.01, "low"))
DEPENDENCE = 2 / 3  # one origin carrying more than this share of the claims (or their swing) → at most moderate
UNNAMED = 1 / 2  # more than this share from sources citing unnamed officials → at most moderate
WEAK = 1 / 2  # an origin is weak when more than this share of its claims come from poorly graded or unnamed sources
TOLERANCE = 1e-9  # a share is over a threshold only by more than this: float rounding (0.4 / 0.6 > 2 / 3) never decides
WELL_RELIABLE = frozenset("AB")
WELL_CREDIBLE = 3  # credibility 1–3: confirmed, probably or possibly true


@dataclass(frozen=True)
class Factor:
    """One ICD 203 factor: its ``code``, the highest ``level`` it allows, and the plain numbers behind it
    (JSON-able: what the sentence cites).

    Codes: ``base_rate`` (no claim bears on the question), ``corroboration``, ``dependence``, ``unnamed``,
    ``quality``, ``stances``, ``width``, ``sampler``."""

    code: str
    level: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Assessment:
    """Confidence in one judgment.

    Attributes
    ----------
    level
        ``"low"``, ``"moderate"`` or ``"high"``.
    binding
        The factors that set ``level`` (its reasons): those allowing the lowest level among the others, then
        the sampler when it lowered it; empty when the level is high.
    factors
        Every factor assessed, in a fixed order (``base_rate`` or the source factors, then stances, width,
        sampler); stances only when stances were compared, sampler only when its checks failed.
    sources
        The ids of the sources of the claims bearing on the question, most claims (or swing) first.
    grades
        Their Admiralty grades, sorted and distinct.
    claims
        How many claims bear on the question.
    independent
        How many independent origins (sources, those with one publisher counted once) those claims come from.
    """

    level: str
    binding: tuple[Factor, ...]
    factors: tuple[Factor, ...]
    sources: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()
    claims: int = 0
    independent: int = 0

    def factor(self, code: str) -> Factor | None:
        return next((f for f in self.factors if f.code == code), None)

    def to_dict(self) -> dict:
        """Plain JSON-able data (the brief's document); :meth:`from_dict` reads it back."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> Assessment:
        def factors(xs):
            return tuple(Factor(x["code"], x["level"], dict(x["data"])) for x in xs)

        return cls(d["level"], factors(d["binding"]), factors(d["factors"]), tuple(d["sources"]),
                   tuple(d["grades"]), int(d["claims"]), int(d["independent"]))


def rank(level: str) -> int:
    return LEVELS.index(level)


def lower(level: str) -> str:
    """One step below ``level`` (low stays low)."""
    return LEVELS[max(rank(level) - 1, 0)]


def by_table(points: int, table: Sequence[tuple[float, str]]) -> str:
    """The level of a width or spread of ``points`` whole points (as printed) by ``table``'s fractions."""
    return next(name for bound, name in table if points < percent(bound))


def over(part: float, threshold: float) -> bool:
    """``part`` is more than ``threshold`` (by more than ``TOLERANCE``)."""
    return part > threshold + TOLERANCE


def well_graded(s: Source) -> bool:
    """Reliability A or B and credibility 1–3 (the opposite of "graded C or worse, or credibility 4–6")."""
    return s.reliability in WELL_RELIABLE and s.credibility <= WELL_CREDIBLE


def origin(s: Source) -> str:
    """What counts as one independent source: the publisher when given, else the source itself."""
    return f"publisher:{s.publisher.strip().casefold()}" if s.publisher.strip() else f"source:{s.id}"


def weights(claims: Sequence, drivers: Mapping[str, float] | None) -> tuple[dict[str, float], str]:
    """Each claim's weight and what it measures: its swing (``|drivers[id]|``, 0 when absent) when ``drivers``
    is given and some claim swings (not a number: 0), else 1 per claim (``"claims"``)."""
    if drivers is not None:
        w = {c.id: abs(x) if math.isfinite(x := float(drivers.get(c.id, 0.0))) else 0.0 for c in claims}
        if sum(w.values()) > 0:
            return w, "weight"
    return {c.id: 1.0 for c in claims}, "claims"


def share(claims: Sequence, w: Mapping[str, float], keep: Callable[[Claim], bool]) -> float:
    """The share of the weight of ``claims`` on those ``keep`` accepts; by count when they all weigh 0."""
    total = sum(w[c.id] for c in claims)
    if total <= 0:
        w, total = {c.id: 1.0 for c in claims}, float(len(claims))
    return sum(w[c.id] for c in claims if keep(c)) / total if total else 0.0


@dataclass(frozen=True)
class Origin:
    """One independent origin's claims on the question (its sources most weight first)."""

    sources: tuple[Source, ...]
    claims: tuple[Claim, ...]
    weight: float
    poor: float  # share of its claims (weight) from sources graded C or worse or of credibility 4-6
    unnamed: float  # share from sources citing unnamed officials
    weak: bool  # more than half from sources that are either

    def describe(self) -> dict:
        """The plain data a sentence cites."""
        return {"publisher": self.sources[0].publisher.strip() if len(self.sources) > 1 else "",
                "sources": [{"id": s.id, "grade": s.grade, "unnamed": s.unnamed_sources} for s in self.sources],
                "poor": over(self.poor, WEAK), "unnamed": over(self.unnamed, WEAK), "weak": self.weak}


def gather(model: ScenarioModel, claims: Sequence[Claim], w: Mapping[str, float]) -> Origin:
    """One origin from its claims: its sources by weight, what share rests on poor grades or unnamed officials."""
    srcs = {c.source: model.source(c.source) for c in claims}
    load = {sid: sum(w[c.id] for c in claims if c.source == sid) for sid in srcs}
    poor = {sid for sid, s in srcs.items() if not well_graded(s)}
    hidden = {sid for sid, s in srcs.items() if s.unnamed_sources}
    return Origin(tuple(srcs[sid] for sid in sorted(srcs, key=lambda sid: -load[sid])), tuple(claims),
                  sum(load.values()), share(claims, w, lambda c: c.source in poor),
                  share(claims, w, lambda c: c.source in hidden),
                  over(share(claims, w, lambda c: c.source in poor | hidden), WEAK))


def origins(model: ScenarioModel, claims: Sequence[Claim], w: Mapping[str, float]) -> list[Origin]:
    """The claims grouped by origin, most weight first (ties: first named first)."""
    groups: dict[str, list[Claim]] = {}
    for c in claims:
        groups.setdefault(origin(model.source(c.source)), []).append(c)
    return sorted((gather(model, cs, w) for cs in groups.values()), key=lambda o: -o.weight)


def corroboration(groups: Sequence[Origin]) -> Factor:
    """One origin: low when weak, else moderate (nothing independent corroborates it); two or more: high."""
    if len(groups) == 1:
        g = groups[0]
        return Factor("corroboration", "low" if g.weak else "moderate", {"independent": 1, "origin": g.describe()})
    good = sum(any(well_graded(s) for s in g.sources) for g in groups)
    return Factor("corroboration", "high", {"independent": len(groups), "well_graded": good})


def dependence(groups: Sequence[Origin], by: str) -> Factor:
    """The origin carrying most: more than two thirds → moderate, low when that origin is weak."""
    top = groups[0]
    part = top.weight / sum(g.weight for g in groups)
    level = "high" if not over(part, DEPENDENCE) else "low" if top.weak else "moderate"
    return Factor("dependence", level, {"share": part, "by": by, "claims": len(top.claims),
                                        "of": sum(len(g.claims) for g in groups), "origin": top.describe()})


def unnamed(model: ScenarioModel, claims: Sequence[Claim], w: Mapping[str, float], by: str) -> Factor:
    """More than half the claims (weight) from sources citing unnamed officials → moderate."""
    part = share(claims, w, lambda c: model.source(c.source).unnamed_sources)
    return Factor("unnamed", "moderate" if over(part, UNNAMED) else "high",
                  {"share": part, "by": by, "claims": sum(model.source(c.source).unnamed_sources for c in claims),
                   "of": len(claims)})


def quality(model: ScenarioModel, claims: Sequence[Claim]) -> Factor:
    """No claim from a source graded A or B with credibility 1-3 → moderate."""
    srcs = {c.source: model.source(c.source) for c in claims}
    good = sum(well_graded(s) for s in srcs.values())
    return Factor("quality", "high" if good else "moderate", {"well_graded": good, "sources": len(srcs)})


def stances(means: Sequence[float], words: Sequence[str]) -> Factor | None:
    """The stances' spread in printed points by ``STANCE_SPREAD``; different words → at most moderate."""
    if not means and not words:
        return None
    spread = max(percent(m) for m in means) - min(percent(m) for m in means) if means else 0
    differ = len(set(words)) > 1
    level = min(by_table(spread, STANCE_SPREAD), "moderate" if differ else "high", key=rank)
    return Factor("stances", level, {"spread": spread, "differ": differ, "words": sorted(set(words)),
                                     "count": max(len(means), len(words))})


def width(interval: tuple[float, float]) -> Factor:
    """The interval's printed width by ``CONFIDENCE_WIDTH``."""
    lo, hi = interval
    points = percent(hi) - percent(lo)
    return Factor("width", by_table(points, CONFIDENCE_WIDTH), {"points": points})


def claims_of(model: ScenarioModel, claim_ids: Sequence[str]) -> list[Claim]:
    """The claims named, each once, in order; an unknown id is an error (the caller's, not the user's)."""
    known = {c.id: c for c in model.claims}
    missing = [cid for cid in claim_ids if cid not in known]
    if missing:
        raise ValueError(f"no claim {missing[0]!r} in model {model.info.id!r}")
    return [known[cid] for cid in dict.fromkeys(claim_ids)]


def source_factors(model: ScenarioModel, claims: Sequence[Claim], drivers: Mapping[str, float] | None
                   ) -> tuple[list[Factor], list[Origin]]:
    """Corroboration, dependence (two origins or more), unnamed officials and source quality; the base rate
    alone when no claim bears on the question."""
    if not claims:
        return [Factor("base_rate", "low", {})], []
    w, by = weights(claims, drivers)
    groups = origins(model, claims, w)
    out = [corroboration(groups)]
    if len(groups) > 1:
        out.append(dependence(groups, by))
    return out + [unnamed(model, claims, w, by), quality(model, claims)], groups


def assess(model: ScenarioModel, claim_ids: Sequence[str], *, interval: tuple[float, float],
           drivers: Mapping[str, float] | None = None, stance_means: Sequence[float] = (),
           stance_words: Sequence[str] = (), sampler_bad: bool = False) -> Assessment:
    """Confidence in the judgment of one question.

    Parameters
    ----------
    model
        The model's plain spec (sources with their grades, publishers and ``unnamed_sources``; claims).
    claim_ids
        The claims bearing on the question (those into its ancestral set).
    interval
        The judgment's central interval (lower, upper), as probabilities.
    drivers
        Optional claim id → the swing its credence makes in the judgment (the sensitivity analysis); when
        given, dependence and unnamed officials are measured by swing rather than by count (a claim absent
        weighs 0; all 0 → by count).
    stance_means, stance_words
        The judgment's mean and ICD 203 word under each stance (prior set), the baseline's included.
    sampler_bad
        The sampler's checks failed: one level lower than the other factors give.

    Returns
    -------
    Assessment
        The level is the lowest any factor allows (high > moderate > low), lowered one step when
        ``sampler_bad``; no claim, or a single origin graded C or worse, is low.
    """
    claims = claims_of(model, claim_ids)
    factors, groups = source_factors(model, claims, drivers)
    factors += [f for f in (stances(stance_means, stance_words), width(interval)) if f is not None]
    rest = min((f.level for f in factors), key=rank)
    binding = tuple(f for f in factors if f.level == rest) if rest != "high" else ()
    if sampler_bad:
        factors.append(Factor("sampler", lower(rest), {}))
        binding += (factors[-1],) if lower(rest) != rest else ()
    ids = tuple(s.id for g in groups for s in g.sources)
    return Assessment(factors[-1].level if sampler_bad else rest, binding, tuple(factors), ids,
                      tuple(sorted({model.source(s).grade for s in ids})), len(claims), len(groups))


__all__ = ["CONFIDENCE_WIDTH", "LEVELS", "STANCE_SPREAD", "Assessment", "Factor", "assess", "lower", "rank",
           "well_graded"]
