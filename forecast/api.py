"""The command line as Python functions, for notebooks: the same arguments and defaults, plain-data results."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from forecast.analyses.session import Session
from forecast.analyses.store import load as load_result
from forecast.analyses.store import save
from forecast.analyses.summary import compare, summarize
from forecast.check import check
from forecast.spec.defaults import DEFAULTS


def run(model: str | Path, priors: str | Path | None = None, *, sets: dict | None = None,
        observe: dict | None = None, do: dict | None = None, sources: str | Path | None = None,
        draws: int = DEFAULTS["draws"], seed: int = DEFAULTS["seed"], sampler: str = DEFAULTS["sampler"],
        tune: int = DEFAULTS["tune"], out: str | Path | None = None) -> dict:
    """``forecast run``: the ``--json`` document (variables, questions, claims, diagnostics, manifest)."""
    s = Session(model, priors, sets, sources, draws=draws, seed=seed, sampler=sampler, tune=tune)
    result = s.run(s.resolve(observe=observe) if observe else s.baseline, do=do)
    result.manifest.update(observe=dict(observe or {}), do=dict(do or {}))
    summary = summarize(result)
    if out:
        save(result, out, summary)
    return summary


def whatif(model: str | Path, priors: str | Path | None = None, *, scenario: str | None = None,
           do: dict | None = None, sets: dict | None = None, alt_priors: str | Path | None = None,
           observe: dict | None = None, sources: str | Path | None = None, draws: int = DEFAULTS["draws"],
           seed: int = DEFAULTS["seed"], sampler: str = DEFAULTS["sampler"], tune: int = DEFAULTS["tune"]) -> dict:
    """``forecast whatif``: the baseline (prior set ``priors``, default the model's baseline) beside the what-if
    (``alt_priors``, ``sets``, ``scenario``, ``do``, ``observe``), largest change first."""
    s = Session(model, priors, None, sources, draws=draws, seed=seed, sampler=sampler, tune=tune)
    base, alt, label, sides = s.whatif(scenario, sets, alt_priors, observe, do)
    return compare(base, alt, label, sides=sides)

def signposts(model: str | Path, priors: str | Path | None = None, *, sets: dict | None = None,
              questions: list[str] | None = None, sources: str | Path | None = None,
              draws: int = DEFAULTS["draws"], seed: int = DEFAULTS["seed"], sampler: str = DEFAULTS["sampler"],
              tune: int = DEFAULTS["tune"], fresh: bool = True) -> dict:
    """``forecast signposts``: the ``--json`` document (:func:`forecast.analyses.signposts.signposts`)."""
    from forecast.analyses.signposts import signposts as _signposts

    s = Session(model, priors, sets, sources, draws=draws, seed=seed, sampler=sampler, tune=tune)
    return _signposts(s, s.run(), questions, fresh=fresh)


def flips(model: str | Path, priors: str | Path | None = None, *, sets: dict | None = None,
          questions: list[str] | None = None, sources: str | Path | None = None,
          draws: int = DEFAULTS["draws"], seed: int = DEFAULTS["seed"], sampler: str = DEFAULTS["sampler"],
          tune: int = DEFAULTS["tune"]) -> dict:
    """``forecast flips``: the ``--json`` document (:func:`forecast.analyses.flips.flips`)."""
    from forecast.analyses.flips import flips as _flips

    s = Session(model, priors, sets, sources, draws=draws, seed=seed, sampler=sampler, tune=tune)
    return _flips(s, s.run(), questions)


def history(model: str | Path, priors: str | Path | None = None, *, start: dt.date | str, end: dt.date | str,
            every: str = "1M", sets: dict | None = None, sources: str | Path | None = None,
            draws: int = DEFAULTS["draws"], seed: int = DEFAULTS["seed"], sampler: str = DEFAULTS["sampler"],
            tune: int = DEFAULTS["tune"], scheduler: str | None = None, workers: int | None = None,
            out: str | Path | None = None, charts: str | Path | None = None) -> dict:
    """``forecast history``: the ``--json`` document (per date and per question); the dataset is written to ``out``
    (NetCDF; read it back with :func:`forecast.analyses.history_data.load`) and the fan charts to ``charts`` when given.
    Runs on a local Dask cluster unless ``workers=1`` or ``scheduler`` (call it under ``if __name__ ==
    "__main__":`` in a script: the cluster's worker processes import the calling script)."""
    from forecast.analyses import history as h
    from forecast.analyses import history_data as hd
    from forecast.report.figures import fan_charts

    start, end = (dt.date.fromisoformat(d) if isinstance(d, str) else d for d in (start, end))
    plan = h.preflight(model, priors, sources, sets, start=start, end=end, every=every, scheduler=scheduler,
                       workers=workers, output=out, charts=charts)
    ds, info = h.history(plan, draws=draws, seed=seed, sampler=sampler, tune=tune, scheduler=scheduler,
                         workers=workers)
    path = hd.write(ds, plan.output) if plan.output else None
    pngs = fan_charts(hd.fans(ds), plan.charts) if plan.charts else []
    return hd.document(ds, info, path, pngs)


__all__ = ["Session", "check", "flips", "history", "load_result", "run", "signposts", "whatif"]
