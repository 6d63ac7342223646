r"""Signposts: what to watch, and how much each thing watched would move each judgment.

For every variable not yet observed (an *indicator*) and every question, a preposterior analysis: if the
indicator were seen tomorrow, what would the forecast become, and how much is watching it worth before we
know what it will show. With :math:`f = P(q \mid \text{evidence})` the forecast now and :math:`x` the
indicator's two outcomes (an event: happens or not; an index: a reading above or below a stated level, taken
with a stated measurement sd),

.. math::

    p(x) = P(x \mid \text{evidence}), \qquad f(x) = P(q \mid \text{evidence}, x), \qquad
    \sum_x p(x) f(x) = f,

    \text{expected change} = \sum_x p(x)\,|f(x) - f|, \qquad
    \text{expected Brier reduction} = \sum_x p(x)\,(f(x) - f)^2 .

The second is the value of the observation for a forecaster scored by the Brier score: the expected
score now is :math:`f(1-f)`, after seeing :math:`x` it is :math:`\sum_x p(x) f(x)(1 - f(x))`, and the
difference is the variance of the revised forecast. Both are zero for an indicator that cannot move the
question and at most :math:`f(1-f)`.

Under uncertainty about the claims, every probability above is an average over the posterior draws
:math:`\theta_d` (weights :math:`w_d`), and observing :math:`x` also re-weighs the draws: with
:math:`a_d = P(x \mid \theta_d, \text{evidence})` and :math:`b_d = P(q, x \mid \theta_d, \text{evidence})`,
:math:`p(x) = \sum_d w_d a_d` and :math:`f(x) = \sum_d w_d b_d / p(x)`, i.e. likelihood weighting of the
draws by :math:`a_d`, whose effective number of draws and Pareto k say whether the draws can carry the
branch (:func:`branches`). Where they cannot (effective draws fewer than a share ``BRANCH_ESS_SHARE`` of them,
or k above
``PARETO_K_MAX``) an event's branch gets a fresh posterior with the observation added (:meth:`Session.run`),
as every what-if does.

Per draw, :math:`a_d` and :math:`b_d` come from the engine's own machinery, one compiled call for all
indicators and questions (never a compile per indicator):

* **exact**: both inside the *exact set*, the evidence's ancestral set and the events below it whose every
  ancestor is an event or in that set. The marginal model of that set
  (:func:`forecast.compile.marginal.build_marginal`, gates summed out, latent events enumerated or
  eliminated) is evaluated at every draw (:mod:`forecast.analyses.recovery`): the latent events' joint
  posterior per draw gives :math:`a_d` and :math:`b_d` exactly (enumerated: sums over configurations;
  eliminated: the partition function with the indicator clamped);
* **worlds**: otherwise, the worlds the engine simulates for ``forecast run`` (the same draws and seeds,
  :meth:`Runs.worlds`), Rao-Blackwellised: :math:`b_d` is the mean over a draw's worlds of
  :math:`P(x \mid \text{its parents}) \cdot P(q \mid \text{its parents})`, except that the state itself
  replaces the conditional probability of whichever of the two lies upstream of the other (conditioning on
  its parents would ignore what the other's state says about it).

Written here because no library does preposterior analysis under parameter uncertainty on a mixed
event/index model; pgmpy (exact, fixed parameters) is what the tests check it against.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pymc as pm
from scipy.special import ndtr

from forecast.analyses.posterior import PARETO_K_MAX, psis
from forecast.analyses.recovery import Enumerated, build_recovery
from forecast.analyses.session import Result, Session
from forecast.analyses.summary import BRANCH_ESS_SHARE, mcse, stat, word
from forecast.compile import Numbers, ancestral_set, descendants
from forecast.compile.kinds import Index
from forecast.compile.marginal import U, Z, build_marginal
from forecast.spec.errors import SpecError
from forecast.spec.resolve import RObservation

log = logging.getLogger(__name__)

READING_SD = 0.05  # an index indicator is read with this measurement sd (a survey's +-5 points)
INDEX_LEVEL = 0.5  # ... and split at a question's threshold on it, else at this level
TOP = 10  # rows printed per question and overall


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


def judged(r) -> list:
    """The questions with a probability (events, and indices with a threshold)."""
    return [q for q in r.model.questions if q.threshold is not None or r.variables[q.variable].kind == "event"]


def _reading(level: np.ndarray, ind: Indicator) -> np.ndarray:
    """P(a reading of sd ``ind.sd`` comes out above ``ind.level`` | the level)."""
    return ndtr((np.asarray(level, dtype=float) - ind.level) / ind.sd)


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


def _exact(session: Session, base: Result) -> Exact | None:
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
    inside = ancestral_set(r, set(observed) | {o.variable for o in r.evidence})
    got = None
    if post is not None and nodes == inside:  # the posterior's own recovery holds it all
        rec = post.recovery
        got = Exact(list(post.latent), post.joint, post.lp, rec.recover, numbers, dict(post.states), observed,
                    post.joint.bound)
    elif any(r.variables[v].kind == "event" for v in nodes - set(observed)):
        try:
            mg = build_marginal(r, numbers, nodes)
        except ValueError as err:  # too wide to sum out: the worlds answer instead
            log.info("signposts: the exact set cannot be summed out (%s)", err)
            mg = None
        if mg is not None:
            model = pm.observe(mg.model, mg.evidence) if mg.evidence else mg.model
            names = [rv.name for rv in model.free_RVs]
            eng, theta, _ = session.runs.inputs(r, numbers, post, {})[:3]
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
                            dict(zip(mg.level_ids, levels, strict=True)), observed, joint.bound)
    cache[key] = got
    return got


def _exact_pairs(ex: Exact, inds: list[Indicator], qs: list, T: int) -> dict:
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
    return out


# --------------------------------------------------------------------------- the worlds


def _world_pairs(session: Session, base: Result, inds: list[Indicator], qs: list, skip: set) -> dict:
    """(indicator, question) -> (a, b, f) per draw from the engine's worlds, for the pairs not in ``skip``."""
    r = base.resolved
    numbers = Numbers.of(r)
    eng, theta, W = session.runs.worlds(r, numbers, base.posterior)
    T = base.draws

    def tau(v):
        t = theta.get(f"noise__{v}")
        return np.full(T, numbers.noise[v]["kwargs"]["c"]) if t is None else t

    def q_factors(q) -> tuple[np.ndarray, np.ndarray]:
        """(state, Rao-Blackwellised) of the question per world."""
        v = q.variable
        if r.variables[v].kind == "event":
            s = W[v]
            return s, W.get(f"p__{v}", s)
        s = (W[v] > q.threshold).astype(float)
        eta = W.get(f"eta__{v}")
        return s, s if eta is None else Index.exceed(eta, tau(v)[:, None], q.threshold)

    def x_factors(ind) -> tuple[np.ndarray, np.ndarray]:
        """(state, Rao-Blackwellised) of the indicator's "yes" per world."""
        v = ind.variable
        if ind.kind == "index":
            p = _reading(W[v], ind)
            return p, p
        return W[v], W.get(f"p__{v}", W[v])

    out = {}
    qf = {q.id: q_factors(q) for q in qs}
    for ind in inds:
        xs, xp = x_factors(ind)
        below = descendants(r, {ind.variable})
        for q in qs:
            if (ind.variable, q.id) in skip or q.variable == ind.variable:
                continue
            qs_, qp = qf[q.id]
            if q.variable in below:  # the indicator is upstream of the question: its state, the question's P
                x, y = xs, qp
            elif ind.variable in descendants(r, {q.variable}):  # downstream: the question's state
                x, y = xp, qs_
            else:
                x, y = xp, qp
            out[ind.variable, q.id] = (x.mean(axis=1), (x * y).mean(axis=1), qp.mean(axis=1))
    return out


# --------------------------------------------------------------------------- branches


def branches(a: np.ndarray, b: np.ndarray, f: np.ndarray, w: np.ndarray | None = None, chains: int = 1) -> dict:
    """The preposterior numbers of one indicator and question from per-draw ``a`` = P(yes), ``b`` = P(q, yes),
    ``f`` = P(q) (draw weights ``w``; None: equal); the module docstring defines them.

    Each branch reweights the draws by ``a`` (or ``1 - a``): its effective number of draws ``ess`` and Pareto k
    say whether the draws can carry it, and ``mcse`` is the Monte Carlo error of its forecast (the ratio
    estimator's, by the delta method: the ESS-based error of the mean of ``(b - forecast * a) / p`` over the
    draws, chain by chain: :func:`forecast.analyses.summary.mcse`). The weights are bounded (a probability), so
    their variance is finite whatever k says; where many draws share the bound (a = 1 exactly) PSIS cannot fit a
    tail and k is None: the ESS then judges alone."""
    T = len(a)
    given = w
    w = np.full(T, 1.0 / T) if w is None else np.asarray(w, dtype=float)
    a, b, f = (np.clip(np.asarray(x, dtype=float), 0.0, 1.0) for x in (a, b, f))
    b = np.minimum(b, np.minimum(a, f))
    now = float(w @ f)
    out = {"now": now, "p_yes": float(w @ a)}
    for side, aa, bb in (("yes", a, b), ("no", 1.0 - a, f - b)):
        p = float(w @ aa)
        wa = w * aa
        d = {"p": p, "forecast": None, "mcse": None, "ess": float(wa.sum() ** 2 / np.sum(wa**2)) if p > 0 else 0.0,
             "pareto_k": None}
        if p > 0:
            fx = float(w @ bb) / p
            d["forecast"] = fx
            d["mcse"] = mcse((bb - fx * aa) / p, given, chains)
            if np.ptp(aa) > 0:
                k = psis(np.log(np.maximum(wa, 1e-300)))[1]
                d["pareto_k"] = k if np.isfinite(k) else None
        d["trusted"] = p > 0 and d["ess"] >= BRANCH_ESS_SHARE * T and (d["pareto_k"] is None
                                                                 or d["pareto_k"] <= PARETO_K_MAX)
        out[side] = d
    _score(out)
    return out


def _score(d: dict) -> None:
    """``d``'s expected change and expected Brier reduction from its two branches."""
    sides = [(d[s]["p"], d[s]["forecast"]) for s in ("yes", "no") if d[s]["forecast"] is not None]
    d["expected_change"] = sum(p * abs(fx - d["now"]) for p, fx in sides)
    d["brier_reduction"] = sum(p * (fx - d["now"]) ** 2 for p, fx in sides)
    # the share of the question's uncertainty (its Brier score now, f (1 - f)) that seeing the indicator removes
    spread = d["now"] * (1.0 - d["now"])
    d["uncertainty_removed"] = d["brier_reduction"] / spread if spread > 0 else 0.0


def signposts(session: Session, base: Result, questions: list[str] | None = None, *, fresh: bool = True,
              progress: Callable[[str], None] | None = None) -> dict:
    """Every indicator's branches for every question (``questions``: ids; default all), ranked; plain data.

    ``base``: a result of ``session`` without interventions (its draws and weights are averaged over).
    ``fresh``: a branch whose draws cannot carry it (:func:`branches`' ``trusted``) gets a fresh posterior with
    the observation added (events only; an index reading's branch is flagged instead, in ``untrusted``).
    """
    r = base.resolved
    if base.do:
        raise ValueError("signposts: the baseline cannot carry interventions")
    say = progress or (lambda msg: None)
    qs = judged(r)
    if questions:
        known = {q.id for q in qs}
        bad = [q for q in questions if q not in known]
        if bad:
            from forecast.spec.errors import Problem, did_you_mean

            raise SpecError([Problem(str(r.model.path), f"questions.{q}", "no such question with a probability"
                                     + did_you_mean(q, sorted(known))) for q in bad])
        qs = [q for q in qs if q.id in questions]
    inds = indicators(r)
    T = base.draws
    say("the exact set's joint at every draw")
    ex = _exact(session, base)
    pairs = _exact_pairs(ex, inds, qs, T) if ex is not None else {}
    method = dict.fromkeys(pairs, "exact")
    rest = [i for i in inds if any((i.variable, q.id) not in pairs and q.variable != i.variable for q in qs)]
    if rest:
        say("the worlds of every draw")
        got = _world_pairs(session, base, rest, qs, set(pairs))
        pairs.update(got)
        method.update(dict.fromkeys(got, "worlds"))
    rows = {}
    for (v, qid), (a, b, f) in pairs.items():
        d = branches(a, b, f, base.weights, int(base.diagnostics.get("chains") or 1))
        d["method"] = method[v, qid]
        rows[v, qid] = d
    refreshed = _fresh(session, base, inds, qs, rows, say) if fresh else {}
    untrusted = sorted({v for (v, _), d in rows.items() if not (d["yes"]["trusted"] and d["no"]["trusted"])})
    labels = {v.id: v.label for v in r.model.variables}
    by_q = {}
    for q in qs:
        found = []
        for ind in inds:
            d = rows.get((ind.variable, q.id))
            if d is None:
                continue
            d = {"variable": ind.variable, "label": labels[ind.variable], "kind": ind.kind,
                 "watch": ind.yes(labels[ind.variable]), "level": ind.level, "sd": ind.sd, **d}
            for side in ("yes", "no"):
                fx = d[side]["forecast"]
                d[side]["word"] = word(base, fx) if fx is not None else None
            found.append(d)
        found.sort(key=lambda d: (-d["brier_reduction"], -d["expected_change"], d["variable"]))
        now = found[0]["now"] if found else float(base.mean(f"q:{q.id}"))
        by_q[q.id] = {"text": q.text, "variable": q.variable, "importance": q.importance, "now": now,
                      "word": word(base, now), "indicators": found}
    overall = _overall(r, by_q, labels)
    diag = base.diagnostics
    return {
        "model": r.model.info.id,
        "questions": by_q,
        "overall": overall,
        "reading_sd": READING_SD,
        "exact_set": sorted(exact_set(r)) if ex is not None else [],
        "bound": ex.bound if ex is not None else 0.0,
        "pareto_k_max": PARETO_K_MAX,
        "branch_ess_share": BRANCH_ESS_SHARE,
        "sampled_afresh": refreshed,
        "untrusted": untrusted,
        "diagnostics": diag,
    }


def _overall(r, by_q: dict, labels: dict) -> list[dict]:
    """Indicators ranked over every question: the importance-weighted mean of their expected Brier reduction."""
    weight = {qid: d["importance"] for qid, d in by_q.items()}
    total = sum(weight.values()) or 1
    score: dict[str, dict] = {}
    for qid, d in by_q.items():
        for row in d["indicators"]:
            s = score.setdefault(row["variable"], {"variable": row["variable"], "label": labels[row["variable"]],
                                                   "watch": row["watch"], "p_yes": row["p_yes"],
                                                   "brier_reduction": 0.0, "expected_change": 0.0, "top": None})
            s["brier_reduction"] += weight[qid] * row["brier_reduction"] / total
            s["expected_change"] += weight[qid] * row["expected_change"] / total
            if s["top"] is None or row["brier_reduction"] > s["top"]["brier_reduction"]:
                s["top"] = {"question": qid, "brier_reduction": row["brier_reduction"],
                            "expected_change": row["expected_change"], "p_yes": row["p_yes"], "now": row["now"],
                            "if_yes": row["yes"]["forecast"], "if_no": row["no"]["forecast"],
                            "uncertainty_removed": row["uncertainty_removed"]}
    return sorted(score.values(), key=lambda s: (-s["brier_reduction"], s["variable"]))


def _fresh(session: Session, base: Result, inds: list[Indicator], qs: list, rows: dict, say) -> dict:
    """Branches the draws cannot carry (``branches``' ``trusted``): a fresh posterior given the observation
    (events; an index reading's branch stays flagged), whose forecasts replace the reweighted ones; returns
    {variable: [values sampled afresh]}."""
    r = base.resolved
    done: dict[str, list] = {}
    for ind in inds:
        if ind.kind != "event":
            continue
        mine = [(ind.variable, q.id) for q in qs if (ind.variable, q.id) in rows]
        for side, value in (("yes", 1.0), ("no", 0.0)):
            if all(rows[p][side]["trusted"] for p in mine):
                continue
            say(f"a fresh posterior given {ind.variable} = {int(value)}")
            try:
                seen = RObservation(f"observe_{ind.variable}", ind.variable, "event", value)
                res = session.run(replace(r, evidence=(*r.evidence, seen)))
            except SpecError as err:  # the observation cannot happen under the model: keep the weighted answer
                log.info("signposts: no fresh posterior given %s = %g (%s)", ind.variable, value, err)
                continue
            done.setdefault(ind.variable, []).append(value)
            for p in mine:
                d = rows[p]
                st = stat(res, f"q:{p[1]}")
                d[side].update(forecast=st["mean"], mcse=st["mcse"], fresh=True, trusted=True)
                _score(d)
    return done


__all__ = ["Indicator", "READING_SD", "branches", "exact_set", "indicators", "signposts"]
