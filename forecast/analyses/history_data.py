"""``forecast history``'s dataset: the runs' answers on a ``date`` dimension, written and read back.

:mod:`forecast.analyses.history` plans and runs the evidence sets; this module turns their plain answers into one
xarray dataset (:func:`to_dataset`; every variable is described in docs/history.md), writes it whole or not at all
(:func:`write`), reads it back (:func:`load`), and derives what is shown from it: a question's fan chart data
(:func:`fan`, drawn by :func:`forecast.report.figures.fan`) and the ``--json`` document (:func:`document`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

    from forecast.analyses.history import Plan

FAN_INNER = 0.5  # the fan chart's inner band; the outer one is the prior set's interval (80% by default)


def to_dataset(plan: Plan, results: list[dict], *, draws: int, seed: int, sampler: str, tune: int) -> xr.Dataset:
    """The runs' answers on the plan's ``date`` dimension (see docs/history.md for every variable)."""
    import xarray as xr

    from forecast.analyses.manifest import versions

    m = plan.model
    qs = list(m.questions)
    g = plan.group_of
    first = results[0]
    T = len(first["questions"][qs[0].id]["draws"]) if qs else draws
    per = {name: np.array([[results[g[d]]["questions"][q.id][name] for d in range(len(plan.dates))] for q in qs],
                          dtype=float).reshape(len(qs), len(plan.dates))
           for name in ("mean", "lo", "hi", "mcse")}
    prob = np.stack([np.stack([results[g[d]]["questions"][q.id]["draws"] for d in range(len(plan.dates))])
                     for q in qs]) if qs else np.zeros((0, len(plan.dates), T))
    words = np.array([[results[g[d]]["questions"][q.id].get("word", "") for d in range(len(plan.dates))]
                      for q in qs], dtype=object).reshape(len(qs), len(plan.dates))
    brier_q = np.array([[results[g[d]]["brier"].get(q.id, np.nan) for d in range(len(plan.dates))] for q in qs],
                       dtype=float).reshape(len(qs), len(plan.dates))
    resolved = [i for i, q in enumerate(qs) if q.outcome is not None]
    brier = brier_q[resolved].mean(axis=0) if resolved else np.full(len(plan.dates), np.nan)
    health = [results[g[d]]["health"] for d in range(len(plan.dates))]
    dates = np.array(plan.dates, dtype="datetime64[ns]")
    ev = list(m.evidence)
    date_dims, qd = ("date",), ("question", "date")
    ds = xr.Dataset(
        {
            "probability": (("question", "date", "draw"), prob,
                            {"long_name": "per-draw probability of the question (an index question without a "
                                          "threshold: its level)"}),
            "mean": (qd, per["mean"], {"long_name": "mean over the draws"}),
            "lo": (qd, per["lo"], {"long_name": "lower end of the central interval (attrs['interval'])"}),
            "hi": (qd, per["hi"], {"long_name": "upper end of the central interval (attrs['interval'])"}),
            "mcse": (qd, per["mcse"], {"long_name": "Monte Carlo standard error of the mean"}),
            "word": (qd, words.astype(str), {"long_name": "ICD 203 word of the printed percentage ('' for a level)"}),
            "brier_question": (qd, brier_q, {"long_name": "Brier score of the mean forecast (resolved questions)"}),
            "brier": (date_dims, brier, {"long_name": "mean Brier score over the resolved questions"}),
            "evidence_used": (date_dims, np.array([len(plan.groups[i]) for i in g], dtype=np.int64),
                              {"long_name": "evidence entries dated on or before the date"}),
            "run": (date_dims, np.array(g, dtype=np.int64),
                    {"long_name": "the run (distinct evidence set) the date's numbers come from"}),
            "r_hat_max": (date_dims, np.array([h["r_hat_max"] for h in health])),
            "ess_bulk_min": (date_dims, np.array([h["ess_bulk_min"] for h in health])),
            "ess_tail_min": (date_dims, np.array([h["ess_tail_min"] for h in health])),
            "divergences": (date_dims, np.array([h["divergences"] for h in health], dtype=np.int64)),
            "method": (date_dims, np.array([h["method"] for h in health], dtype=object).astype(str)),
            "warnings": (date_dims, np.array(["; ".join(h["warnings"]) for h in health], dtype=object).astype(str)),
        },
        coords={
            "date": dates,
            "draw": np.arange(T),
            "question": [q.id for q in qs],
            "question_text": ("question", [q.text for q in qs]),
            "resolves_by": ("question", np.array([q.resolves_by for q in qs], dtype="datetime64[ns]")),
            "outcome": ("question", np.array([_nan(first["questions"][q.id]["outcome"]) for q in qs], dtype=float),
                        {"long_name": "1 if it happened, 0 if not (score.outcome_of); NaN: not resolved"}),
            "importance": ("question", np.array([q.importance for q in qs], dtype=np.int64)),
            "kind": ("question", ["probability" if first["questions"][q.id]["worded"] else "level" for q in qs]),
            "threshold": ("question", np.array([np.nan if q.threshold is None else q.threshold for q in qs],
                                               dtype=float)),
            "evidence": [e.id for e in ev],
            "evidence_date": ("evidence", np.array([e.date for e in ev], dtype="datetime64[ns]")),
            "evidence_variable": ("evidence", [e.variable for e in ev]),
        },
        attrs={
            "title": f"{m.info.title}: forecasts as of each date",
            "model": m.info.id,
            "model_path": str(plan.model_path),
            "model_sha256": hashlib.sha256(plan.model_path.read_bytes()).hexdigest(),
            "priors": first["priors"] or "",
            "sets": json.dumps(plan.sets, sort_keys=True),
            "from": plan.start.isoformat(),
            "to": plan.end.isoformat(),
            "every": str(plan.step),
            "runs": len(plan.groups),
            "draws": draws,
            "seed": seed,
            "sampler": sampler,
            "tune": tune,
            "chains": first["chains"],
            "interval": first["interval"],
            "resolved": len(resolved),
            "words": json.dumps(first["words"], sort_keys=True),
            "versions": json.dumps(versions(), sort_keys=True),
        },
    )
    return ds


def write(ds: xr.Dataset, path: str | Path) -> Path:
    """``ds`` as NetCDF (h5netcdf) at ``path``, whole or not at all (:func:`forecast.spec.outputs.write_atomic`:
    a temporary file beside it, renamed into place)."""
    from forecast.spec.outputs import write_atomic

    return write_atomic(path, bytes(ds.to_netcdf(engine="h5netcdf")))


def load(path: str | Path) -> xr.Dataset:
    """A written history, in memory (the file is closed)."""
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


# --- what is shown -----------------------------------------------------------------------------------------

def fan(ds: xr.Dataset, qid: str) -> dict:
    """A question's fan chart data (:func:`forecast.report.figures.fan`): per date the median and the central
    50% and ``interval`` bands of its per-draw probability (:func:`forecast.analyses.summary.interval`), the
    evidence dates, and the outcome at ``resolves_by`` where it is recorded."""
    from forecast.analyses.summary import interval

    x = ds["probability"].sel(question=qid).values  # (date, draw)
    outer = float(ds.attrs["interval"])
    q = ds.sel(question=qid)
    out = float(q["outcome"])
    return {
        "id": qid,
        "text": str(q["question_text"].values),
        "model": ds.attrs["model"],
        "level": str(q["kind"].values) == "level",  # an index question without a threshold
        "dates": [_date(d) for d in ds["date"].values],
        "median": [float(np.median(row)) for row in x],
        "inner": [interval(row, FAN_INNER) for row in x],
        "outer": [interval(row, outer) for row in x],
        "inner_level": FAN_INNER,
        "outer_level": outer,
        "evidence": [(_date(d), str(e)) for d, e in zip(ds["evidence_date"].values, ds["evidence"].values)],
        "outcome": None if np.isnan(out) else out,
        "resolves_by": _date(q["resolves_by"].values),
        "words": json.loads(ds.attrs["words"]),
        "runs": int(ds.attrs["runs"]),
    }


def _nan(x: float | None) -> float:
    return np.nan if x is None else float(x)


def _date(x: Any) -> dt.date:
    return dt.date.fromisoformat(str(np.datetime_as_string(np.datetime64(x, "D"))))


def fans(ds: xr.Dataset) -> list[dict]:
    """Every question's :func:`fan` data, in the dataset's order (drawn and written by
    :func:`forecast.report.figures.fan_charts`)."""
    return [fan(ds, str(qid)) for qid in ds["question"].values]


def document(ds: xr.Dataset, info: dict, output: Path | None = None, charts: Sequence[Path] = ()) -> dict:
    """The ``--json`` document and the tables' data: per date the evidence used, the run, sampler health and the
    Brier score; per question its forecast at every date."""
    dates = [_date(d).isoformat() for d in ds["date"].values]
    questions = {}
    for i, qid in enumerate(ds["question"].values):
        q = ds.isel(question=i)
        out = float(q["outcome"])
        questions[str(qid)] = {
            "text": str(q["question_text"].values),
            "resolves_by": _date(q["resolves_by"].values).isoformat(),
            "outcome": None if np.isnan(out) else out,
            "importance": int(q["importance"]),
            "kind": str(q["kind"].values),
            "dates": [{"date": d, "mean": float(q["mean"][j]), "lo": float(q["lo"][j]), "hi": float(q["hi"][j]),
                       "word": str(q["word"].values[j]), "brier": float(q["brier_question"][j])}
                      for j, d in enumerate(dates)],
        }
    per_date = [{"date": d, "evidence": int(ds["evidence_used"][j]), "run": int(ds["run"][j]),
                 "brier": float(ds["brier"][j]), "r_hat_max": float(ds["r_hat_max"][j]),
                 "ess_bulk_min": float(ds["ess_bulk_min"][j]), "divergences": int(ds["divergences"][j]),
                 "warnings": [w for w in str(ds["warnings"].values[j]).split("; ") if w]}
                for j, d in enumerate(dates)]
    return {"model": ds.attrs["model"], "priors": ds.attrs["priors"], "from": ds.attrs["from"],
            "to": ds.attrs["to"], "every": ds.attrs["every"], "dates": len(dates), "runs": int(ds.attrs["runs"]),
            "where": info.get("where", ""), "reused": info.get("reused", 0), "seconds": info.get("seconds"),
            "interval": float(ds.attrs["interval"]), "resolved": int(ds.attrs["resolved"]),
            "draws": int(ds.attrs["draws"]), "seed": int(ds.attrs["seed"]),
            "output": str(output) if output else None, "charts": [str(c) for c in charts],
            "per_date": per_date, "questions": questions}


__all__ = ["FAN_INNER", "document", "fan", "fans", "load", "to_dataset", "write"]
