"""Words and grades become numbers: a model plus a prior set resolve to one plain spec.

Precedence for every number: ``--set`` > prior set (and what it extends) > the
model file > the package defaults. Ranges stay as bands here; the compile layer
fits them (PreliZ ``maxent``) through :mod:`forecast.spec.fit`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from forecast.spec import limits
from forecast.spec.checks import check_model, topological_order
from forecast.spec.errors import Problem, SpecError, did_you_mean
from forecast.spec.priorsets import PriorSet, apply_sets, validate_entry
from forecast.spec.schema import PriorSpec, ScenarioModel

# Allowed distributions and their parameters: the only names a file may use.
DISTRIBUTIONS: dict[str, set[str]] = {
    "Beta": {"alpha", "beta", "mu", "sigma", "nu"},
    "Gamma": {"alpha", "beta", "mu", "sigma"},
    "HalfNormal": {"sigma", "tau"},
    "LogNormal": {"mu", "sigma", "tau"},
    "Normal": {"mu", "sigma", "tau"},
    "TruncatedNormal": {"mu", "sigma", "lower", "upper"},
    "Uniform": {"lower", "upper"},
    "DiracDelta": {"c"},
}
ROLE_DISTS = {
    "base": {"Beta", "Uniform", "DiracDelta"},
    "noise": {"HalfNormal", "Gamma", "LogNormal", "DiracDelta"},
    "effect": set(DISTRIBUTIONS),
}
RANGE = re.compile(r"^\s*(\d*\.?\d+)\s*(%?)\s*(?:-|–|to)\s*(\d*\.?\d+)\s*(%?)\s*$")


@dataclass(frozen=True)
class RVariable:
    id: str
    kind: str
    base: dict[str, Any]  # a Prior dict, or {"band": [lo, hi], "mass": m}
    noise: dict[str, Any] | None
    claims_in: tuple[str, ...]


@dataclass(frozen=True)
class RClaim:
    id: str
    cause: str
    effect: str
    sign: int
    effect_prior: dict[str, Any]
    credence: float


@dataclass(frozen=True)
class RObservation:
    id: str
    variable: str
    kind: str  # "event", "index" or "soft"
    value: float
    sd: float | None = None
    accuracy: float | None = None  # soft reports: P(report says yes | event happened)


@dataclass(frozen=True)
class Resolved:
    """A model with every word and grade turned into a number or a prior."""

    model: ScenarioModel
    priors: PriorSet
    order: tuple[str, ...]
    variables: dict[str, RVariable]
    claims: dict[str, RClaim]
    evidence: tuple[RObservation, ...] = ()
    interventions: dict[str, float] = field(default_factory=dict)

    @property
    def interval(self) -> float:
        return self.priors.simulation.interval


def parse_band(text: str) -> tuple[float, float] | None:
    m = RANGE.match(text)
    if not m:
        return None
    lo, hi = float(m.group(1)), float(m.group(3))
    if m.group(2) or m.group(4):
        lo, hi = lo / 100, hi / 100
    return lo, hi


def _band(text: str, priors: PriorSet) -> tuple[tuple[float, float] | None, str]:
    if text in priors.probability_words:
        return tuple(priors.probability_words[text]), ""
    band = parse_band(text)
    if band is None:
        return None, f"'{text}' is neither an ICD 203 word nor a range like '30-60%'" + did_you_mean(
            text, priors.probability_words
        )
    if not 0.0 <= band[0] < band[1] <= 1.0:
        return None, f"range '{text}' must lie inside [0, 1] with low < high"
    return band, ""


def _prior(spec: PriorSpec, role: str) -> str:
    if spec.dist not in DISTRIBUTIONS:
        return f"unknown distribution '{spec.dist}'" + did_you_mean(spec.dist, DISTRIBUTIONS)
    if spec.dist not in ROLE_DISTS[role]:
        return f"a {role} prior must be one of {', '.join(sorted(ROLE_DISTS[role]))}, not {spec.dist}"
    bad = set(spec.kwargs) - DISTRIBUTIONS[spec.dist]
    if bad:
        name = sorted(bad)[0]
        return f"{spec.dist} has no parameter '{name}'" + did_you_mean(name, DISTRIBUTIONS[spec.dist])
    if role == "base" and spec.dist == "DiracDelta" and not 0.0 <= spec.kwargs.get("c", -1) <= 1.0:
        return "a fixed base rate needs c in [0, 1]"
    return ""


def probability_prior(value: Any, priors: PriorSet, role: str = "base") -> tuple[dict | None, str]:
    """A base rate or level as a Prior dict or a band to fit."""
    if isinstance(value, PriorSpec):
        msg = _prior(value, role)
        return (None, msg) if msg else (value.to_dict(), "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0.0 <= value <= 1.0:
            return None, f"probability {value} is outside [0, 1]"
        return {"dist": "DiracDelta", "kwargs": {"c": float(value)}}, ""
    band, msg = _band(str(value), priors)
    return (None, msg) if band is None else ({"band": list(band), "mass": priors.base_rate.mass}, "")


def credence_value(value: Any, priors: PriorSet) -> tuple[float | None, str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (float(value), "") if 0.0 <= value <= 1.0 else (None, f"credence {value} is outside [0, 1]")
    band, msg = _band(str(value), priors)
    return (None, msg) if band is None else ((band[0] + band[1]) / 2, "")


def grade_credence(grade: str, priors: PriorSet) -> float:
    return priors.credence.reliability[grade[0]] * priors.credence.credibility[grade[1]]


def resolve(
    model: ScenarioModel,
    priors: PriorSet,
    *,
    observe: dict[str, float] | None = None,
    sources_dir: Any = None,
    broken: set[str] | frozenset = frozenset(),
) -> Resolved:
    """Check ``model`` against ``priors`` and return numbers ready to compile.

    Raises :class:`SpecError` listing every problem found. ``broken`` (ids of entries that
    failed validation, see :func:`forecast.spec.load.parse_partial`) lets ``forecast check``
    resolve a partial model: references to them are not reported, and it always raises.
    """
    f = model.path
    problems = check_model(model, sources_dir, broken)
    var_ids = [v.id for v in model.variables]
    claim_ids = [c.id for c in model.claims]
    for cid in priors.claims:
        if cid not in claim_ids and cid not in broken:
            problems.append(Problem(priors.origin("claims", cid), f"claims.{cid}",
                                    "override names an unknown claim" + did_you_mean(cid, claim_ids)))
    for vid in priors.variables:
        if vid not in var_ids and vid not in broken:
            problems.append(Problem(priors.origin("variables", vid), f"variables.{vid}",
                                    "override names an unknown variable" + did_you_mean(vid, var_ids)))

    variables: dict[str, RVariable] = {}
    for v in model.variables:
        over = priors.variables.get(v.id)
        raw = (over.base if over and over.base is not None else None) or v.base or priors.base_rate.default
        base, msg = probability_prior(raw, priors, "base")
        if msg:
            problems.append(Problem(f, f"variables.{v.id}", f"base: {msg}"))
        noise = None
        if v.kind == "index":
            spec = (over.noise if over and over.noise else None) or v.noise or priors.index.noise
            msg = _prior(spec, "noise")
            if msg:
                problems.append(Problem(f, f"variables.{v.id}", f"noise: {msg}"))
            noise = spec.to_dict()
        ins = tuple(c.id for c in model.claims if c.effect == v.id)
        variables[v.id] = RVariable(v.id, v.kind, base or {}, noise, ins)

    claims: dict[str, RClaim] = {}
    for c in model.claims:
        over = priors.claims.get(c.id)
        strength = (over.strength if over and over.strength is not None else None) or c.strength
        if isinstance(strength, PriorSpec):
            msg, effect = _prior(strength, "effect"), strength.to_dict()
        elif strength in priors.strength:
            msg, effect = "", priors.strength[strength].to_dict()
        else:
            msg, effect = f"unknown strength '{strength}'" + did_you_mean(strength, priors.strength), {}
        if msg:
            problems.append(Problem(f, f"claims.{c.id}", f"strength: {msg}"))
        raw = over.credence if over and over.credence is not None else c.credence
        if raw is None:
            src = next((s for s in model.sources if s.id == c.source), None)
            cred, msg = (grade_credence(src.grade, priors), "") if src else (0.5, "")
        else:
            cred, msg = credence_value(raw, priors)
        if msg:
            problems.append(Problem(f, f"claims.{c.id}", f"credence: {msg}"))
            cred = 0.5
        if over and over.scale is not None:
            cred = min(1.0, cred * over.scale)
        claims[c.id] = RClaim(c.id, c.cause, c.effect, 1 if c.direction == "raises" else -1, effect, cred)

    for s in model.scenarios:
        if s.set:
            data = priors.model_dump(exclude={"files", "overrides"})
            merged, probs = apply_sets(data, s.set, f"{f}: scenarios.{s.id}")
            _, more = validate_entry(type(priors), merged, f, f"scenarios.{s.id}.set")
            problems += probs + more
            for key in s.set:
                section, _, rest = str(key).partition(".")
                known = {"claims": claim_ids, "variables": var_ids}.get(section)
                name = rest.split(".")[0]
                if known is not None and rest and name not in known and name not in broken:
                    problems.append(Problem(f, f"scenarios.{s.id}", f"set: '{key}' names an unknown "
                                            f"{section[:-1]}" + did_you_mean(name, known)))

    if problems or broken:
        raise SpecError(problems)
    order, _ = topological_order(var_ids, [(c.cause, c.effect) for c in model.claims])
    evidence = _observations(model, priors, observe or {})
    resolved = Resolved(model, priors, tuple(order), variables, claims, evidence)
    over = limits.problems(resolved)  # what the exact engine cannot sum out: exit 2 now, not a traceback mid-run
    if over:
        raise SpecError(over)
    return resolved


def _observations(model: ScenarioModel, priors: PriorSet, extra: dict[str, float]) -> tuple[RObservation, ...]:
    kinds = {v.id: v.kind for v in model.variables}
    out: dict[str, RObservation] = {}
    for ev in model.evidence:
        if ev.soft:
            grade = ev.grade or model.source(ev.source).grade
            floor = priors.credence.soft_floor
            acc = floor + (1 - floor) * grade_credence(grade, priors)
            out[ev.id] = RObservation(ev.id, ev.variable, "soft", float(ev.value), accuracy=acc)
        else:
            out[ev.id] = RObservation(ev.id, ev.variable, kinds[ev.variable], float(ev.value), sd=ev.sd)
    for vid, value in extra.items():
        out = {k: o for k, o in out.items() if not (o.variable == vid and o.kind != "soft")}
        sd = 0.02 if kinds[vid] == "index" else None
        out[f"observe_{vid}"] = RObservation(f"observe_{vid}", vid, kinds[vid], float(value), sd=sd)
    return tuple(out.values())
