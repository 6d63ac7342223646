"""Words and grades become numbers: a model plus a prior set resolve to one plain spec.

Precedence for every number: ``--set`` > prior set (and what it extends) > the
model file > the package defaults. Ranges stay as bands here; the compile layer
fits them (PreliZ ``maxent``) through :mod:`forecast.spec.fit`.
"""

from __future__ import annotations

import math
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
# Where each parameter may lie: (low, high, low included?). PyMC and PreliZ cannot be imported by
# ``forecast check`` (seconds of start-up), so the supports are written here; tests/test_hostile.py checks
# this table against PreliZ's own ``params_support`` and against PyMC's log density at either side of
# every bound.
POSITIVE, REAL, UNIT = (0.0, math.inf, False), (-math.inf, math.inf, False), (0.0, 1.0, False)
SUPPORT: dict[str, dict[str, tuple[float, float, bool]]] = {
    "Beta": {"alpha": POSITIVE, "beta": POSITIVE, "mu": UNIT, "sigma": POSITIVE, "nu": POSITIVE},
    "Gamma": {"alpha": POSITIVE, "beta": POSITIVE, "mu": POSITIVE, "sigma": POSITIVE},
    "HalfNormal": {"sigma": POSITIVE, "tau": POSITIVE},
    "LogNormal": {"mu": REAL, "sigma": POSITIVE, "tau": POSITIVE},
    "Normal": {"mu": REAL, "sigma": POSITIVE, "tau": POSITIVE},
    "TruncatedNormal": {"mu": REAL, "sigma": POSITIVE, "lower": REAL, "upper": REAL},
    "Uniform": {"lower": REAL, "upper": REAL},
    "DiracDelta": {"c": REAL},
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
    if band == (0.0, 1.0):
        return None, f"range '{text}' is all of [0, 1] and says nothing; give a narrower range, or leave it out"
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
    return _values(spec.dist, spec.kwargs, role)


def _values(dist: str, kw: dict[str, Any], role: str) -> str:
    """What is wrong with the parameter values of a ``dist`` prior in ``role`` ("" if nothing)."""
    for name, value in kw.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{dist} parameter {name} = {value!r} is not a number"
        if not math.isfinite(value):
            return f"{dist} parameter {name} = {value} is not a finite number"
        low, high, closed = SUPPORT[dist][name]
        if value < low or (value == low and not closed) or value > high:
            where = ("positive" if (low, high) == (0.0, math.inf) else f"between {low:g} and {high:g}")
            return f"{dist} parameter {name} = {value:g} must be {where}"
    if "lower" in kw and "upper" in kw and not kw["lower"] < kw["upper"]:
        return f"{dist} needs lower < upper (got lower = {kw['lower']:g}, upper = {kw['upper']:g})"
    if dist == "Beta" and "mu" in kw and "sigma" in kw and not kw["sigma"] ** 2 < kw["mu"] * (1 - kw["mu"]):
        return (f"Beta with mu = {kw['mu']:g} needs sigma below {math.sqrt(kw['mu'] * (1 - kw['mu'])):.4g} "
                f"(got {kw['sigma']:g})")
    if role == "base":
        if dist == "Uniform" and not 0.0 <= kw.get("lower", 0.0) < kw.get("upper", 1.0) <= 1.0:
            return "a Uniform base rate must lie inside [0, 1]"
        if dist == "DiracDelta" and not 0.0 < kw.get("c", -1.0) < 1.0:
            return (f"a base rate fixed at {kw.get('c', 'nothing')} makes the variable certain, and evidence "
                    "against it impossible; fix it strictly between 0 and 1 (e.g. 0.001 or 0.999) or give a band")
    if role == "noise" and dist == "DiracDelta" and not kw.get("c", 0.0) > 0.0:
        return "a noise fixed at 0 (or below) leaves an index no spread; fix it above 0 or give a prior"
    return ""


def _given(*options: tuple[Any, str]) -> tuple[Any, str]:
    """The first (value, file it came from) whose value is given: a prior-set override, the model's own value,
    the prior set's default. Messages name that file."""
    return next((value, where) for value, where in options if value is not None)


def probability_prior(value: Any, priors: PriorSet, role: str = "base") -> tuple[dict | None, str]:
    """A base rate or level as a Prior dict or a band to fit."""
    if isinstance(value, PriorSpec):
        msg = _prior(value, role)
        return (None, msg) if msg else (value.to_dict(), "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0.0 <= value <= 1.0:
            return None, f"probability {value} is outside [0, 1]"
        msg = _values("DiracDelta", {"c": float(value)}, role)
        return (None, msg) if msg else ({"dist": "DiracDelta", "kwargs": {"c": float(value)}}, "")
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

    for word, spec in priors.strength.items():  # the prior set's strength words, once each
        msg = _prior(spec, "effect")
        if msg:
            problems.append(Problem(priors.origin("strength", word), f"strength.{word}", msg))

    variables: dict[str, RVariable] = {}
    for v in model.variables:
        over = priors.variables.get(v.id)
        raw, where = _given((over.base if over else None, priors.origin("variables", v.id)), (v.base, f),
                            (priors.base_rate.default, priors.origin("base_rate", "default")))
        base, msg = probability_prior(raw, priors, "base")
        if msg:
            problems.append(Problem(where, f"variables.{v.id}", f"base: {msg}"))
        noise = None
        if v.kind == "index":
            spec, where = _given((over.noise if over else None, priors.origin("variables", v.id)), (v.noise, f),
                                 (priors.index.noise, priors.origin("index", "noise")))
            msg = _prior(spec, "noise")
            if msg:
                problems.append(Problem(where, f"variables.{v.id}", f"noise: {msg}"))
            noise = spec.to_dict()
        ins = tuple(c.id for c in model.claims if c.effect == v.id)
        variables[v.id] = RVariable(v.id, v.kind, base or {}, noise, ins)

    claims: dict[str, RClaim] = {}
    for c in model.claims:
        over = priors.claims.get(c.id)
        strength = (over.strength if over and over.strength is not None else None) or c.strength
        where = priors.origin("claims", c.id) if over and over.strength is not None else f
        if isinstance(strength, PriorSpec):
            msg, effect = _prior(strength, "effect"), strength.to_dict()
        elif strength in priors.strength:
            msg, effect = "", priors.strength[strength].to_dict()
        else:
            msg, effect = f"unknown strength '{strength}'" + did_you_mean(strength, priors.strength), {}
        if msg:
            problems.append(Problem(where, f"claims.{c.id}", f"strength: {msg}"))
        raw = over.credence if over and over.credence is not None else c.credence
        if raw is None:
            src = next((s for s in model.sources if s.id == c.source), None)
            cred, msg = (grade_credence(src.grade, priors), "") if src else (0.5, "")
        else:
            cred, msg = credence_value(raw, priors)
        if msg:
            where = priors.origin("claims", c.id) if over and over.credence is not None else f
            problems.append(Problem(where, f"claims.{c.id}", f"credence: {msg}"))
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
