"""Results as plain data: means, central intervals and ICD 203 words.

These dictionaries are what the CLI prints (``--json`` shapes) and what the
report typesets; nothing here draws or samples.
"""

from __future__ import annotations

import numpy as np

from forecast.analyses.session import Result


def interval(x: np.ndarray, level: float, weights: np.ndarray | None = None) -> tuple[float, float]:
    """Central ``level`` interval of draws ``x`` (importance-weighted when ``weights`` is given)."""
    a = (1 - level) / 2
    x = np.asarray(x, dtype=float)
    if weights is None:
        lo, hi = np.quantile(x, [a, 1 - a])
    else:
        order = np.argsort(x)
        cdf = np.cumsum(weights[order]) - 0.5 * weights[order]
        lo, hi = np.interp([a, 1 - a], cdf, x[order])
    return float(lo), float(hi)


def mcse(x: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Monte Carlo standard error of a mean of (roughly independent, possibly weighted) draws."""
    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return 0.0
    if weights is None:
        return float(x.std(ddof=1) / np.sqrt(len(x)))
    m = weights @ x
    return float(np.sqrt(np.sum(weights**2 * (x - m) ** 2)))


def _stat(result: Result, x: np.ndarray, event: bool, weights: np.ndarray | None = ...) -> dict:
    w = result.weights if weights is ... else weights
    lo, hi = interval(x, result.resolved.interval, w)
    mean = float(np.mean(x) if w is None else w @ np.asarray(x, dtype=float))
    d = {"mean": mean, "lo": lo, "hi": hi, "mcse": mcse(x, w)}
    if event:
        d["word"] = result.resolved.priors.word_for(d["mean"])
    return d


def summarize(result: Result) -> dict:
    """The ``forecast run --json`` document."""
    r = result.resolved
    model = r.model
    variables = {}
    for v in model.variables:
        d = _stat(result, result.outcomes[v.id], v.kind == "event")
        d.update(label=v.label, kind=v.kind)
        if v.id in result.do:
            d["status"] = "intervened"
        elif v.kind == "event" and v.id in {o.variable for o in r.evidence if o.kind == "event"}:
            d["status"] = "observed"
        variables[v.id] = d
    questions = {}
    for q in model.questions:
        d = _stat(result, result.outcomes[f"q:{q.id}"], True)
        d.update(text=q.text, variable=q.variable, resolves_by=q.resolves_by.isoformat(), importance=q.importance)
        if q.threshold is not None:
            d["threshold"] = q.threshold
        questions[q.id] = d
    claims = {}
    for c in model.claims:
        d = {"credence_prior": r.claims[c.id].credence}
        if result.credence_post is not None:
            d["credence_post"] = result.credence_post[c.id]
        claims[c.id] = d
    return {
        "model": model.info.id,
        "as_of": model.as_of.isoformat() if model.as_of else None,
        "interval": r.interval,
        "variables": variables,
        "questions": questions,
        "claims": claims,
        "diagnostics": result.diagnostics,
        "manifest": result.manifest,
    }


def compare(base: Result, alt: Result, label: str = "what-if") -> dict:
    """Baseline beside a what-if; differences and their intervals from paired draws."""
    level = base.resolved.interval
    rows = []
    model = base.resolved.model
    keys = [(v.id, v.label, v.kind, v.id) for v in model.variables]
    keys += [(f"q:{q.id}", q.text, "question", q.id) for q in model.questions]
    for key, label_, kind, ident in keys:
        b, a = base.outcomes[key], alt.outcomes[key]
        diff = a - b
        w = alt.weights if alt.weights is not None else base.weights
        lo, hi = interval(diff, level, w)
        row = {
            "id": ident,
            "kind": kind,
            "label": label_,
            "baseline": _stat(base, b, kind != "index"),
            "whatif": _stat(alt, a, kind != "index"),
            "diff": {"mean": float(diff.mean() if w is None else w @ diff), "lo": lo, "hi": hi, "mcse": mcse(diff, w)},
        }
        rows.append(row)
    rows.sort(key=lambda row: -abs(row["diff"]["mean"]))
    return {
        "label": label,
        "interval": level,
        "rows": rows,
        "diagnostics": {"baseline": base.diagnostics, "whatif": alt.diagnostics},
        "manifest": alt.manifest,
    }
