"""Terminal output of the CLI (rich tables, progress) and the run/whatif command flow (signposts, flips and
score: :mod:`forecast.render_analyses`)."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from forecast.analyses.summary import approximation_note, level, level_change, pct, pts  # one rule
from forecast.spec import jsonio


def _console(**kwargs) -> Console:
    """Rich console; piped or logged output (no terminal, no COLUMNS) gets 120 columns instead of 80."""
    c = Console(**kwargs)
    if not c.is_terminal and "COLUMNS" not in os.environ:
        c.width = 120
    return c


err = _console(stderr=True)
out = _console()




def check(rep, model: str) -> None:
    if rep.ok:
        counts = ", ".join(f"{n} {k}" for k, n in rep.counts.items())
        out.print(f"[green]ok[/green] {model}: {counts}")
    else:
        for e in rep.errors:
            err.print(f"error: {e}", markup=False, highlight=False)
        err.print(f"{len(rep.errors)} problem(s) found", style="bold red")


def _session(args, sets, priors: str | None):
    """The command's session, opened with the prior set ``priors`` (None: the model's baseline)."""
    from forecast.analyses.session import Session

    with err.status("Loading PyMC and building the model…"):
        return Session(args.model, priors, sets, args.sources,
                       draws=args.draws, seed=args.seed, sampler=args.sampler, tune=args.tune,
                       progress=err.is_terminal, as_of=args.as_of)


def _simulate(session, label: str, fn):
    with err.status(f"{label}: compiling and simulating…"):
        return fn()


def diagnostics_lines(d: dict) -> list[str]:
    if d.get("method", "").startswith("MCMC"):
        line = (f"{d['method']}: {d['chains']} chains, {d['draws']} draws in all, R-hat max {d['r_hat_max']:.3f}, "
                f"ESS bulk min {d['ess_bulk_min']:.0f}, tail min {d['ess_tail_min']:.0f}, "
                f"divergences {d['divergences']}")
    else:
        line = f"{d.get('method')}: {d.get('draws')} parameter draws x {d.get('worlds_per_draw')} worlds"
    if "pareto_k" in d:
        line += f"; importance-reweighted, Pareto k {d['pareto_k']:.2f}, ESS of weights {d['ess_weights']:.0f}"
    note = approximation_note(d)
    return [line] + ([note] if note else []) + [f"warning: {w}" for w in d.get("warnings", [])]


def run_command(args, sets, observe, do) -> int:
    from forecast.analyses.store import save
    from forecast.analyses.summary import summarize

    s = _session(args, sets, args.priors)
    r = s.resolve(observe=observe) if observe else s.baseline
    result = _simulate(s, "run", lambda: s.run(r, do=do))
    result.manifest.update(observe=dict(observe), do=dict(do))
    summary = summarize(result)
    weighed = None
    if getattr(args, "stances", False):
        from forecast.analyses.stances import stance_weights, stances_of
        from forecast.spec.locate import prior_sets_of

        paths = [s.priors_path] + [p for p in prior_sets_of(s.model_path, s.model.info.id) if p != s.priors_path]
        with err.status("stances: weighing every prior set…"):
            weighed = stance_weights(s, result, stances_of(s, paths))
    if args.out:
        save(result, args.out, summary)
    if args.json:
        doc = {k: summary[k] for k in ("as_of", "as_of_basis", "variables", "questions", "claims", "diagnostics",
                                        "manifest")}
        if weighed is not None:
            doc["stances"] = weighed
        print(jsonio.dumps(doc, indent=2))
        warn_stderr(summary["diagnostics"])
    else:
        print_run(summary)
        if weighed is not None:
            print_stances(weighed, summary)
    return 0


def print_stances(w: dict, summary: dict) -> None:
    """Each prior set's Bayes factor against the run's, its weight, and the forecasts averaged by the weights."""
    t = Table(title="Stances: how well each prior set predicted the evidence (Bayes factor against the first; "
                    "weights assume equal prior odds)", title_justify="left")
    for col in ("prior set", "Bayes factor", "weight", "Pareto k", "note"):
        t.add_column(col, justify="left" if col in ("prior set", "note") else "right")
    for d in w["stances"]:
        if d["log_bf"] is None:
            t.add_row(d["priors"], "–", "–", "–", d.get("why", ""))
            continue
        bf = f"{d['bayes_factor']:.2f} (×/÷ {math.exp(2 * d['mcse']):.2f})" if d["mcse"] else f"{d['bayes_factor']:.2f}"
        k = "–" if d["pareto_k"] is None else f"{d['pareto_k']:.2f}"
        t.add_row(d["priors"], bf, pct(d["weight"]), k,
                  "" if d["trusted"] else f"! Pareto k above {w['pareto_k_max']}: the estimate is unreliable")
    out.print(t)
    q = Table(title="Questions averaged over the stances by their weights", title_justify="left")
    for col in ("question", "first set", "averaged"):
        q.add_column(col, justify="left" if col == "question" else "right")
    for qid, d in summary["questions"].items():
        if qid in w["averaged"]:
            q.add_row(d["text"], pct(d["mean"]), pct(w["averaged"][qid]))
    out.print(q)


def warn_stderr(d: dict, who: str = "") -> None:
    """Sampler and reweighting warnings on stderr (also with ``--json``, whose stdout stays pure JSON)."""
    for w in d.get("warnings", []):
        err.print(f"{who}warning: {w}", style="yellow", markup=False, highlight=False, soft_wrap=True)


def print_run(summary: dict) -> None:
    lvl = pct(summary["interval"])
    when = f"; as of {summary['as_of']} ({summary['as_of_basis']})" if summary.get("as_of") else ""
    t = Table(title=f"{summary['model']}: variables (mean and central {lvl} interval){when}", title_justify="left")
    for col in ("variable", "kind", "mean", f"{lvl} interval", "ICD 203", "note"):
        t.add_column(col, justify="right" if col in ("mean", f"{lvl} interval") else "left")
    for vid, d in summary["variables"].items():
        ev = d["kind"] == "event"
        t.add_row(f"{d['label']} [dim]({vid})[/dim]", d["kind"], pct(d["mean"]) if ev else level(d["mean"]),
                  f"{pct(d['lo'])}–{pct(d['hi'])}" if ev else f"{level(d['lo'])}–{level(d['hi'])}",
                  d.get("word", ""), d.get("status", ""))
    out.print(t)
    q = Table(title="Questions", title_justify="left")
    for col in ("question", "by", "probability", f"{lvl} interval", "ICD 203"):
        q.add_column(col)
    for d in sorted(summary["questions"].values(), key=lambda d: (-d["importance"], -d["mean"])):
        q.add_row(d["text"], d["resolves_by"], pct(d["mean"]), f"{pct(d['lo'])}–{pct(d['hi'])}", d["word"])
    out.print(q)
    claims = summary["claims"]
    if any("credence_post" in c for c in claims.values()):
        moved = sorted(claims.items(), key=lambda kv: -abs(kv[1]["credence_post"] - kv[1]["credence_prior"]))[:12]
        c = Table(title="Claims the evidence moved most (credence: prior → posterior)", title_justify="left")
        for col in ("claim", "prior", "posterior"):
            c.add_column(col)
        for cid, d in moved:
            c.add_row(cid, pct(d["credence_prior"]), pct(d["credence_post"]))
        out.print(c)
    for line in diagnostics_lines(summary["diagnostics"]):
        warn = line.startswith("warning")
        (err if warn else out).print(line, style="yellow" if warn else "dim")


def whatif_command(args, sets, observe, do) -> int:
    from forecast.analyses.store import save
    from forecast.analyses.summary import compare
    from forecast.spec.errors import Problem, SpecError

    if not (args.scenario or do or sets or args.priors or observe):
        raise SpecError([Problem("whatif", "arguments", "give --scenario, --do, --set, --observe or --priors")])
    s = _session(args, {}, priors=args.baseline_priors)  # None: the model's baseline prior set
    if args.scenario and args.scenario not in {x.id for x in s.model.scenarios}:
        from forecast.spec.errors import did_you_mean

        names = [x.id for x in s.model.scenarios]
        raise SpecError([Problem(str(s.model_path), f"scenarios.{args.scenario}",
                                 "no such scenario" + did_you_mean(args.scenario, names))])
    base, alt, label, sides = _simulate(s, "baseline and what-if",
                                        lambda: s.whatif(args.scenario, sets, args.priors, observe, do))
    cmp = compare(base, alt, label, sides=sides)
    if args.out:
        save(alt, args.out, cmp)
    if args.json:
        print(jsonio.dumps(cmp, indent=2))
        for who, d in cmp["diagnostics"].items():
            warn_stderr(d, f"{who}: ")
        if cmp["identical"]:
            err.print("note: the two sides are the same computation: every change is zero by construction")
    else:
        print_whatif(cmp)
    return 0


def print_whatif(cmp: dict) -> None:
    lvl = pct(cmp["interval"])
    sides = f" ({cmp['sides'][1]} against {cmp['sides'][0]})" if cmp.get("sides") else ""
    how = (f"{lvl} intervals of the change from paired draws" if cmp["paired"]
           else "not paired draws (reweighted or sampled anew): the change is the difference of the means, "
                "± twice its Monte Carlo error")
    t = Table(title=f"What-if: {cmp['label']}{sides}; sorted by size of change; {how}", title_justify="left")
    for col in ("item", "baseline", "what-if", "change", f"{lvl} interval of change" if cmp["paired"] else "± MC"):
        t.add_column(col, justify="left" if col == "item" else "right")
    for row in cmp["rows"]:
        index = row["kind"] == "index"
        f = level if index else pct
        g = level_change if index else pts
        d = row["diff"]
        spread = (f"{g(d['lo'])} to {g(d['hi'])}" if d["lo"] is not None
                  else f"±{2 * d['mcse']:.2f}" if index else f"±{200 * d['mcse']:.1f} pts")
        t.add_row(row["label"] if len(row["label"]) < 70 else row["label"][:67] + "…", f(row["baseline"]["mean"]),
                  f(row["whatif"]["mean"]), g(d["shown"]), spread)
    out.print(t)
    if cmp.get("identical"):
        err.print("note: the two sides are the same computation (same prior set, settings and draws): every change "
                  "is zero by construction", style="yellow")
    for who, d in cmp["diagnostics"].items():
        for line in diagnostics_lines(d):
            out.print(f"{who}: {line}", style="yellow" if "warning" in line else "dim")


def ensure_dir(path: str) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


__all__ = ["check", "run_command", "whatif_command", "print_run", "print_whatif", "sys"]
