"""The one owner of every number a reader sees: statistics, rounding, ICD 203 words, pairing, ``as_of``.

The CLI tables (:mod:`forecast.render`), the JSON documents and the PDF brief
(:mod:`forecast.analyses.brief`, :mod:`forecast.report`) all read from here, so
the same result cannot read differently in two places:

* :func:`stat`: mean, central interval, ESS-based Monte Carlo standard error and
  (events) the ICD 203 word of the *rounded* percentage the reader sees;
* :func:`pct`, :func:`level`, :func:`pts`, :func:`level_change`: the printed forms;
* :func:`change`: a what-if's change, equal to the difference of the two printed
  means; its interval comes from paired draws only when both sides rest on the
  same draws with the same weights (:func:`paired`), and otherwise is ``None``
  (a reweighted or freshly sampled side has no draw-by-draw pairs), with the
  Monte Carlo error given instead;
* :func:`as_of`: the date a forecast speaks for.

Nothing here draws or samples.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # PyMC loads with the session; the printed forms below need only NumPy
    from forecast.analyses.session import Result


# Sampler health: the limits every surface (CLI, JSON warnings, brief) applies.
RHAT_MAX, ESS_MIN, PARETO_K_MAX = 1.01, 400, 0.7
# A hypothetical observation's branch (signposts) reweights the draws by P(observation | draw): with fewer effective
# draws than this share of them it is sampled afresh instead
BRANCH_ESS_SHARE = 0.1
# Sampler trouble bad enough to lower confidence in every judgment (below it, health is reported once, in the
# brief's method annex): chains that clearly disagree, draws worth too few independent ones, or divergences
# in more than 1% of the draws
RHAT_BAD, ESS_BAD, DIVERGENT_BAD = 1.05, 100, 0.01


def sampler_bad(diag: dict) -> bool:
    """Whether the sampler's health is bad enough to change a judgment's confidence (see ``RHAT_BAD``)."""
    if not str(diag.get("method", "")).startswith("MCMC"):
        return False
    ess = min(diag.get("ess_bulk_min", 1e9), diag.get("ess_tail_min", 1e9))
    draws = (diag.get("draws") or 0) * (diag.get("chains") or 1)
    return (diag.get("r_hat_max", 1.0) > RHAT_BAD or ess < ESS_BAD
            or (draws > 0 and (diag.get("divergences") or 0) > DIVERGENT_BAD * draws))


def approximation_note(diag: dict) -> str | None:
    """The sentence every surface prints when some gates were summed on a grid (``diag["approximation"]``:
    {"variables": {id: claims}, "grid": points, "bound": the most a probability can be off}), else None."""
    a = diag.get("approximation")
    if not a:
        return None
    what = "; ".join(f"the {n} uncertain claims into {v}" for v, n in a["variables"].items())
    b = a["bound"]
    within = (f"every probability is within ±{b:.2g} of exact summation's" if np.isfinite(b) and b < 0.5
              else "the grid's error could not be bounded usefully: treat the figures as indicative")
    return (f"approximate: {what} summed on a {a['grid']}-point grid instead of over every combination of "
            f"their gates; {within} (the largest over the posterior draws)")


# --- printed forms: one rounding rule ------------------------------------------------------------

def percent(x: float) -> int:
    """A probability as the whole percentage printed everywhere."""
    return int(round(100 * float(x)))


def pct(x: float) -> str:
    return f"{percent(x)}%"


def level(x: float) -> str:
    """An index level as printed everywhere (two decimals)."""
    return f"{float(x):.2f}"


def pts(d: float) -> str:
    """A change of probability in percentage points (``d`` already the difference of printed values)."""
    v = percent(d)
    return f"{'+' if v > 0 else '−' if v < 0 else '±'}{abs(v)} pts"


def shift(d: float) -> str:
    """An expected size of change (signposts): percentage points to one decimal, as such shifts are small."""
    return f"{100 * float(d):.1f} pts"


def share(x: float) -> str:
    """A share removed or kept (signposts' uncertainty removed): a percentage to one decimal."""
    return f"{100 * float(x):.1f}%"


def level_change(d: float) -> str:
    v = round(float(d), 2)
    return "±0.00" if v == 0 else f"{v:+.2f}".replace("-", "−")


def shown(x: float, event: bool) -> float:
    """The value the reader sees, as a number: whole percent for a probability, two decimals for a level."""
    return percent(x) / 100 if event else round(float(x), 2)


# --- statistics -----------------------------------------------------------------------------------

def interval(x: np.ndarray, lvl: float, weights: np.ndarray | None = None) -> tuple[float, float]:
    """Central ``lvl`` interval of draws ``x`` (importance-weighted when ``weights`` is given)."""
    a = (1 - lvl) / 2
    x = np.asarray(x, dtype=float)
    if weights is None:
        lo, hi = np.quantile(x, [a, 1 - a])
    else:
        order = np.argsort(x)
        cdf = np.cumsum(weights[order]) - 0.5 * weights[order]
        lo, hi = np.interp([a, 1 - a], cdf, x[order])
    return float(lo), float(hi)


def _chains(x: np.ndarray, chains: int) -> np.ndarray:
    """Draws (T,) as (chains, T / chains) when they came from MCMC chains, chain by chain; else (1, T)."""
    T = len(x)
    if chains > 1 and T % chains == 0:
        return x.reshape(chains, T // chains)
    return x[None, :]


def mcse(x: np.ndarray, weights: np.ndarray | None = None, chains: int = 1) -> float:
    """Monte Carlo standard error of the (weighted) mean of draws ``x``.

    MCMC draws are autocorrelated: ArviZ's ESS-based MCSE of the mean, on the draws
    laid out chain by chain (``chains``). With importance weights, the
    self-normalised estimator's error sqrt(sum w^2 (x - m)^2), inflated by the
    chains' own ratio T / ESS.
    """
    import arviz as az

    x = np.asarray(x, dtype=float)
    T = len(x)
    if T < 4 or np.ptp(x) == 0:
        return 0.0
    grid = _chains(x, chains)
    ess = float(az.ess(grid, method="mean")) if grid.shape[1] >= 4 else float(T)
    ess = min(max(ess, 1.0), float(T))
    if weights is None:
        return float(x.std(ddof=1) / np.sqrt(ess))
    m = weights @ x
    return float(np.sqrt(np.sum(weights**2 * (x - m) ** 2)) * np.sqrt(T / ess))


def word(result: Result, p: float) -> str:
    """The ICD 203 word of probability ``p``, read at the rounded percentage printed beside it."""
    return result.resolved.priors.word_for(shown(p, True))


def worded_questions(r, ids=None) -> list:
    """The questions with a probability and so an ICD 203 word (events, and indices with a threshold), in the
    model's order; ``ids``: only these, an unknown or unworded one refused (SpecError, exit 2)."""
    from forecast.spec.errors import Problem, SpecError, did_you_mean

    qs = [q for q in r.model.questions if q.threshold is not None or r.variables[q.variable].kind == "event"]
    if ids is None:
        return qs
    known = [q.id for q in qs]
    bad = [q for q in dict.fromkeys(ids) if q not in known]
    if bad:
        raise SpecError([Problem(str(r.model.path), f"questions.{q}", "no such question with a probability"
                                 + did_you_mean(q, known)) for q in bad])
    return [q for q in qs if q.id in set(ids)]


def stat(result: Result, key: str, event: bool = True) -> dict:
    """Mean, central interval, MCSE and (events) the ICD 203 word of one outcome of ``result``."""
    x = np.asarray(result.outcomes[key], dtype=float)
    w = result.weights
    lo, hi = interval(x, result.resolved.interval, w)
    d = {"mean": result.mean(key), "lo": lo, "hi": hi,
         "mcse": mcse(x, w, int(result.diagnostics.get("chains") or 1))}
    if event:
        d["word"] = word(result, d["mean"])
    return d


def paired(base: Result, alt: Result) -> bool:
    """Whether two results rest on the same draws with the same weights, so a change is defined draw by draw."""
    if base.draws != alt.draws:
        return False
    if base.weights is None or alt.weights is None:
        same_w = base.weights is None and alt.weights is None
    else:
        same_w = np.array_equal(base.weights, alt.weights)
    same_draws = base.posterior is alt.posterior or (base.posterior is None and alt.posterior is None)
    return same_w and same_draws


def change(base: Result, alt: Result, key: str, event: bool, b: dict | None = None, a: dict | None = None) -> dict:
    """The what-if's change of ``key``: ``shown`` is the difference of the two printed means (so the printed
    change never contradicts them); ``lo``/``hi`` the central interval of the draw-by-draw change when
    :func:`paired` (widened to hold the mean change when the draws' distribution is lopsided), else ``None``;
    ``mcse`` its Monte Carlo error."""
    b = b or stat(base, key, event)
    a = a or stat(alt, key, event)
    d = {"mean": a["mean"] - b["mean"], "shown": shown(a["mean"], event) - shown(b["mean"], event),
         "lo": None, "hi": None, "paired": paired(base, alt)}
    if d["paired"]:
        diff = np.asarray(alt.outcomes[key], float) - np.asarray(base.outcomes[key], float)
        lo, hi = interval(diff, base.resolved.interval, alt.weights)
        d["lo"], d["hi"] = min(lo, d["mean"]), max(hi, d["mean"])
        d["mcse"] = mcse(diff, alt.weights, int(alt.diagnostics.get("chains") or 1))
    else:
        d["mcse"] = float(np.hypot(a["mcse"], b["mcse"]))
    return d


def as_of(model) -> tuple[dt.date | None, str]:
    """The date the forecast speaks for, and why: ``--as-of``'s date, else the latest evidence, else the model's own
    date."""
    if model.cutoff is not None:
        kept = len(model.evidence)
        text = f"the {kept} observation{'s' * (kept != 1)} dated by then"
        if model.cutoff_from == "model":
            return model.cutoff, f"date of the model: {text}; {model.later} recorded since left out"
        return model.cutoff, f"--as-of: {text}"
    dates = [e.date for e in model.evidence]
    if dates:
        return max(dates), "latest evidence"
    if model.info.as_of:
        return model.info.as_of, "date of the model"
    return None, "undated"


# --- the JSON documents ---------------------------------------------------------------------------

def summarize(result: Result) -> dict:
    """The ``forecast run --json`` document."""
    r = result.resolved
    model = r.model
    variables = {}
    observed = {o.variable for o in r.evidence if o.kind == "event"}
    from forecast.compile import descendants  # a Result exists: PyMC is loaded already

    cut = descendants(r, result.do) if result.do else set()
    for v in model.variables:
        d = stat(result, v.id, v.kind == "event")
        d.update(label=v.label, kind=v.kind)
        if v.id in result.do:
            d["status"] = "intervened"
        elif v.kind == "event" and v.id in observed:  # downstream of an intervention: its number is simulated
            d["status"] = "observed, simulated again" if v.id in cut else "observed"
        variables[v.id] = d
    questions = {}
    for q in model.questions:
        d = stat(result, f"q:{q.id}", True)
        d.update(text=q.text, variable=q.variable, resolves_by=q.resolves_by.isoformat(), importance=q.importance)
        if q.threshold is not None:
            d["threshold"] = q.threshold
        if q.outcome is not None:  # what happened (recorded in the model file; not evidence)
            d.update(outcome=q.outcome, resolved_on=q.resolved_on.isoformat() if q.resolved_on else None,
                     resolution_note=q.resolution_note, resolution_source=q.resolution_source)
        questions[q.id] = d
    claims = {}
    for c in model.claims:
        d = {"credence_prior": r.claims[c.id].credence}
        if result.credence_post is not None:
            d["credence_post"] = result.credence_post[c.id]
        claims[c.id] = d
    date, basis = as_of(model)
    return {
        "model": model.info.id,
        "as_of": date.isoformat() if date else None,
        "as_of_basis": basis,
        "interval": r.interval,
        "variables": variables,
        "questions": questions,
        "claims": claims,
        "diagnostics": result.diagnostics,
        "manifest": result.manifest,
    }


def compare(base: Result, alt: Result, label: str = "what-if", sides: tuple[str, str] | None = None) -> dict:
    """Baseline beside a what-if, largest change first (:func:`change`).

    ``sides`` names the two prior sets compared; ``identical`` says when the two
    sides are the same computation (every outcome equal, draw by draw, with the same weights).
    """
    lvl = base.resolved.interval
    rows = []
    model = base.resolved.model
    keys = [(v.id, v.label, v.kind, v.id) for v in model.variables]
    keys += [(f"q:{q.id}", q.text, "question", q.id) for q in model.questions]
    for key, label_, kind, ident in keys:
        event = kind != "index"
        b, a = stat(base, key, event), stat(alt, key, event)
        rows.append({"id": ident, "kind": kind, "label": label_, "baseline": b, "whatif": a,
                     "diff": change(base, alt, key, event, b, a)})
    rows.sort(key=lambda row: (-abs(row["diff"]["mean"]), row["id"]))
    identical = paired(base, alt) and all(
        np.array_equal(np.asarray(base.outcomes[k]), np.asarray(alt.outcomes[k])) for k, *_ in keys)
    return {
        "label": label,
        "interval": lvl,
        "sides": list(sides) if sides else None,
        "paired": paired(base, alt),
        "identical": bool(identical),
        "rows": rows,
        "diagnostics": {"baseline": base.diagnostics, "whatif": alt.diagnostics},
        "manifest": alt.manifest,
    }
