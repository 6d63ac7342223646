"""Terminal output of the CLI (rich tables, progress) and the run/whatif command flow."""

from __future__ import annotations

import math
import os
import shlex
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from forecast.analyses.summary import approximation_note, level, level_change, pct, pts, share, shift  # one rule
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


def _questions_session(args, sets):
    """The session of a command that takes ``--question``s, the ids checked before any sampling."""
    from forecast.spec.errors import Problem, SpecError, did_you_mean

    s = _session(args, sets, args.priors)
    known = [q.id for q in s.model.questions]
    bad = [q for q in args.question if q not in known]
    if bad:
        raise SpecError([Problem(str(s.model_path), f"questions.{q}", "no such question" + did_you_mean(q, known))
                         for q in bad])
    return s


def signposts_command(args, sets) -> int:
    s = _questions_session(args, sets)
    base = _simulate(s, "baseline", s.run)
    from forecast.analyses.signposts import signposts

    with err.status("signposts…") as status:
        data = signposts(s, base, args.question or None, fresh=not args.no_fresh,
                         progress=lambda msg: status.update(f"signposts: {msg}…"))
    if args.json:
        print(jsonio.dumps(data, indent=2))
        warn_stderr(data["diagnostics"])
    else:
        print_signposts(data, args.top or (10 if args.question else 3))
    return 0


def _branch(d: dict) -> str:
    """A branch's forecast and word, and a mark where few draws carry it or it was sampled afresh."""
    if d["forecast"] is None:
        return "–"
    mark = " (sampled afresh)" if d.get("fresh") else "" if d["trusted"] else f" (! {d['ess']:.0f} draws)"
    return f"{pct(d['forecast'])} {d['word']}{mark}"


def print_signposts(data: dict, top: int) -> None:
    """The overall ranking (top 10), then each question's top ``top`` indicators with both branches."""
    t = Table(title="What to watch: the unobserved variables whose outcome would most sharpen the forecasts "
                    "(every question, weighted by importance; ranked by the uncertainty removed)",
              title_justify="left")
    for col in ("#", "watch", "chance", "moves most", "now", "if it happens", "if not", "expected shift",
                "uncertainty removed"):
        t.add_column(col, justify="left" if col in ("watch", "moves most") else "right")
    for i, o in enumerate(data["overall"][:10], 1):
        tp = o["top"]
        t.add_row(str(i), o["watch"], pct(o["p_yes"]), tp["question"], pct(tp["now"]),
                  pct(tp["if_yes"]) if tp["if_yes"] is not None else "–",
                  pct(tp["if_no"]) if tp["if_no"] is not None else "–", shift(tp["expected_change"]),
                  share(tp["uncertainty_removed"]))
    out.print(t)
    for qid, q in data["questions"].items():
        rows = q["indicators"][:top]
        t = Table(title=f"{qid}: {q['text']}  now {pct(q['now'])}, {q['word']}", title_justify="left")
        for col in ("watch", "chance", "if it happens", "if not", "expected shift", "uncertainty removed", "how"):
            t.add_column(col, justify="left" if col in ("watch", "if it happens", "if not", "how") else "right")
        for d in rows:
            t.add_row(d["watch"], pct(d["p_yes"]), _branch(d["yes"]), _branch(d["no"]), shift(d["expected_change"]),
                      share(d["uncertainty_removed"]), d["method"])
        out.print(t)
    n_exact = sum(d["method"] == "exact" for q in data["questions"].values() for d in q["indicators"])
    n_all = sum(len(q["indicators"]) for q in data["questions"].values())
    out.print(f"{n_exact} of {n_all} indicator-question pairs exact given each draw (the evidence's ancestral set and "
              f"the events below it); the rest from the simulated worlds of every draw. An index is watched as a "
              f"reading with sd {data['reading_sd']:g} against the question's threshold on it (else 0.5).",
              style="dim")
    sides = [d[x] for q in data["questions"].values() for d in q["indicators"] for x in ("yes", "no")]
    ks = [b["pareto_k"] for b in sides if b["pareto_k"] is not None and not b.get("fresh")]
    if ks:
        out.print(f"Each branch reweights the draws by the chance of what it sees: Pareto k at most {max(ks):.2f} "
                  f"(limit {data['pareto_k_max']}).", style="dim")
    if data["untrusted"]:
        out.print(f"! few effective draws carry a branch of: {', '.join(data['untrusted'])} (fewer than "
                  f"{pct(data['branch_ess_share'])} of the draws, or Pareto k above {data['pareto_k_max']}): treat "
                  "those branches as indicative", style="yellow")
    for line in diagnostics_lines(data["diagnostics"]):
        warn = line.startswith("warning")
        (err if warn else out).print(line, style="yellow" if warn else "dim")


def flips_command(args, sets) -> int:
    s = _questions_session(args, sets)
    base = _simulate(s, "baseline", s.run)
    from forecast.analyses.flips import flips

    with err.status("flips…") as status:
        data = flips(s, base, args.question or None,
                     progress=lambda done, planned, text: status.update(f"flips: {done}/{planned} {text}…"))
    if args.json:
        print(jsonio.dumps(data, indent=2))
    else:
        print_flips(data, args.top or (10 if args.question else 3))
    return 0


def score_command(args) -> int:
    from forecast.analyses.brief import preflight

    priors = preflight(args.model, args.priors, None, args.sources)  # bad input: exit 2 before PyMC loads
    with err.status("Loading PyMC…") as status:
        from forecast.analyses.score import score

        data = score(args.model, priors, args.sources, draws=args.draws, seed=args.seed,
                     session_options={"sampler": args.sampler, "tune": args.tune, "as_of": args.as_of},
                     progress=lambda msg: status.update(f"score: {msg}…"))
    if args.png:
        from forecast.report.figures import png, reliability
        from forecast.spec.outputs import write_atomic

        write_atomic(args.png, png(reliability(data)))
    if args.json:
        print(jsonio.dumps(data, indent=2))
    else:
        print_score(data)
        if args.png:
            out.print(f"wrote {args.png}", style="dim")
    return 0


def _total(t: dict, digits: int = 3) -> str:
    return f"{t['mean']:.{digits}f} ({t['lo']:.{digits}f} to {t['hi']:.{digits}f})"


def print_score(data: dict) -> None:
    """Per prior set: Brier and log scores with intervals, against the flat 50% forecaster and the model without
    its evidence; then the baseline's questions and its calibration table."""
    lvl = pct(data["interval"])
    t = Table(title=f"{data['model']}: {data['resolved']} of {data['questions']} questions resolved; mean scores "
                    f"(lower is better) with {lvl} bootstrap intervals over the questions", title_justify="left")
    for col in ("prior set", "Brier", "vs flat 50%", "vs without evidence", "log score", "log vs flat 50%"):
        t.add_column(col, justify="left" if col == "prior set" else "right")
    for ps in data["prior_sets"]:
        t.add_row(ps["priors"], _total(ps["brier"]), _total(ps["brier_vs_flat"]), _total(ps["brier_vs_no_evidence"]),
                  _total(ps["log"]), _total(ps["log_vs_flat"]))
    out.print(t)
    out.print(f"flat 50% forecaster: Brier {data['flat']['brier']:.3f}, log score {data['flat']['log']:.3f}. A "
              "negative difference means the model did better.", style="dim")
    base = data["prior_sets"][0]
    q = Table(title=f"{base['priors']}: each resolved question", title_justify="left")
    for col in ("question", "forecast", "without evidence", "outcome", "Brier", "log score"):
        q.add_column(col, justify="left" if col == "question" else "right")
    for d in base["questions"]:
        q.add_row(f"{d['id']}: {d['text']}", pct(d["forecast"]), pct(d["without_evidence"]),
                  "yes" if d["outcome"] else "no", f"{d['brier']:.3f}", f"{d['log']:.3f}")
    out.print(q)
    c = Table(title=f"{base['priors']}: calibration (forecasts grouped by ICD 203 band)", title_justify="left")
    for col in ("band", "forecasts", "mean forecast", "happened"):
        c.add_column(col, justify="left" if col == "band" else "right")
    for row in base["calibration"]:
        c.add_row(f"{row['word']} ({pct(row['band'][0])}–{pct(row['band'][1])})", str(row["n"]), pct(row["forecast"]),
                  pct(row["happened"]))
    out.print(c)
    m = Table(title=f"{base['priors']}: the worst misses and the inputs that move them most", title_justify="left")
    for col in ("question", "forecast", "outcome", "Brier", "input", "low → high"):
        m.add_column(col, justify="left" if col in ("question", "input") else "right")
    for d in data["misses"]:
        for i, b in enumerate(d["drivers"] or [{}]):
            first = i == 0
            m.add_row(f"{d['id']}: {d['text']}" if first else "", pct(d["forecast"]) if first else "",
                      ("yes" if d["outcome"] else "no") if first else "", f"{d['brier']:.3f}" if first else "",
                      b.get("label", "(no input reaches it)"),
                      f"{pct(b['low'])} → {pct(b['high'])} ({b['low_text']} → {b['high_text']})" if b else "")
    out.print(m)
    for line in diagnostics_lines(data["diagnostics"]):
        out.print(line, style="yellow" if "warning" in line else "dim")


def flip_change(c: dict) -> str:
    """A flip's change in plain words."""
    kind, ident = c["kind"], c["id"]
    if kind == "credence":
        return f"{ident} believed at {c['to']:g} instead of {c['from']:g}"
    if kind == "strength":
        return f"{ident}'s strength '{c['to']}' instead of '{c['from']}'"
    if kind == "base":
        return f"the base rate of {ident} '{c['to']}' instead of '{c['from']}'"
    if kind == "reversed":
        return f"observation {ident} ({c['variable']}) the other way"
    return f"observation {ident} ({c['variable']}) left out"


def print_flips(data: dict, top: int) -> None:
    """Per question: its word now, then the least changes that move it, with what reproduces each."""
    for qid, q in data["questions"].items():
        t = Table(title=f"{qid}: {q['text']}  now {pct(q['probability']['mean'])}, {q['word']}",
                  title_justify="left")
        for col in ("change", "moves it to", "reproduce with", "note"):
            t.add_column(col)
        for f in q["flips"][:top]:
            c = f["change"]
            how = (" ".join(f"--set {shlex.quote(f'{k}={v}')}" for k, v in c["set"].items()) if c.get("set")
                   else " ".join(f"--observe {k}={v}" for k, v in c["observe"].items()) if c.get("observe")
                   else "(no flag: leave it out of the model file)")
            note = ("" if f["firm"] else f"! Pareto k {f['pareto_k']:.2f}: indicative" if not f["trusted"]
                    else "near the band's edge (within 2 Monte Carlo errors)")
            t.add_row(flip_change(c), f"{f['to']} ({pct(f['probability']['mean'])})", how, note)
        if not q["flips"]:
            t.add_row(f"no single change flips it ({q['candidates']} tried)", "", "", "")
        out.print(t)
    ev = data["evaluations"]
    out.print(f"{ev['total']} evaluations, each a reweighting or a re-simulation of the baseline's draws (same seed); "
              f"a credence's edge found on the 0.01 grid (one step less keeps the word)", style="dim")


def ensure_dir(path: str) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


__all__ = ["check", "run_command", "whatif_command", "print_run", "print_whatif", "sys"]
