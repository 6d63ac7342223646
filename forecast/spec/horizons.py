"""Horizons: a question dated otherwise than its event's window, read under a constant hazard (plain data).

An event variable may state its window, ``start`` (default: the model's ``[model] as_of``) to ``by``: its
probability is that of happening within it. A question on it dated ``resolves_by`` asks about [start,
resolves_by] instead. With the hazard constant within the window, per parameter draw

    P(question | draw) = 1 - (1 - p) ** r,   p = P(event by ``by`` | draw),   r = (resolves_by - start) / (by - start)

in days (r > 1 extrapolates past ``by`` at the same hazard). Applied per draw, so an earlier question is never
more likely than a later one, draw by draw. This module is the one place the equation lives:
:mod:`forecast.analyses.runs` (every run's questions) and :mod:`forecast.analyses.indicators` (signposts' branches)
apply it; docs/semantics.md ("Horizons") says when and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np

from forecast.spec.schema import Question, ScenarioModel


def window(model: ScenarioModel, vid: str) -> tuple[dt.date, dt.date] | None:
    """(start, by) of event ``vid``'s window, or None: no ``by`` (the event has no time), or no start to
    measure from (``check`` refuses that model)."""
    v = model.variable(vid)
    start = v.start or model.info.as_of
    if v.kind != "event" or v.by is None or start is None:
        return None
    return start, v.by


def known(evidence: Iterable, do: Iterable[str] = ()) -> frozenset[str]:
    """The variables whose state a run is given: observed outright (``evidence``: resolved observations; a soft
    report leaves the state uncertain) or intervened on (``do``). Their questions are not rescaled: a state
    known to hold (or not) by the window's end holds at any date the question names."""
    return frozenset({o.variable for o in evidence if o.kind != "soft"} | set(do))


def exponent(model: ScenarioModel, question: Question, known: Iterable[str] = ()) -> float | None:
    """``question``'s r (module docstring), or None where its probability is its variable's own: an index
    question (a level at a date), a variable without a window, a question dated at the window's end, or a
    variable in ``known`` (:func:`known`)."""
    if question.threshold is not None or question.variable in set(known):
        return None
    w = window(model, question.variable)
    if w is None or question.resolves_by == w[1]:
        return None
    start, by = w
    return (question.resolves_by - start).days / (by - start).days


def exponents(model: ScenarioModel, evidence: Iterable, do: Iterable[str] = ()) -> dict[str, float]:
    """Question id -> r of every question of ``model`` that a run with ``evidence`` and ``do`` rescales (the rule of
    :func:`exponent` with :func:`known`): read by every run and by signposts' branches alike."""
    given = known(evidence, do)
    return {q.id: x for q in model.questions if (x := exponent(model, q, given)) is not None}


def scale(p: np.ndarray | float, r: float) -> np.ndarray:
    """1 - (1 - p) ** r, elementwise: the probability within r windows at the hazard that gives ``p`` in one
    (r <= 0: an empty window, 0). Written with log1p / expm1 so that small probabilities keep their digits."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    if r <= 0:
        return np.zeros_like(p)
    with np.errstate(divide="ignore"):  # p = 1: log(0) = -inf, and the answer is 1
        return -np.expm1(r * np.log1p(-p))


__all__ = ["exponent", "exponents", "known", "scale", "window"]
