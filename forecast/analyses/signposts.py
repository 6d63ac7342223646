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
from dataclasses import replace

import numpy as np

from forecast.analyses.indicators import (
    READING_SD,
    Indicator,
    exact,
    exact_pairs,
    exact_set,
    exponents,
    indicators,
    world_pairs,
)
from forecast.analyses.posterior import PARETO_K_MAX, psis
from forecast.analyses.session import Result, Session
from forecast.analyses.summary import BRANCH_ESS_SHARE, mcse, stat, word, worded_questions
from forecast.spec.errors import SpecError
from forecast.spec.resolve import RObservation

log = logging.getLogger(__name__)

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
    qs = worded_questions(r, questions or None)
    inds = indicators(r)
    T = base.draws
    say("the exact set's joint at every draw")
    ex = exact(session, base)
    pairs = exact_pairs(ex, inds, qs, T) if ex is not None else {}
    method = dict.fromkeys(pairs, "exact")
    rest = [i for i in inds if any((i.variable, q.id) not in pairs and q.variable != i.variable for q in qs)]
    if rest:
        say("the worlds of every draw")
        got = world_pairs(session, base, rest, qs, set(pairs))
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
    rescaled = exponents(r)
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
        # a question read at another date than its event's window (docs/semantics.md, "Horizons"): the branches
        # average to the expected forecast once the indicator is seen, which the nonlinear rescaling moves off
        # the run's forecast; the row shows the run's
        now = found[0]["now"] if found and q.id not in rescaled else float(base.mean(f"q:{q.id}"))
        by_q[q.id] = {"text": q.text, "variable": q.variable, "importance": q.importance, "now": now,
                      "word": word(base, now), "indicators": found}
    overall = _overall(by_q, labels)
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


def _overall(by_q: dict, labels: dict) -> list[dict]:
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


__all__ = ["branches", "signposts"]
