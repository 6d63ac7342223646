"""Indicators and what each hypothetical observation does per posterior draw: the estimators behind
:mod:`forecast.analyses.signposts` (its module docstring gives the definitions).

For an indicator x and a question q, per draw d: a_d = P(x | theta_d, evidence), b_d = P(q, x | theta_d,
evidence) and f_d = P(q | theta_d, evidence), for every indicator and question from one compiled call:

* :func:`exact_pairs`: exactly, when both lie in the *exact set* (:func:`exact_set`), from the marginal model of
  that set evaluated at every draw (:func:`exact`, cached per posterior in ``Runs.cache``);
* :func:`world_pairs`: otherwise from the worlds ``forecast run`` simulates (:meth:`Runs.worlds`),
  Rao-Blackwellised except for whichever of the two lies upstream of the other.

A question dated otherwise than its event's window (:mod:`forecast.spec.horizons`) is rescaled in each branch,
P(q | x, draw) = b_d / a_d and P(q | not x, draw), as a run observing the indicator rescales it (:func:`horizon`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pymc as pm
from scipy.special import ndtr

from forecast.analyses.recovery import Enumerated, build_recovery
from forecast.analyses.session import Result, Session
from forecast.compile import Numbers, ancestral_set, descendants
from forecast.compile.kinds import Index
from forecast.compile.marginal import U, Z, build_marginal
from forecast.spec import horizons

log = logging.getLogger(__name__)

READING_SD = 0.05  # an index indicator is read with this measurement sd (a survey's +-5 points)
INDEX_LEVEL = 0.5  # ... and split at a question's threshold on it, else at this level


@dataclass(frozen=True)
class Indicator:
    """Something a reader could watch: an unobserved event, or an index read with sd ``sd`` against ``level``."""

    variable: str
    kind: str
    level: float | None = None
    sd: float | None = None

    def yes(self, label: str) -> str:
        return label if self.kind == "event" else f"{label} reads above {self.level:g}"


def indicators(r) -> list[Indicator]:
    """Every variable not observed directly (a soft report leaves its event watchable)."""
    seen = {o.variable for o in r.evidence if o.kind in ("event", "index")}
    levels = {}
    for q in r.model.questions:
        if q.threshold is not None:
            levels.setdefault(q.variable, float(q.threshold))
    out = []
    for v in r.order:
        if v in seen:
            continue
        if r.variables[v].kind == "event":
            out.append(Indicator(v, "event"))
        else:
            out.append(Indicator(v, "index", levels.get(v, INDEX_LEVEL), READING_SD))
    return out


def _reading(level: np.ndarray, ind: Indicator) -> np.ndarray:
    """P(a reading of sd ``ind.sd`` comes out above ``ind.level`` | the level)."""
    return ndtr((np.asarray(level, dtype=float) - ind.level) / ind.sd)


# --------------------------------------------------------------------------- horizons


def exponents(r) -> dict[str, float]:
    """Question id -> r of every question of ``r`` dated otherwise than its event's window, its variable unseen
    (:func:`forecast.spec.horizons.exponent`, the rule every run applies)."""
    return horizons.exponents(r.model, r.evidence)


def horizon(pairs: dict, rescale: dict[str, float]) -> dict:
    """``pairs`` ((indicator, question) -> (a, b, f) per draw) with each question of ``rescale`` at its own date:
    in each branch the draw's P(q | x) = b / a and P(q | not x) = (f - b) / (1 - a) rescaled
    (:func:`forecast.spec.horizons.scale`), as a run given the indicator's outcome rescales them; f becomes the sum
    of the two, so that the branches still average back to it (the expected forecast once the indicator is seen:
    the rescaling is not linear, so it differs from the forecast of a run that has not seen it)."""
    out = dict(pairs)
    for (v, qid), (a, b, f) in pairs.items():
        x = rescale.get(qid)
        if x is None:
            continue
        a, f = np.clip(a, 0.0, 1.0), np.clip(f, 0.0, 1.0)
        b = np.clip(np.minimum(b, np.minimum(a, f)), 0.0, None)
        yes = np.divide(b, a, out=np.zeros_like(a), where=a > 0)
        no = np.divide(f - b, 1.0 - a, out=np.zeros_like(a), where=a < 1)
        b1, b0 = a * horizons.scale(yes, x), (1.0 - a) * horizons.scale(no, x)
        out[v, qid] = (a, b1, b1 + b0)
    return out


# --------------------------------------------------------------------------- the exact set


def exact_set(r) -> set[str]:
    """The evidence's ancestral set and every event whose ancestors outside it are all events: what the
    marginal model can hold with nothing continuous that the posterior has not drawn."""
    inside = ancestral_set(r, {o.variable for o in r.evidence})
    out = set(inside)
    for v in r.order:
        if v not in inside and r.variables[v].kind == "event":
            if all(u in inside or r.variables[u].kind == "event" for u in ancestral_set(r, {v})):
                out.add(v)
    return out


@dataclass
class Exact:
    """The exact set's binaries at every draw: the recovery, the joint posterior, and the draws' levels."""

    latent: list[str]
    joint: object  # Enumerated | Factored
    lp: np.ndarray
    recover: Callable
    numbers: Numbers
    levels: dict[str, np.ndarray]
    observed: dict[str, float]
    bound: float
    rescale: dict[str, float]  # question id -> its horizon's exponent (:func:`exponents`)


def exact(session: Session, base: Result) -> Exact | None:
    """The marginal model of the exact set at ``base``'s draws (cached per posterior), or None where it
    cannot be built (too wide to sum out) or the draws are weighted for something else."""
    r, post = base.resolved, base.posterior
    if post is not None and (not post.current or post.recovery is None):
        return None
    key = ("signposts.exact", id(post), id(r))
    cache = session.runs.cache
    if key in cache:
        return cache[key]
    nodes = exact_set(r)
    numbers = Numbers.of(r)
    observed = {o.variable: float(o.value) for o in r.evidence if o.kind == "event"}
    inside = ancestral_set(r, {o.variable for o in r.evidence})
    got = None
    if post is not None and nodes == inside:  # the posterior's own recovery holds it all
        rec = post.recovery
        got = Exact(list(post.latent), post.joint, post.lp, rec.recover, numbers, dict(post.states), observed,
                    post.joint.bound, exponents(r))
    elif any(r.variables[v].kind == "event" for v in nodes - set(observed)):
        try:
            mg = build_marginal(r, numbers, nodes)
        except ValueError as err:  # too wide to sum out: the worlds answer instead
            log.info("signposts: the exact set cannot be summed out (%s)", err)
            mg = None
        if mg is not None:
            model = pm.observe(mg.model, mg.evidence) if mg.evidence else mg.model
            names = [rv.name for rv in model.free_RVs]
            _, theta = session.runs.theta(r, numbers, post)
            have = post.recovery.draws if post is not None else {}
            flat = {}
            for n in names:
                if n in (U, Z):
                    if n not in have or mg.level_ids != post.recovery.marginal.level_ids:
                        flat = None
                        break
                    flat[n] = have[n]
                else:
                    flat[n] = mg.layout.join(n, theta)
            if flat is not None:
                rec = build_recovery(mg, flat, base.draws)
                lp, joint, _, levels = rec.recover(numbers)
                got = Exact(list(mg.latent), joint, lp, rec.recover, numbers,
                            dict(zip(mg.level_ids, levels, strict=True)), observed, joint.bound, exponents(r))
    cache[key] = got
    return got


def exact_pairs(ex: Exact, inds: list[Indicator], qs: list, T: int) -> dict:
    """(indicator, question) -> (a, b, f) per draw: P(yes), P(question, yes), P(question), exactly."""
    def q_prob(q, given=None) -> np.ndarray | None:
        """P(q | draw) (``given``: the joint with the indicator clamped on), or None outside the exact set."""
        v = q.variable
        joint = ex.joint if given is None else given
        if v in ex.observed:
            return np.full(T, ex.observed[v])
        if v in ex.latent:
            return np.asarray(joint.prob(v), dtype=float)
        if v in ex.levels and q.threshold is not None:
            return (np.asarray(ex.levels[v]) > q.threshold).astype(float)
        return None

    out = {}
    now = {q.id: q_prob(q) for q in qs}
    for ind in inds:
        if ind.kind == "index" and ind.variable in ex.levels:
            a = _reading(ex.levels[ind.variable], ind)  # the reading is independent of the rest given the draw
            for q in qs:
                if now[q.id] is not None and q.variable != ind.variable:
                    out[ind.variable, q.id] = (a, a * now[q.id], now[q.id])
            continue
        if ind.variable not in ex.latent:
            continue
        i = ex.latent.index(ind.variable)
        if isinstance(ex.joint, Enumerated):
            c = ex.joint.configs[:, i]
            probs = ex.joint.probs
            a = probs @ c
            for q in qs:
                if now[q.id] is None or q.variable == ind.variable:
                    continue
                v = q.variable
                if v in ex.latent:
                    b = probs @ (c * ex.joint.configs[:, ex.latent.index(v)])
                else:
                    b = a * now[q.id]
                out[ind.variable, q.id] = (a, b, now[q.id])
        else:  # eliminated: the partition function with the indicator clamped on
            unary = np.zeros((len(ex.latent), 2))
            unary[i, 0] = -np.inf
            lp1, joint1, _, _ = ex.recover(ex.numbers, unary=unary)
            a = np.exp(np.minimum(np.asarray(lp1) - ex.lp, 0.0))
            for q in qs:
                if now[q.id] is None or q.variable == ind.variable:
                    continue
                out[ind.variable, q.id] = (a, a * q_prob(q, joint1), now[q.id])
    return horizon(out, ex.rescale)


# --------------------------------------------------------------------------- the worlds


def world_pairs(session: Session, base: Result, inds: list[Indicator], qs: list, skip: set) -> dict:
    """(indicator, question) -> (a, b, f) per draw from the engine's worlds, for the pairs not in ``skip``."""
    r = base.resolved
    numbers = Numbers.of(r)
    eng, theta, W = session.runs.worlds(r, numbers, base.posterior)

    def q_factors(q) -> tuple[np.ndarray, np.ndarray]:
        """(state, Rao-Blackwellised) of the question per world."""
        v = q.variable
        if r.variables[v].kind == "event":
            s = W[v]
            return s, W.get(f"p__{v}", s)
        s = (W[v] > q.threshold).astype(float)
        eta = W.get(f"eta__{v}")
        return s, s if eta is None else Index.exceed(eta, eng.noise_sd(theta, v)[:, None], q.threshold)

    def x_factors(ind) -> tuple[np.ndarray, np.ndarray]:
        """(state, Rao-Blackwellised) of the indicator's "yes" per world."""
        v = ind.variable
        if ind.kind == "index":
            p = _reading(W[v], ind)
            return p, p
        return W[v], W.get(f"p__{v}", W[v])

    out = {}
    qf = {q.id: q_factors(q) for q in qs}
    below_q = {q.id: descendants(r, {q.variable}) for q in qs}
    for ind in inds:
        xs, xp = x_factors(ind)
        below = descendants(r, {ind.variable})
        for q in qs:
            if (ind.variable, q.id) in skip or q.variable == ind.variable:
                continue
            qs_, qp = qf[q.id]
            if q.variable in below:  # the indicator is upstream of the question: its state, the question's P
                x, y = xs, qp
            elif ind.variable in below_q[q.id]:  # downstream: the question's state
                x, y = xp, qs_
            else:
                x, y = xp, qp
            out[ind.variable, q.id] = (x.mean(axis=1), (x * y).mean(axis=1), qp.mean(axis=1))
    return horizon(out, exponents(r))


__all__ = ["INDEX_LEVEL", "READING_SD", "Exact", "Indicator", "exact", "exact_pairs", "exact_set", "exponents",
           "horizon", "indicators", "world_pairs"]
