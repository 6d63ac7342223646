"""Sensitivity of the key judgments: tornado data without recompiling.

For each candidate input (a claim's credence, a variable's base rate) two
prior settings are made, *low* and *high*, through the same ``--set`` keys a
user would type (``claims.<id>.credence``, ``variables.<id>.base``). Each
setting is evaluated once with :meth:`Session.variant` (new hyperparameters in
the compiled functions; importance weights when the base result has a
posterior), and every question's probability is read from it. A question's
tornado lists the candidates inside its ancestral set (only they can move it)
with the widest swing between low and high first.

Settings keep the families and parameter names of the baseline's priors, so no
setting changes the compiled model's structure:

* a claim's credence goes to ``CREDENCE_LOW`` and ``CREDENCE_HIGH`` (claims
  whose credence is exactly 0 or 1 are constants in the model and are skipped);
* a base rate goes to a concentrated prior of the same family at the 10th and
  90th percentiles of its baseline prior (its "range").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pymc as pm
from scipy import stats

from forecast.analyses.session import Result, Session
from forecast.compile import Numbers, ancestral_set

log = logging.getLogger(__name__)

CREDENCE_LOW, CREDENCE_HIGH = 0.05, 0.95
BASE_QUANTILES = (0.1, 0.9)
CONCENTRATION = 40.0  # alpha + beta of a base-rate setting: sd about 0.06 around a level of 0.3


@dataclass(frozen=True)
class Setting:
    """One input moved from low to high: the ``--set`` overrides of each end."""

    kind: str  # "claim" or "base"
    ident: str
    label: str
    low: dict
    high: dict
    low_text: str
    high_text: str


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _base_ends(prior: dict) -> tuple[dict, dict, float, float] | None:
    """Low and high Prior dicts of the same family and parameter names, and the levels they sit at."""
    dist, kw = prior["dist"], prior["kwargs"]
    if dist == "Beta" and {"alpha", "beta"} <= set(kw):
        a, b = kw["alpha"], kw["beta"]
        lo, hi = (float(stats.beta.ppf(q, a, b)) for q in BASE_QUANTILES)
        make = lambda m: {"dist": "Beta", "kwargs": {"alpha": CONCENTRATION * m, "beta": CONCENTRATION * (1 - m)}}  # noqa: E731
    elif dist == "Beta" and {"mu", "sigma"} <= set(kw):
        a, b = pm.Beta.get_alpha_beta(mu=kw["mu"], sigma=kw["sigma"])
        lo, hi = (float(stats.beta.ppf(q, a, b)) for q in BASE_QUANTILES)
        sd_at = lambda m: float(np.sqrt(m * (1 - m) / (CONCENTRATION + 1)))  # noqa: E731
        make = lambda m: {"dist": "Beta", "kwargs": {"mu": m, "sigma": sd_at(m)}}  # noqa: E731
    elif dist == "Uniform":
        lower, upper = kw["lower"], kw["upper"]
        lo, hi = (lower + q * (upper - lower) for q in BASE_QUANTILES)
        half = 0.05 * (upper - lower)
        make = lambda m: {"dist": "Uniform", "kwargs": {"lower": m - half, "upper": m + half}}  # noqa: E731
    else:  # a fixed base (DiracDelta) has no range
        return None
    lo, hi = min(max(lo, 0.01), 0.99), min(max(hi, 0.01), 0.99)
    return make(lo), make(hi), lo, hi


def candidates(session: Session, variables: Iterable[str]) -> list[Setting]:
    """Settings for every claim into, and every base rate of, ``variables``."""
    r = session.baseline
    keep = set(variables)
    numbers = Numbers.of(r)
    labels = {v.id: v.label for v in r.model.variables}
    out = []
    for c in r.model.claims:
        kappa = r.claims[c.id].credence
        if c.effect not in keep or kappa in (0.0, 1.0):
            continue
        label = f"{c.id}: {labels[c.cause]} {'→' if c.direction == 'raises' else '⊣'} {labels[c.effect]}"
        out.append(Setting("claim", c.id, label,
                           {f"claims.{c.id}.credence": CREDENCE_LOW}, {f"claims.{c.id}.credence": CREDENCE_HIGH},
                           f"credence {_pct(CREDENCE_LOW)}", f"credence {_pct(CREDENCE_HIGH)}"))
    for v in r.order:
        if v not in keep:
            continue
        ends = _base_ends(numbers.base[v])
        if ends is None:
            continue
        low, high, lo, hi = ends
        what = "base rate" if r.variables[v].kind == "event" else "typical level"
        out.append(Setting("base", v, f"{labels[v]} ({what})",
                           {f"variables.{v}.base": low}, {f"variables.{v}.base": high},
                           f"{what} {_pct(lo)}", f"{what} {_pct(hi)}"))
    return out


def evaluate(session: Session, base: Result, settings: list[Setting],
             progress: Callable[[str], None] | None = None) -> dict[str, dict]:
    """Every question's probability at each setting's low and high end.

    ``out["compiles"]`` lists the engine's compile count after each evaluation (it should not grow).
    """
    qids = [q.id for q in base.resolved.model.questions]
    out: dict[str, dict] = {"compiles": []}
    # each end resolved and reweighted once; those the draws cannot carry sample in the background meanwhile
    resolved = [(s, {end: (r, session.prefetch_variant(base, r))
                     for end, r in (("low", session.resolve(sets=s.low)), ("high", session.resolve(sets=s.high)))})
                for s in settings]
    for i, (s, rs) in enumerate(resolved):
        if progress:
            progress(f"sensitivity {i + 1}/{len(settings)}")
        ends = {}
        for end, (r, rw) in rs.items():
            res = session.variant(base, r, reweighting=rw)
            ends[end] = {q: res.mean(f"q:{q}") for q in qids}
            k = res.diagnostics.get("pareto_k")
            if k is not None:
                ends[f"{end}_pareto_k"] = float(k)
            out["compiles"].append(res.diagnostics.get("compiles"))
        out[f"{s.kind}:{s.ident}"] = ends
    return out


def tornado(
    session: Session,
    base: Result,
    questions: list[str],
    *,
    top: int = 8,
    max_settings: int = 200,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Tornado data for ``questions`` (ids): per question, the ``top`` inputs that move it most.

    Returns ``{"questions": {qid: {"baseline": p, "bars": [...]}}, "settings": n,
    "low_credence": ..., "high_credence": ..., "base_quantiles": [...]}``; each bar
    has ``kind``, ``id``, ``label``, ``low``, ``high`` (the question's probability at
    each end), ``low_text``, ``high_text`` and ``swing``.
    """
    r = base.resolved
    qmodel = {q.id: q for q in r.model.questions}
    anc = {q: ancestral_set(r, [qmodel[q].variable]) for q in questions}
    union = set().union(*anc.values()) if anc else set()
    settings = candidates(session, union)
    if len(settings) > max_settings:  # keep the inputs nearest the questions' variables
        depth = {v: i for i, v in enumerate(r.order)}
        settings.sort(key=lambda s: -depth[s.ident if s.kind == "base" else r.claims[s.ident].effect])
        settings = settings[:max_settings]
    values = evaluate(session, base, settings, progress)
    out = {}
    for q in questions:
        p0 = base.mean(f"q:{q}")
        bars = []
        for s in settings:
            target = s.ident if s.kind == "base" else r.claims[s.ident].effect
            if target not in anc[q]:
                continue
            v = values[f"{s.kind}:{s.ident}"]
            lo, hi = v["low"][q], v["high"][q]
            bars.append({"kind": s.kind, "id": s.ident, "label": s.label, "low": lo, "high": hi,
                         "low_text": s.low_text, "high_text": s.high_text, "swing": abs(hi - lo)})
        bars.sort(key=lambda b: (-b["swing"], b["kind"], b["id"]))
        out[q] = {"baseline": p0, "bars": bars[:top], "candidates": len(bars)}
    return {
        "questions": out,
        "settings": len(settings),
        "compiles": values["compiles"],
        "low_credence": CREDENCE_LOW,
        "high_credence": CREDENCE_HIGH,
        "base_quantiles": list(BASE_QUANTILES),
    }
