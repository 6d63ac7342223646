r"""Stance weights: how strongly the evidence favours each prior set (issue 15).

Each prior set is a stance: how much to believe each document. The evidence's marginal likelihood under a
set, :math:`p_i(e) = \int p_i(\theta)\, p(e \mid \theta)\, d\theta`, says how well that stance predicted what
was seen. Relative to the baseline set 0, the Bayes factor is estimated from the baseline's posterior draws
by the mean of the raw importance weights the reweighting already computes
(:meth:`forecast.analyses.session.Session.reweighting`):

.. math::

    \mathrm{BF}_{i0} = \frac{p_i(e)}{p_0(e)}
      = \mathrm{E}_{\theta \sim p_0(\theta \mid e)}\!\left[\frac{p_i(\theta, e)}{p_0(\theta, e)}\right]
      \approx \frac{1}{T} \sum_d \exp(\log p_i(\theta_d, e) - \log p_0(\theta_d, e)),

both joint densities being proper (normalised priors; the evidence's exact likelihood with gates and latent
events summed out). Parameters outside the evidence's ancestral set cancel: they do not touch the evidence.
The estimate is as good as its weights: their Pareto k (PSIS, above 0.7 the estimate is unreliable) and the
Monte Carlo error of the mean (ESS-based, chain by chain) are reported with it. Posterior weights assume equal
prior odds on the stances, and the model-averaged forecast of each question is the weighted mean of the
stances' forecasts (each from :meth:`Session.variant`, as the brief's stances are).

Written here (not bridge sampling from a library) because the weights are already at hand and exact per draw;
the tests check the estimate against exact marginal likelihoods (pgmpy with fixed parameters, a closed form with
a Beta base rate).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from forecast.analyses.session import Result, Session
from forecast.analyses.summary import PARETO_K_MAX, mcse
from forecast.compile import Numbers
from forecast.spec.resolve import Resolved


def log_bayes_factor(session: Session, base: Result, r: Resolved, rw: tuple | None = None) -> dict:
    """log BF of ``r``'s priors against ``base``'s, from ``base``'s posterior draws: ``{"log_bf", "mcse" (of
    log BF, delta method), "pareto_k"}``, or ``{"log_bf": None, "why": ...}`` where the draws cannot give it.
    ``rw``: :meth:`Session.reweighting`'s answer for ``r``, when the caller has it."""
    if base.posterior is None:
        return {"log_bf": 0.0, "mcse": 0.0, "pareto_k": None, "why": "no evidence: every stance predicts it alike"}
    if Numbers.of(r) == Numbers.of(base.resolved):
        return {"log_bf": 0.0, "mcse": 0.0, "pareto_k": 0.0}
    rw = rw or session.reweighting(base, r)
    if rw is None:
        return {"log_bf": None, "mcse": None, "pareto_k": None,
                "why": "another prior family or other evidence: the baseline's draws cannot be reweighted to it"}
    _, logw, k = rw
    logw = np.asarray(logw, dtype=float)
    T = len(logw)
    log_bf = float(logsumexp(logw) - np.log(T))
    w = np.exp(logw - logw.max())
    chains = int(base.diagnostics.get("chains") or 1)
    rel = mcse(w, None, chains) / float(w.mean()) if np.ptp(w) > 0 else 0.0  # se(mean w) / mean w = se(log BF)
    return {"log_bf": log_bf, "mcse": float(rel), "pareto_k": float(k)}


def weights_of(log_bfs) -> np.ndarray:
    """Posterior weights of stances from their log Bayes factors against one reference (equal prior odds): the one
    rule the run's stances, the brief's competing views and the stance-averaged forecaster read."""
    lb = np.asarray(log_bfs, dtype=float)
    return np.exp(lb - logsumexp(lb)) if lb.size else np.array([])


def stance_weights(session: Session, base: Result, stances: Sequence[tuple[str, Resolved]]) -> dict:
    """Every stance's Bayes factor against ``base`` (the first stance should be ``base``'s own), posterior weight
    (equal prior odds), and the model-averaged forecast of every question; plain data."""
    rows = []
    for name, r in stances:
        same = Numbers.of(r) == Numbers.of(base.resolved)
        rw = None if same else session.reweighting(base, r)  # once: for the Bayes factor and the forecasts
        d = {"priors": name, **log_bayes_factor(session, base, r, rw)}
        d["bayes_factor"] = float(np.exp(d["log_bf"])) if d["log_bf"] is not None else None
        d["trusted"] = d["log_bf"] is not None and (d["pareto_k"] is None or d["pareto_k"] <= PARETO_K_MAX)
        res = base if same else session.variant(base, r, reweighting=rw)
        d["forecasts"] = {q.id: res.mean(f"q:{q.id}") for q in base.resolved.model.questions}
        rows.append(d)
    known = [d for d in rows if d["log_bf"] is not None]
    for d, w in zip(known, weights_of([d["log_bf"] for d in known]), strict=True):
        d["weight"] = float(w)
    averaged = {q.id: float(sum(d["weight"] * d["forecasts"][q.id] for d in known))
                for q in base.resolved.model.questions} if known else {}
    return {"stances": rows, "averaged": averaged, "pareto_k_max": PARETO_K_MAX,
            "all_trusted": all(d["trusted"] for d in rows)}


def stances_of(session: Session, paths: Sequence[str | Path | None]) -> list[tuple[str, Resolved]]:
    """(name, resolved spec) of each prior set file (None: the package defaults)."""
    return [(session.prior_set_name(p), session.resolve(p)) for p in paths]


__all__ = ["log_bayes_factor", "stance_weights", "stances_of", "weights_of"]
