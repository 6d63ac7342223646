"""Scoring the forecasts of resolved questions: the start of the track record (issue 15).

A question whose model entry records its ``outcome`` is scored with the Brier score, (p - y)^2, and the log
score, -log P(what happened), as `scoringrules <https://github.com/frazane/scoringrules>`_ computes them (a
maintained library of proper scores; nothing hand-written), for the forecast of every prior set, beside two
yardsticks: a flat 50% forecaster, and the same model and prior set without its evidence (what the evidence
added). Totals are means over the resolved questions, with a bootstrap interval over questions (the
questions are the sample: with a handful of them the interval is wide, as it should be). The calibration
table groups the forecasts by ICD 203 band: how often what was forecast in a band happened. The five worst
misses come with the claims and base rates that move them most (the brief's tornado machinery).

Outcomes are not evidence here: the forecast scored is the one the model gives with its evidence as written
(forecasts as of an earlier date, ``--as-of``, are a later step of issue 15).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from forecast.analyses.session import Session
from forecast.analyses.stances import log_bayes_factor, weights_of
from forecast.analyses.summary import PARETO_K_MAX
from forecast.spec.errors import Problem, SpecError

BOOTSTRAP = 2000  # resamples of the questions for a total's interval
MISSES = 5  # the worst-scored questions shown with the inputs that drove them
LOG_FLOOR = 1e-3  # the log score of a forecast printed as 0% or 100% is taken at 0.1% / 99.9% (never infinite)


def outcome_of(q) -> float | None:
    """1.0 / 0.0 for a resolved question (an index question's level read against its threshold), else None."""
    if q.outcome is None:
        return None
    if isinstance(q.outcome, bool):
        return float(q.outcome)
    return float(q.outcome > q.threshold)


def per_question(p: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Brier and log scores of forecasts ``p`` of outcomes ``y`` (lower is better), one per question."""
    import scoringrules as sr

    p = np.asarray(p, dtype=float)
    return {"brier": np.asarray(sr.brier_score(y, p), dtype=float),
            "log": np.asarray(sr.log_score(y, np.clip(p, LOG_FLOOR, 1.0 - LOG_FLOOR)), dtype=float)}


def total(values: np.ndarray, level: float, seed: int) -> dict:
    """The mean of per-question ``values`` and its central ``level`` bootstrap interval over the questions."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(BOOTSTRAP, len(values)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return {"mean": float(values.mean()), "lo": float(lo), "hi": float(hi)}


def calibration(p: np.ndarray, y: np.ndarray, priors) -> list[dict]:
    """Per ICD 203 band (the prior set's ``probability_words``): how many forecasts fell in it, their mean, and
    how often the event happened."""
    from forecast.analyses.summary import shown  # the word is read at the printed percentage, as everywhere

    rows = []
    for word, (lo, hi) in sorted(priors.probability_words.items(), key=lambda kv: kv[1][0]):
        inside = [i for i, x in enumerate(p) if priors.word_for(shown(x, True)) == word]
        if inside:
            rows.append({"word": word, "band": [lo, hi], "n": len(inside), "forecast": float(np.mean(p[inside])),
                         "happened": float(np.mean(y[inside]))})
    return rows


def worst_misses(s: Session, base, rows: list[dict], n: int = MISSES, top: int = 3,
                 bars: dict[str, list[dict]] | None = None) -> list[dict]:
    """The ``n`` resolved questions the first prior set scored worst (highest Brier), each with the ``top``
    inputs that move its forecast most (:func:`forecast.analyses.sensitivity.tornado`: each claim's credence
    and each base rate from low to high): the claims and base rates that drove the miss. ``bars``: the tornado's
    bars per question where the caller has them already (the brief), so none is computed again."""
    from forecast.analyses.sensitivity import tornado

    worst = sorted(rows, key=lambda d: (-d["brier"], d["id"]))[:n]
    if not worst:
        return []
    if bars is None:
        tor = tornado(s, base, [d["id"] for d in worst], top=top)["questions"]
        bars = {q: tor[q]["bars"] for q in tor}
    return [{**d, "drivers": bars[d["id"]][:top]} for d in worst]


def score(model: str | Path, priors: Sequence[str | Path | None], sources: str | Path | None = None, *,
          draws: int, seed: int, session_options: dict | None = None,
          progress: Callable[[str], None] | None = None) -> dict:
    """Every resolved question scored under each prior set in ``priors`` (the first is the session's; the
    others reweight its posterior, :meth:`Session.variant`), beside the flat 50% forecaster and the model
    without its evidence; plain data for the CLI and the JSON."""
    say = progress or (lambda msg: None)
    s = Session(model, priors[0], None, sources, draws=draws, seed=seed, **(session_options or {}))
    if not any(q.outcome is not None for q in s.model.questions):
        raise SpecError([Problem(str(s.model_path), "questions", "no question records an outcome: nothing to "
                                 "score (add outcome and resolved_on to the questions that have resolved)")])
    say("the baseline")
    return scores(s, s.run(), priors, progress=say)


def scores(s: Session, base, priors: Sequence[str | Path | None], *, progress: Callable[[str], None] | None = None,
           misses: bool = True) -> dict:
    """:func:`score` on a session's baseline run ``base`` (the session's own prior set, ``priors[0]``), so that a
    caller holding one (the brief) scores without sampling again."""
    say = progress or (lambda msg: None)
    resolved = [q for q in s.model.questions if q.outcome is not None]
    y = np.array([outcome_of(q) for q in resolved])
    level, seed = s.baseline.interval, s.seed
    flat = per_question(np.full(len(y), 0.5), y)
    out_sets, forecasts = [], []
    for i, path in enumerate(priors):
        name = s.prior_set_name(path)
        say(f"prior set {name}")
        r = s.baseline if i == 0 else s.resolve(path)
        rw = None if i == 0 else s.reweighting(base, r)  # once: the forecasts and the stance's Bayes factor
        res = base if i == 0 else s.variant(base, r, reweighting=rw)
        bare = s.run(replace(r, evidence=()))  # the same priors without the evidence
        p = np.array([res.mean(f"q:{q.id}") for q in resolved])
        p0 = np.array([bare.mean(f"q:{q.id}") for q in resolved])
        forecasts.append((p, p0, log_bayes_factor(s, base, r, rw)))
        out_sets.append(scored(name, resolved, p, p0, y, flat, level, seed, r.priors, res.diagnostics.get("pareto_k")))
    if len(priors) > 1:
        say("the stance-averaged forecaster")
        out_sets.append(averaged(resolved, forecasts, [d["priors"] for d in out_sets], y, flat, level, seed,
                                 s.baseline.priors))
    if misses:
        say("the worst misses' drivers")
    worst = worst_misses(s, base, out_sets[0]["questions"]) if misses else []
    return {"model": s.model.info.id, "resolved": len(resolved), "questions": len(s.model.questions),
            "interval": level, "bootstrap": BOOTSTRAP, "log_floor": LOG_FLOOR,
            "flat": {"brier": float(flat["brier"].mean()), "log": float(flat["log"].mean())},
            "prior_sets": out_sets, "misses": worst, "diagnostics": base.diagnostics}


def averaged(resolved, forecasts: list[tuple], names: list[str], y, flat, level: float, seed: int, words) -> dict:
    """The forecaster that averages the stances by their posterior weights (equal prior odds; the Bayes factors of
    :mod:`forecast.analyses.stances`); without evidence no stance is favoured, so its yardstick averages the
    stances' evidence-free forecasts equally. Stances whose Bayes factor the draws cannot give are left out."""
    known = [(p, p0, lb, n) for (p, p0, lb), n in zip(forecasts, names, strict=True) if lb["log_bf"] is not None]
    w = weights_of([lb["log_bf"] for _, _, lb, _ in known])
    p = sum(wi * pi for wi, (pi, _, _, _) in zip(w, known, strict=True))
    p0 = np.mean([p0 for _, p0, _, _ in known], axis=0)
    ks = [lb["pareto_k"] for _, _, lb, _ in known if lb["pareto_k"] is not None]
    d = scored("stance-averaged", resolved, p, p0, y, flat, level, seed, words, max(ks) if ks else None)
    d["weights"] = [{"priors": n, "weight": float(wi), "bayes_factor": float(np.exp(lb["log_bf"])),
                     "mcse_log_bf": lb["mcse"], "pareto_k": lb["pareto_k"]}
                    for wi, (_, _, lb, n) in zip(w, known, strict=True)]
    d["trusted"] = all(k <= PARETO_K_MAX for k in ks)
    return d


def scored(name: str, resolved, p, p0, y, flat, level: float, seed: int, words, pareto_k) -> dict:
    """One forecaster's scores: per question, totals with bootstrap intervals, against the flat forecaster and
    its own evidence-free forecasts (paired by question), and the calibration table."""
    sc, sc0 = per_question(p, y), per_question(p0, y)
    return {
        "priors": name,
        "questions": [{"id": q.id, "text": q.text, "forecast": float(p[j]), "without_evidence": float(p0[j]),
                       "outcome": float(y[j]), "resolved_on": q.resolved_on.isoformat() if q.resolved_on else None,
                       "brier": float(sc["brier"][j]), "log": float(sc["log"][j])}
                      for j, q in enumerate(resolved)],
        "brier": total(sc["brier"], level, seed), "log": total(sc["log"], level, seed),
        # the differences per question, so that their intervals pair the same questions
        "brier_vs_flat": total(sc["brier"] - flat["brier"], level, seed),
        "brier_vs_no_evidence": total(sc["brier"] - sc0["brier"], level, seed),
        "log_vs_flat": total(sc["log"] - flat["log"], level, seed),
        "log_vs_no_evidence": total(sc["log"] - sc0["log"], level, seed),
        "calibration": calibration(p, y, words),
        "pareto_k": pareto_k,
    }


__all__ = ["averaged", "calibration", "outcome_of", "per_question", "score", "scored", "scores", "total",
           "worst_misses"]
