"""Everything an analytic brief needs, as plain data (the report layer only typesets it).

:func:`collect` runs one :class:`Session`: the baseline, each named scenario
(interventions reuse the baseline's draws; prior changes go through
:meth:`Session.variant`; extra observations need a new posterior), each prior
set (stance) through :meth:`Session.variant` with its weight given the evidence,
the sensitivity sweep of every question (:mod:`forecast.analyses.sensitivity`:
each judgment's drivers), each judgment's confidence
(:mod:`forecast.analyses.confidence`), the key judgments and the other decision
parts (:mod:`forecast.analyses.decision`), signposts and flips of the key
judgments, the track record where outcomes are recorded
(:func:`forecast.analyses.score.scores`) and, for the evidence log, the posterior
without each observation in turn. Nothing here draws a figure, writes prose or
writes a file.

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
from forecast.analyses import decision
from forecast.analyses.summary import as_of, change, sampler_bad, stat, worded_questions
from forecast.spec import load_model, load_prior_set, resolve
from forecast.spec.errors import Problem, SpecError, did_you_mean
from forecast.spec.load import find_file
from forecast.spec.locate import prior_set_path, prior_sets_of

if TYPE_CHECKING:  # PyMC loads only once collect() runs: preflight() answers a bad input in a blink
    from forecast.analyses.session import Result, Session

log = logging.getLogger(__name__)

MOVED = 0.02  # a what-if row is listed when a question's probability moves by 2 points or more (all are listed)
HIST_BINS = 40


def questions_of(result: Result) -> dict[str, dict]:
    return {q.id: stat(result, f"q:{q.id}") for q in result.resolved.model.questions}


def compare_rows(base: Result, alt: Result, skip: set[str]) -> list[dict]:
    """The questions a what-if moves by ``MOVED`` or more, largest change first, each with its change and interval
    (paired draws only) from :func:`forecast.analyses.summary.change`. Not listed: questions on a variable the
    what-if fixes or observes, or that the baseline's evidence observed (a fact is not a change)."""
    m = base.resolved.model
    seen = skip | {o.variable for o in base.resolved.evidence if o.kind == "event"}
    rows = []
    for q in m.questions:
        if q.variable in seen:
            continue
        key = f"q:{q.id}"
        b, a = stat(base, key), stat(alt, key)
        rows.append({"id": q.id, "kind": "question", "label": q.text, "short": m.short_title(q.id),
                     "baseline": b, "whatif": a, "diff": change(base, alt, key, True, b, a)})
    rows = [r for r in rows if abs(r["diff"]["mean"]) >= MOVED]
    rows.sort(key=lambda r: (-abs(r["diff"]["mean"]), r["id"]))
    return rows


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
            # the sources the map's claims and evidence rest on (not those of evidence recorded after the date it
            # speaks for, nor those documenting outcomes)
            "sources": [{"id": x.id, "title": x.title, "grade": x.grade} for x in m.sources
                        if x.id in _used(m, outcomes=False)]}


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
                    "rows": rows, "diagnostics": alt.diagnostics})
    return out


def _stances(s: Session, base: Result, paths: list[str | None], base_q: dict, ready: dict, step) -> list[dict]:
    """Each stance beside the baseline, with what it believes of each claim and (with evidence) its posterior
    weight; ``ready``: its resolved spec and reweighting (``Session.prefetch_variant``)."""
    from forecast.analyses.stances import log_bayes_factor, weights_of

    def credences(r) -> dict:
        return {c: float(x.credence) for c, x in r.claims.items()}

    out = [{"name": base.resolved.priors.prior_set.name or "baseline", "file": paths[0],
            "description": base.resolved.priors.prior_set.description, "questions": base_q,
            "credences": credences(base.resolved), "log_bf": 0.0}]
    for p in paths[1:]:
        step(f"stance: {Path(p).stem if p else 'default'}")
        r, rw = ready[p]
        res = s.variant(base, r, reweighting=rw)
        out.append({"name": r.priors.prior_set.name or Path(str(p)).stem, "file": p,
                    "description": r.priors.prior_set.description, "questions": questions_of(res),
                    "credences": credences(r), "log_bf": log_bayes_factor(s, base, r, rw)["log_bf"],
                    "diagnostics": res.diagnostics})
    known = [x for x in out if x["log_bf"] is not None]
    if base.posterior is not None and len(known) > 1:  # which view the evidence favours (equal prior odds)
        for x, w in zip(known, weights_of([x["log_bf"] for x in known]), strict=True):
            x["weight"] = float(w)
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
               "source_title": m.source(ev.source).title, "grade": ev.grade or m.source(ev.source).grade,
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


def _markers(m, q) -> str:
    """An index question's definition for the reader: its variable's description (the markers it counts)."""
    v = m.variable(q.variable)
    return v.description if v.kind == "index" else ""


def _used(m, outcomes: bool = True) -> set[str]:
    """The sources the brief rests on: its claims', its evidence's and (``outcomes``) those documenting outcomes."""
    used = {c.source for c in m.claims} | {e.source for e in m.evidence}
    return used | {q.resolution_source for q in m.questions if q.resolution_source} if outcomes else used


def _sources(m) -> dict:
    """The sources the brief rests on and the spec records the report layer words them from
    (:mod:`forecast.report.bibliography`), as plain data."""
    used = _used(m)
    return {"used": [x.id for x in m.sources if x.id in used],
            "spec": m.model_dump(mode="json", include={"path", "info", "sources", "claims", "evidence"})}


def _claims(s: Session, base: Result) -> list[dict]:
    """Every claim with its source, grade, credence and the passage it rests on (:mod:`forecast.analyses.passages`:
    whole sentences, each passage quoted once, referred to after)."""
    from forecast.analyses.passages import passages

    m, r = s.model, base.resolved
    labels = {v.id: v.label for v in m.variables}
    quoted = passages(m, s.sources)
    out = []
    for c in m.claims:
        src = m.source(c.source)
        q = quoted[c.id]
        d = {"id": c.id, "cause": labels[c.cause], "effect": labels[c.effect], "direction": c.direction,
             "strength": c.strength if isinstance(c.strength, str) else c.strength.dist, "source": c.source,
             "source_title": src.title, "grade": src.grade, "locator": c.locator, "paraphrase": c.paraphrase,
             "credence": r.claims[c.id].credence, "quote": q.text, "same_as": q.same_as, "follows": q.follows}
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
    key_judgments: int = decision.KEY_JUDGMENTS,
    evidence_impact: bool = True,
    decide: bool = True,
    record: bool = True,
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
        How many judgments page 1 leads with (:func:`forecast.analyses.decision.key_judgments`).
    evidence_impact
        How far each observation moves the forecasts: the baseline's posterior draws with that
        observation left out (``Session.without``: importance weights, no new sampling).
    decide
        Signposts and flips of the key judgments (what to watch, what would change our mind).
    record
        The track record, where questions record their outcome (:func:`forecast.analyses.score.scores`).
    """
    from forecast.analyses.confidence import assess
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
    m = s.model
    claims = _claims(s, base)
    by_claim = {c["id"]: c for c in claims}
    judgments = []
    for q in m.questions:
        anc = ancestral_set(base.resolved, [q.variable])
        judgments.append({"id": q.id, "text": q.text, "short": m.short_title(q.id), "variable": q.variable,
                          "importance": q.importance, "threshold": q.threshold,
                          "resolves_by": q.resolves_by.isoformat(), "resolution": q.resolution,
                          "markers": _markers(m, q), "claim_ids": [c.id for c in m.claims if c.effect in anc],
                          **base_q[q.id]})
    whatifs = _whatifs(s, base, names, step)
    stance_data = _stances(s, base, paths, base_q, stances, step)
    keys = decision.key_judgments(judgments, decision.stakes(judgments, whatifs, stance_data), key_judgments)
    worded = [q.id for q in worded_questions(base.resolved)]
    sens = tornado(s, base, worded, top=sensitivity_top, progress=step)
    bad = sampler_bad(base.diagnostics)
    for j in judgments:
        bars = sens["questions"].get(j["id"], {}).get("bars", [])
        j["drivers"] = decision.drivers(bars, by_claim)
        j["confidence"] = assess(
            m, j["claim_ids"], interval=(j["lo"], j["hi"]),
            drivers={b["id"]: b["swing"] for b in bars if b["kind"] == "claim"} or None,
            stance_means=[x["questions"][j["id"]]["mean"] for x in stance_data],
            stance_words=[x["questions"][j["id"]].get("word", "") for x in stance_data], sampler_bad=bad).to_dict()
    order = {q: i for i, q in enumerate(keys)}
    judgments.sort(key=lambda j: (j["id"] not in order, order.get(j["id"], 0), -j["importance"],
                                  -round(100 * j["mean"]), j["id"]))
    every = sens["questions"]  # every question's drivers (the track record's misses read them too)
    sens["questions"] = {q: every[q] for q in keys if q in every}
    words = base.resolved.priors.probability_words
    stance_names = [Path(p).stem if p else "default" for p in paths]
    out = {
        "title": _title(s, stance_names, base),
        "words": {w: list(b) for w, b in sorted(words.items(), key=lambda kv: kv[1][0])},
        "judgments": judgments,
        "key": keys,
        "map": _map(s, base),
        "indices": _indices(base),
        "whatifs": whatifs,
        "moved": MOVED,
        "stances": stance_data,
        "views": decision.views(judgments, stance_data, sens["questions"]),
        "assumptions": decision.assumptions(sens["questions"], by_claim, keys),
        "outlook": decision.outlook(judgments),
        "sensitivity": sens,
        "evidence": _evidence(s, base, base_q, evidence_impact, step),
        "claims": claims,
        "sources": _sources(m),
        "diagnostics": base.diagnostics,
        "sampler_bad": bad,
        "watch": [], "mind": {}, "record": None,
    }
    if decide and keys:
        from forecast.analyses.flips import flips
        from forecast.analyses.signposts import signposts

        step("signposts: what to watch")
        sp = signposts(s, base, keys, progress=step)
        out["watch"] = decision.watchlist(sp, keys)
        step("flips: what would change our mind")
        out["mind"] = decision.mind_changers(flips(s, base, keys), keys)
    if record and any(q.outcome is not None for q in m.questions):
        from forecast.analyses.score import scores, worst_misses

        step("track record: scoring the resolved questions")
        out["record"] = rec = scores(s, base, paths, progress=step, misses=False)
        rec["misses"] = worst_misses(s, base, rec["prior_sets"][0]["questions"],
                                     bars={q: d["bars"] for q, d in every.items()})
    return out
