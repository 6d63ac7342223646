"""``forecast history``: the forecast of every question at each date, evidence entering as it was dated.

At each date of the grid (``--from`` to ``--to``, every ``--every``) the model is run as it stood then:
``Session(model, as_of=date).run()``, which keeps only the evidence dated on or before the date. Dates whose kept
evidence is the same share one run (the grid is read first, the distinct evidence sets computed, one task per
set), so a monthly history over three years of a model with a dozen dated observations is a dozen runs, not
thirty-six. The runs are independent: :func:`forecast.analyses.sweep.run_tasks` puts them on Dask (a
LocalCluster by default, ``--scheduler`` for an existing cluster, ``--workers 1`` in this process). A run is
deterministic given its evidence set and the settings (seed, draws, tuning, sampler), so the numbers do not depend
on where it ran, nor on which date of its group it ran for.

Each task returns plain arrays (every question's per-draw probability) with the statistics and words of
:mod:`forecast.analyses.summary` and the sampler's health, computed where the run is;
:mod:`forecast.analyses.history_data` puts them on a ``date`` dimension as one xarray dataset (NetCDF, written
whole or not at all) and reads it back for the tables, the JSON and the fan charts.

Reused per worker process (:func:`run_set`): the imports (PyMC, JAX), the compiled forward simulators
(:class:`~forecast.analyses.engine.Engine`: they depend on the model's structure and prior set, not on the
evidence) across the evidence sets it runs, and XLA's compiled NUTS programs through JAX's cache on disk
(``$FORECAST_CACHE/jax``, shared by every worker on the machine). Not reused: each evidence set's posterior
(sampled afresh from the same seed, never warm-started from another date's chains, which would make a date's
numbers depend on the order the runs happened to take).
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from forecast.spec import load_model, load_prior_set, resolve
from forecast.spec.errors import Problem, SpecError
from forecast.spec.load import find_file
from forecast.spec.locate import prior_set_path

if TYPE_CHECKING:
    import xarray as xr

    from forecast.spec.schema import ScenarioModel

STEP = re.compile(r"^\s*(\d*)\s*([dwmqy])\s*$", re.IGNORECASE)
UNITS = {"d": "day", "w": "week", "m": "month", "q": "quarter", "y": "year"}
MONTHS = {"m": 1, "q": 3, "y": 12}
MAX_DATES = 1000  # a grid longer than this is refused (the dataset holds every draw of every question per date)


# --- the date grid -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """``--every``: ``n`` days, weeks, months, quarters or years."""

    n: int
    unit: str  # d, w, m, q, y

    def __str__(self) -> str:
        return f"{self.n}{self.unit.upper() if self.unit != 'd' else 'd'}"


def parse_step(text: str) -> Step:
    """``1M``, ``2W``, ``1Q``, ``1Y``, ``10d`` (a missing number is 1); SpecError naming ``--every`` otherwise."""
    m = STEP.match(text or "")
    n = int(m.group(1) or 1) if m else 0
    if not m or n < 1:
        raise SpecError([Problem("--every", text, "expected a number and a unit: 1M (months: month ends, or the "
                                                  "day of --from), 1W, 2W, 1Q, 1Y or Nd (days)")])
    return Step(n, m.group(2).lower())


def _add_months(start: dt.date, months: int) -> dt.date:
    """``start`` moved by whole months: a month end stays a month end; another day is kept, clipped to the month's
    length (31 January + 1 month = 29 February in a leap year, + 2 months = 31 March)."""
    y, m0 = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m0 + 1
    last = calendar.monthrange(year, month)[1]
    month_end = start.day == calendar.monthrange(start.year, start.month)[1]
    return dt.date(year, month, last if month_end else min(start.day, last))


def grid(start: dt.date, end: dt.date, step: Step, limit: int = MAX_DATES + 1) -> list[dt.date]:
    """The dates from ``start`` to ``end`` (both included when on the grid), every ``step``; at most ``limit``."""
    out, k = [], 0
    while len(out) < limit:
        if step.unit in MONTHS:
            d = _add_months(start, k * step.n * MONTHS[step.unit])
        else:
            d = start + dt.timedelta(days=k * step.n * (7 if step.unit == "w" else 1))
        if d > end:
            break
        out.append(d)
        k += 1
    return out


# --- the plan: every input checked before any work ---------------------------------------------------------

@dataclass(frozen=True)
class Task:
    """One run: the model as of ``as_of`` (the first date of an evidence set), everything a worker needs to open
    the session itself (plain data: pickled to Dask workers)."""

    index: int
    model: str  # absolute path
    sha256: str  # the model file's, checked by the worker (another version of the file must not slip in)
    priors: str  # absolute path of the prior set, or "default"
    sets: tuple[tuple[str, str], ...]
    sources: str | None
    as_of: dt.date
    evidence: tuple[str, ...]  # the ids the run must use
    draws: int
    seed: int
    sampler: str
    tune: int


@dataclass
class Plan:
    """What ``forecast history`` will do: the dates, their evidence sets and where it writes."""

    model_path: Path
    model: ScenarioModel  # every evidence entry, whatever its date
    priors: Path | None
    sets: dict[str, str]
    sources: str | None
    start: dt.date
    end: dt.date
    step: Step
    dates: list[dt.date]
    groups: list[tuple[str, ...]]  # the distinct evidence sets, in date order
    group_of: list[int]  # per date, its evidence set
    output: Path | None
    charts: Path | None

    def tasks(self, draws: int, seed: int, sampler: str, tune: int) -> list[Task]:
        """One task per distinct evidence set, run as of its first date."""
        first = {g: self.dates[self.group_of.index(g)] for g in range(len(self.groups))}
        sha = hashlib.sha256(self.model_path.read_bytes()).hexdigest()
        return [Task(g, str(self.model_path.resolve()), sha, str(self.priors.resolve()) if self.priors else "default",
                     tuple(sorted(self.sets.items())), str(Path(self.sources).resolve()) if self.sources else None,
                     first[g], ids, draws, seed, sampler, tune) for g, ids in enumerate(self.groups)]


def kept(model: ScenarioModel, date: dt.date) -> tuple[str, ...]:
    """The ids of the evidence a run as of ``date`` uses (the rule of :meth:`ScenarioModel.as_of_date`)."""
    return tuple(e.id for e in model.as_of_date(date).evidence)


def preflight(model: str | Path, priors: str | Path | None = None, sources: str | Path | None = None,
              sets: dict[str, str] | None = None, *, start: dt.date, end: dt.date, every: str = "1M",
              scheduler: str | None = None, workers: int | None = None, output: str | Path | None = None,
              charts: str | Path | None = None, defaults: bool = False) -> Plan:
    """Every input problem at once (exit 2), before PyMC loads and before anything is written; the plan.
    ``defaults``: write to ``reports/out/<model id>_history.nc`` and ``reports/out/<model id>_history/`` where
    ``output`` / ``charts`` are not given (the CLI); otherwise nothing is written that is not asked for."""
    from forecast.analyses.sweep import scheduler_problems
    from forecast.spec.outputs import check_file, check_folder

    path = find_file(model, "models")
    m = load_model(path)
    problems: list[Problem] = []
    step = None
    try:
        step = parse_step(every)
    except SpecError as err:
        problems += err.problems
    if start > end:
        problems.append(Problem("--from", start.isoformat(), f"is after --to {end.isoformat()}"))
    ppath, found = None, True
    try:
        ppath = prior_set_path(priors, path, m.info.id)
    except SpecError as err:
        problems += err.problems
        found = False
    if sources is not None and not Path(sources).is_dir():
        problems.append(Problem(str(sources), "--sources", "not a folder"))
        sources = None
    if found:  # the model and prior set as every command checks them
        try:
            resolve(m, load_prior_set(ppath, dict(sets or {})), sources_dir=sources)
        except SpecError as err:
            problems += err.problems
    problems += scheduler_problems(scheduler, workers)
    if defaults:
        output = output or Path("reports") / "out" / f"{m.info.id}_history.nc"
        charts = charts or Path("reports") / "out" / f"{m.info.id}_history"
    if output is not None:
        problems += check_file(output, "-o", ".nc")
    if charts is not None:
        problems += check_folder(charts, "--charts")
    dates: list[dt.date] = []
    if step is not None and start <= end:
        dates = grid(start, end, step)
        if len(dates) > MAX_DATES:
            problems.append(Problem("--every", str(every), f"more than {MAX_DATES} dates from {start} to {end}: "
                                                           "take a longer step or a shorter span"))
    if problems:
        raise SpecError(problems)
    groups: list[tuple[str, ...]] = []
    group_of = []
    for d in dates:
        ids = kept(m, d)
        if ids not in groups:
            groups.append(ids)
        group_of.append(groups.index(ids))
    return Plan(path, m, ppath, dict(sets or {}), str(sources) if sources else None, start, end, step, dates,
                groups, group_of, Path(output) if output else None, Path(charts) if charts else None)


# --- one run, where it runs --------------------------------------------------------------------------------

_ENGINES: dict[tuple, list] = {}  # per process: compiled forward simulators, by model, prior set, --set and draws
_KEEP = 4  # such combinations kept per process


def _files_sha(paths: Sequence[str | Path]) -> tuple[str, ...]:
    return tuple(hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths)


def run_set(task: Task) -> dict:
    """The model as of ``task.as_of``, run (``Session(..., as_of=...).run()``); plain data back: per question its
    per-draw probability, :func:`forecast.analyses.summary.stat`'s statistics and word, its Brier score where the
    question records an outcome, and the sampler's health. A problem with the inputs comes back as
    ``{"problems": [...]}`` (a SpecError does not survive pickling)."""
    t0 = time.perf_counter()
    try:
        from forecast.analyses.score import outcome_of, per_question
        from forecast.analyses.session import Session
        from forecast.analyses.summary import stat, worded_questions

        if hashlib.sha256(Path(task.model).read_bytes()).hexdigest() != task.sha256:
            raise SpecError([Problem(task.model, "file", "changed since the history started (or this worker sees "
                                                         "another file): run it again")])
        s = Session(task.model, task.priors, dict(task.sets), task.sources, draws=task.draws, seed=task.seed,
                    sampler=task.sampler, tune=task.tune, as_of=task.as_of)
        used = tuple(e.id for e in s.model.evidence)
        if used != task.evidence:
            raise SpecError([Problem(task.model, "evidence", f"as of {task.as_of} the run keeps {list(used)}, the "
                                                             f"plan expected {list(task.evidence)}")])
        # the compiled forward simulators depend on the model's structure, prior set and draws, not on the
        # evidence: one list of them per process for every evidence set of this model and settings
        key = (task.sha256, _files_sha(s.baseline.priors.files), task.sets, task.draws)
        reused = key in _ENGINES
        if not reused:
            while len(_ENGINES) >= _KEEP:
                _ENGINES.pop(next(iter(_ENGINES)))
            _ENGINES[key] = []
        s.runs.engines = _ENGINES[key]
        res = s.run()
    except SpecError as err:
        return {"index": task.index, "problems": [(p.file, p.entry, p.message) for p in err.problems]}
    worded = {q.id for q in worded_questions(res.resolved)}
    questions = {}
    for q in res.resolved.model.questions:
        key = f"q:{q.id}"
        d = stat(res, key, q.id in worded)
        d.update(draws=np.asarray(res.outcomes[key], dtype=float), worded=q.id in worded, outcome=outcome_of(q))
        questions[q.id] = d
    resolved = [q for q in res.resolved.model.questions if q.outcome is not None]
    brier = {}
    if resolved:
        sc = per_question(np.array([questions[q.id]["mean"] for q in resolved]),
                          np.array([outcome_of(q) for q in resolved]))
        brier = {q.id: float(b) for q, b in zip(resolved, sc["brier"])}
    diag = res.diagnostics
    health = {"method": str(diag.get("method", "")), "r_hat_max": float(diag.get("r_hat_max", np.nan)),
              "ess_bulk_min": float(diag.get("ess_bulk_min", np.nan)),
              "ess_tail_min": float(diag.get("ess_tail_min", np.nan)), "divergences": int(diag.get("divergences", 0)),
              "warnings": list(diag.get("warnings", []))}
    return {"index": task.index, "problems": None, "evidence": used, "questions": questions, "brier": brier,
            "health": health, "interval": float(res.resolved.interval),
            "words": {w: list(b) for w, b in res.resolved.priors.probability_words.items()},
            "priors": res.manifest.get("priors"), "chains": int(diag.get("chains") or s.chains),
            "reused": reused, "seconds": time.perf_counter() - t0}


# --- the sweep and its dataset -----------------------------------------------------------------------------

def history(plan: Plan, *, draws: int, seed: int, sampler: str, tune: int, scheduler: str | None = None,
            workers: int | None = None, progress: Callable[[int, int, str], None] | None = None
            ) -> tuple[xr.Dataset, dict]:
    """Run every distinct evidence set of ``plan`` (:func:`forecast.analyses.sweep.run_tasks`) and put the answers
    on the plan's dates; returns the dataset and how it ran (runs, where, compiled simulators reused)."""
    from forecast.analyses.sweep import run_tasks

    tasks = plan.tasks(draws, seed, sampler, tune)
    where: list[str] = []

    def say(done: int, total: int, text: str) -> None:
        where[:] = [text]
        if progress:
            progress(done, total, text)

    t0 = time.perf_counter()
    results = run_tasks(run_set, tasks, scheduler=scheduler, workers=workers, progress=say,
                        priorities=[len(t.evidence) for t in tasks])  # the longest runs first
    problems = [Problem(*p) for r in results if r["problems"] for p in r["problems"]]
    if problems:
        raise SpecError(list(dict.fromkeys(problems)))
    info = {"runs": len(tasks), "dates": len(plan.dates), "where": where[0] if where else "",
            "reused": sum(r["reused"] for r in results), "seconds": time.perf_counter() - t0,
            "run_seconds": [r["seconds"] for r in results]}
    from forecast.analyses.history_data import to_dataset

    ds = to_dataset(plan, results, draws=draws, seed=seed, sampler=sampler, tune=tune)
    return ds, info


__all__ = ["Plan", "Step", "Task", "grid", "history", "parse_step", "preflight", "run_set"]
