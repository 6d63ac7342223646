"""Everything an analytic brief needs, as plain data (the report layer only typesets it).

:func:`collect` runs one :class:`Session`: the baseline, each named scenario
(interventions reuse the baseline's draws; prior changes go through
:meth:`Session.variant`; extra observations need a new posterior), each prior
set (stance) through :meth:`Session.variant`, the sensitivity sweep
(:mod:`forecast.analyses.sensitivity`) and, for the evidence log, the posterior
without each observation in turn. Nothing here draws a figure or writes a file.

Every number, word and change comes from :mod:`forecast.analyses.summary` (the same
functions the CLI and the JSON read).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from forecast import __version__
from forecast.analyses.summary import as_of, change, stat
from forecast.spec import load_model, load_prior_set, resolve
from forecast.spec.checks import parse_locator, source_path
from forecast.spec.errors import Problem, SpecError, did_you_mean
from forecast.spec.load import find_file
from forecast.spec.locate import prior_set_path, prior_sets_of

if TYPE_CHECKING:  # PyMC loads only once collect() runs: preflight() answers a bad input in a blink
    from forecast.analyses.session import Result, Session

log = logging.getLogger(__name__)

# Confidence in a judgment, from the width of its interval (how much the answer turns on which claims hold).
CONFIDENCE_WIDTH = ((0.25, "high"), (0.5, "moderate"), (1.01, "low"))
WHATIF_ROWS = 8
MOVED = 0.005  # a what-if row is listed when its mean change reaches half a point
QUOTE_CHARS = 700
HIST_BINS = 40


def questions_of(result: Result) -> dict[str, dict]:
    return {q.id: stat(result, f"q:{q.id}") for q in result.resolved.model.questions}


def compare_rows(base: Result, alt: Result, skip: set[str]) -> list[dict]:
    """Questions and variables (not those fixed or observed by the what-if), largest change first; the change and
    its interval (paired draws only) from :func:`forecast.analyses.summary.change`."""
    m = base.resolved.model
    asked = {q.variable for q in m.questions if q.threshold is None}
    keys = [(f"q:{q.id}", q.id, q.text, "question", m.short_title(q.id)) for q in m.questions if q.variable not in skip]
    keys += [(v.id, v.id, v.label, v.kind, "") for v in m.variables if v.id not in skip and v.id not in asked]
    rows = []
    for key, ident, label, kind, brief in keys:
        event = kind != "index"
        b, a = stat(base, key, event), stat(alt, key, event)
        rows.append({"id": ident, "kind": kind, "label": label, "short": brief, "baseline": b, "whatif": a,
                     "diff": change(base, alt, key, event, b, a)})
    rows = [r for r in rows if abs(r["diff"]["mean"]) >= MOVED]
    rows.sort(key=lambda r: (-abs(r["diff"]["mean"]), r["id"]))
    return rows


def confidence(q: dict, grades: list[str], warned: bool) -> dict:
    width = q["hi"] - q["lo"]
    level = next(name for bound, name in CONFIDENCE_WIDTH if width < bound)
    if warned and level != "low":
        level = {"high": "moderate", "moderate": "low"}[level]
    return {"level": level, "width": width, "grades": grades}


def _grade(model, sid: str) -> str:
    return model.source(sid).grade


def quote(sources: str | Path | None, file: str | None, locator: str) -> str | None:
    """The document's lines at ``locator`` (read now, from the user's own file), whitespace folded."""
    span = parse_locator(locator)
    if sources is None or span is None or file is None:
        return None
    path = source_path(sources, file)
    if path is None or not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[span[0] - 1: span[1]]
    text = " ".join(" ".join(lines).split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rsplit(" ", 1)[0] + " …"


def _title(s: Session, names: list[str], base: Result) -> dict:
    m = s.model
    date, basis = as_of(m)
    return {
        "model": m.info.id, "title": m.info.title, "description": m.info.description, "file": str(s.model_path),
        "as_of": date.isoformat() if date else None, "as_of_basis": basis,
        "prior_sets": names, "seed": s.seed, "draws": s.draws, "version": __version__,
        "interval": base.resolved.interval,
    }


def _map(s: Session, base: Result) -> dict:
    m, r = s.model, base.resolved
    observed = {o.variable for o in r.evidence}
    strength = {name: float(p.kwargs.get("mu", next(iter(p.kwargs.values()), 1.0)))
                for name, p in r.priors.strength.items()}
    nodes = [{"id": v.id, "label": v.label, "kind": v.kind, "observed": v.id in observed,
              "asked": any(q.variable == v.id for q in m.questions)} for v in m.variables]
    edges = [{"id": c.id, "cause": c.cause, "effect": c.effect, "source": c.source, "sign": r.claims[c.id].sign,
              "strength": strength.get(c.strength, 1.0) if isinstance(c.strength, str) else 1.0,
              "credence": r.claims[c.id].credence} for c in m.claims]
    return {"nodes": nodes, "edges": edges, "order": list(r.order),
            # the sources this brief rests on: its claims' and its evidence's (not those of evidence recorded
            # after the date it speaks for)
            "sources": [{"id": x.id, "title": x.title, "grade": x.grade} for x in m.sources
                        if x.id in {c.source for c in m.claims} | {e.source for e in m.evidence}]}


def _indices(base: Result, top: int = 8) -> list[dict]:
    m = base.resolved.model
    degree = {v.id: 0 for v in m.variables}
    for c in m.claims:
        degree[c.cause] += 1
        degree[c.effect] += 1
    asked = {q.variable for q in m.questions}
    idx = [v for v in m.variables if v.kind == "index"]
    idx.sort(key=lambda v: (v.id not in asked, -degree[v.id], v.id))
    out = []
    for v in idx[:top]:
        x = np.asarray(base.outcomes[v.id], float)
        counts, _ = np.histogram(x, bins=HIST_BINS, range=(0, 1), weights=base.weights)
        out.append({"id": v.id, "label": v.label, **stat(base, v.id, event=False),
                    "hist": (counts / max(counts.sum(), 1e-12)).tolist()})
    return out


def _whatifs(s: Session, base: Result, names: list[str], step) -> list[dict]:
    out = []
    for name in names:
        step(f"what-if: {name}")
        sc = s.model.scenario(name)
        alt = s.scenario(base, name)
        if sc.observe:
            how = ("the baseline's posterior draws conditioned on the extra observation (importance weights)"
                   if alt.weights is not None else "new posterior given the extra observation")
        elif alt.weights is not None:
            how = "prior change, the baseline's posterior draws reweighted"
        elif sc.set or sc.priors:
            how = ("prior change, new posterior" if alt.posterior not in (None, base.posterior)
                   else "prior change, new hyperparameters in the same compiled model")
        else:
            how = "intervention, paired draws"
        rows = compare_rows(base, alt, set(sc.do) | set(sc.observe))
        out.append({"id": sc.id, "label": sc.label, "description": sc.description, "how": how,
                    "do": dict(sc.do), "observe": dict(sc.observe), "set": {k: str(v) for k, v in sc.set.items()},
                    "rows": rows[:WHATIF_ROWS], "diagnostics": alt.diagnostics})
    return out


def _stances(s: Session, base: Result, paths: list[str | None], base_q: dict, ready: dict, step) -> list[dict]:
    """Each stance beside the baseline; ``ready``: its resolved spec and reweighting (``Session.prefetch_variant``)."""
    out = [{"name": base.resolved.priors.prior_set.name or "baseline", "file": paths[0],
            "description": base.resolved.priors.prior_set.description, "questions": base_q}]
    for p in paths[1:]:
        step(f"stance: {Path(p).stem if p else 'default'}")
        r, rw = ready[p]
        res = s.variant(base, r, reweighting=rw)
        out.append({"name": r.priors.prior_set.name or Path(str(p)).stem, "file": p,
                    "description": r.priors.prior_set.description, "questions": questions_of(res),
                    "diagnostics": res.diagnostics})
    return out


def _evidence(s: Session, base: Result, base_q: dict, impact: bool, step) -> dict:
    """Each observation: date, source, grade, and (``impact``) how far the forecasts move without it."""
    m, r = s.model, base.resolved
    rows, prior, total = [], None, []
    if r.evidence and impact:
        step("evidence: forecasts with no evidence")
        prior = questions_of(s.run(replace(r, evidence=())))
        total = _moves(base_q, prior)[:5]
    for ob in r.evidence:
        ev = next((e for e in m.evidence if e.id == ob.id), None)
        if ev is None:
            continue
        row = {"id": ev.id, "variable": ev.variable, "label": m.variable(ev.variable).label,
               "value": ev.value, "date": ev.date.isoformat(), "source": ev.source,
               "source_title": m.source(ev.source).title, "grade": ev.grade or _grade(m, ev.source),
               "soft": ev.soft, "note": ev.note, "moved": [], "max_change": None}
        if impact:
            step(f"evidence: without {ev.id}")
            alt = s.without(base, ob.id)
            moves = _moves(base_q, questions_of(alt))
            row.update(moved=moves[:3], max_change=abs(moves[0]["change"]) if moves else 0.0,
                       pareto_k=alt.diagnostics.get("pareto_k"))
        rows.append(row)
    rows.sort(key=lambda x: (x["date"], x["id"]))
    return {"rows": rows, "prior": prior, "total": total, "impact": impact}


def _moves(after: dict, before: dict) -> list[dict]:
    d = [{"question": q, "change": after[q]["mean"] - before[q]["mean"]} for q in after]
    return sorted(d, key=lambda x: (-abs(x["change"]), x["question"]))


def _claims(s: Session, base: Result) -> list[dict]:
    m, r = s.model, base.resolved
    labels = {v.id: v.label for v in m.variables}
    out = []
    for c in m.claims:
        src = m.source(c.source)
        d = {"id": c.id, "cause": labels[c.cause], "effect": labels[c.effect], "direction": c.direction,
             "strength": c.strength if isinstance(c.strength, str) else c.strength.dist, "source": c.source,
             "source_title": src.title, "grade": src.grade, "locator": c.locator, "paraphrase": c.paraphrase,
             "credence": r.claims[c.id].credence, "quote": quote(s.sources, src.file, c.locator)}
        if base.credence_post is not None:
            d["credence_post"] = base.credence_post[c.id]
        out.append(d)
    return out


def preflight(model: str | Path, priors: Sequence[str | None] = (), scenarios: Sequence[str] | None = None,
              sources: str | Path | None = None) -> list[str | None]:
    """Every input problem at once, before PyMC loads; returns the prior sets to use (baseline first)."""
    path = find_file(model, "models")
    m = load_model(path)
    problems, paths = [], []
    for p in priors:
        try:
            paths.append(prior_set_path(p, path, m.info.id))
        except SpecError as err:
            problems += err.problems
    paths = paths or prior_sets_of(path, m.info.id)
    if sources is not None and not Path(sources).is_dir():
        problems.append(Problem(str(sources), "--sources", "not a folder"))
        sources = None
    for p in paths:
        try:
            resolve(m, load_prior_set(p), sources_dir=sources)
        except SpecError as err:
            problems += [x for x in err.problems if x not in problems]
    names = [x.id for x in m.scenarios]
    problems += [Problem(str(path), f"scenarios.{n}", "no such scenario" + did_you_mean(n, names))
                 for n in scenarios or () if n not in names]
    if problems:
        raise SpecError(problems)
    return paths


def collect(
    model: str | Path,
    priors: Sequence[str | None] = (),
    scenarios: Sequence[str] | None = None,
    sources: str | Path | None = None,
    *,
    draws: int = 2000,
    seed: int = 0,
    sensitivity_top: int = 8,
    key_judgments: int = 4,
    evidence_impact: bool = True,
    progress: Callable[[str], None] | None = None,
    session_options: dict | None = None,
) -> dict:
    """Run every analysis of the brief and return its data (JSON-serialisable).

    Parameters
    ----------
    priors
        Prior sets: the first is the baseline, the others are compared as stances.
        Empty: ``priors/<model id>/`` (``baseline`` first) if it exists, else the package defaults.
    scenarios
        Named scenarios for the what-if section; ``None`` for all of the model's.
    key_judgments
        How many judgments (most important, then most probable) get a tornado chart.
    evidence_impact
        How far each observation moves the forecasts: the baseline's posterior draws with that
        observation left out (``Session.without``: importance weights, no new sampling).
    """
    from forecast.analyses.sensitivity import tornado
    from forecast.analyses.session import Session
    from forecast.compile import ancestral_set

    step = progress or (lambda msg: log.info("%s", msg))
    paths = preflight(model, priors, scenarios, sources)
    step("loading the model")
    s = Session(model, paths[0] or "default", None, sources, draws=draws, seed=seed, **(session_options or {}))
    names = [x.id for x in s.model.scenarios] if scenarios is None else list(scenarios)
    step("baseline")
    base = s.run()
    if evidence_impact:  # the evidence log's fresh posteriors sample while the analyses below run
        s.prefetch_without(base)
    stances = {}  # and so do the stances' the baseline's draws cannot carry
    for p in paths[1:]:
        r = s.resolve(priors=p)
        stances[p] = (r, s.prefetch_variant(base, r))
    base_q = questions_of(base)
    warned = bool(base.diagnostics.get("warnings"))
    m = s.model
    judgments = []
    for q in m.questions:
        anc = ancestral_set(base.resolved, [q.variable])
        claims = [c for c in m.claims if c.effect in anc]
        grades = sorted({_grade(m, c.source) for c in claims})
        judgments.append({"id": q.id, "text": q.text, "short": m.short_title(q.id), "variable": q.variable,
                          "importance": q.importance, "threshold": q.threshold,
                          "resolves_by": q.resolves_by.isoformat(), "resolution": q.resolution,
                          "claims": len(claims), **base_q[q.id],
                          "confidence": confidence(base_q[q.id], grades, warned)})
    judgments.sort(key=lambda j: (-j["importance"], -round(100 * j["mean"]), j["id"]))
    keys = [j["id"] for j in judgments[:key_judgments]]
    sens = tornado(s, base, keys, top=sensitivity_top, progress=step)
    words = base.resolved.priors.probability_words
    stance_names = [Path(p).stem if p else "default" for p in paths]
    return {
        "title": _title(s, stance_names, base),
        "words": {w: list(b) for w, b in sorted(words.items(), key=lambda kv: kv[1][0])},
        "confidence_bounds": [list(x) for x in CONFIDENCE_WIDTH],
        "judgments": judgments,
        "map": _map(s, base),
        "indices": _indices(base),
        "whatifs": _whatifs(s, base, names, step),
        "stances": _stances(s, base, paths, base_q, stances, step),
        "sensitivity": sens,
        "evidence": _evidence(s, base, base_q, evidence_impact, step),
        "claims": _claims(s, base),
        "diagnostics": base.diagnostics,
    }
