"""Terminal output of the commands built on a run: signposts, flips, score and history (rich tables; the data come
from :mod:`forecast.analyses.signposts`, :mod:`forecast.analyses.flips`, :mod:`forecast.analyses.score` and
:mod:`forecast.analyses.history`)."""

from __future__ import annotations

import shlex
from pathlib import Path

from rich.table import Table

from forecast.analyses.summary import level, pct, share, shift  # the one rounding rule
from forecast.render import _session, _simulate, diagnostics_lines, err, out, warn_stderr
from forecast.report.text import flip_change  # one wording, the brief's and the table's
from forecast.spec import jsonio


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
    avg = data["prior_sets"][-1]
    if "weights" in avg:
        shares = ", ".join(f"{w['priors']} {pct(w['weight'])}" for w in avg["weights"])
        k = f"; Pareto k up to {avg['pareto_k']:.2f}" if avg["pareto_k"] is not None else ""
        out.print(f"stance-averaged: the prior sets' forecasts weighted by how well each predicted the evidence "
                  f"(equal prior odds): {shares}{k}" + ("" if avg["trusted"] else " (a weight leans on few draws: "
                                                        "indicative only)"), style="dim")
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


def history_command(args, sets) -> int:
    """``forecast history``: every input checked first (exit 2, nothing written), the runs on Dask with a progress
    bar, then the dataset and the fan charts written, and the tables (or the JSON document)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from forecast.analyses.history import history, preflight
    from forecast.analyses.history_data import document, fans, write
    from forecast.report.figures import fan_charts

    plan = preflight(args.model, args.priors, args.sources, sets, start=args.start, end=args.end, every=args.every,
                     scheduler=args.scheduler, workers=args.workers, output=args.output, charts=args.charts,
                     defaults=True)
    label = f"history: {len(plan.dates)} dates, {len(plan.groups)} runs"
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        job = bar.add_task(f"{label} (starting)…", total=len(plan.groups))

        def progress(done: int, total: int, where: str) -> None:
            bar.update(job, completed=done, total=total, description=f"{label} {where}")

        ds, info = history(plan, draws=args.draws, seed=args.seed, sampler=args.sampler, tune=args.tune,
                           scheduler=args.scheduler, workers=args.workers, progress=progress)
        bar.update(job, description=f"{label}: writing the dataset and the fan charts")
        path = write(ds, plan.output)
        charts = fan_charts(fans(ds), plan.charts)
    doc = document(ds, info, path, charts)
    if args.json:
        print(jsonio.dumps(doc, indent=2))
        for d in doc["per_date"]:
            for w in d["warnings"]:
                err.print(f"{d['date']}: warning: {w}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    else:
        print_history(doc)
    return 0


KEY_QUESTIONS = 3  # the questions printed per date (the most important first)


def _value(d: dict, kind: str) -> str:
    return level(d["mean"]) if kind == "level" else f"{pct(d['mean'])} {d['word']}"


def print_history(doc: dict) -> None:
    """Date rows for the key questions (with the evidence used, the run, the Brier score and sampler health), then
    every question's first, last, lowest and highest forecast, and where the files went."""
    qs = sorted(doc["questions"].items(), key=lambda kv: -kv[1]["importance"])[:KEY_QUESTIONS]
    t = Table(title=f"{doc['model']}: forecasts as of each date, {doc['from']} to {doc['to']} every {doc['every']} "
                    f"({doc['priors']}); {doc['runs']} runs for {doc['dates']} dates (dates with the same evidence "
                    "share a run; ev.: the evidence entries dated by then)", title_justify="left")
    for col in ("date", "ev.", "run", *(qid for qid, _ in qs)):
        t.add_column(col, justify="left" if col == "date" else "right")
    scored = doc["resolved"] > 0
    if scored:
        t.add_column("Brier", justify="right")
    t.add_column("R-hat ESS div.", justify="right")
    for j, d in enumerate(doc["per_date"]):
        health = ("forward" if d["r_hat_max"] != d["r_hat_max"]  # NaN: no evidence, nothing sampled
                  else f"{d['r_hat_max']:.3f} {d['ess_bulk_min']:.0f} {d['divergences']}")
        if d["warnings"]:
            health = f"[yellow]! {health}[/yellow]"
        row = [d["date"], str(d["evidence"]), str(d["run"] + 1),
               *(_value(q["dates"][j], q["kind"]) for _, q in qs)]
        if scored:
            row.append(f"{d['brier']:.3f}")
        t.add_row(*row, health)
    out.print(t)
    s = Table(title="Every question: first, last, lowest and highest forecast over the dates", title_justify="left")
    for col in ("question", "first", "last", "lowest", "highest", "outcome"):
        s.add_column(col, justify="left" if col == "question" else "right")
    for qid, q in doc["questions"].items():
        rows = q["dates"]
        fmt = (lambda x: level(x)) if q["kind"] == "level" else pct  # noqa: E731
        low = min(rows, key=lambda r: r["mean"])
        high = max(rows, key=lambda r: r["mean"])
        outcome = "–" if q["outcome"] is None else ("happened" if q["outcome"] else "did not happen")
        s.add_row(f"{qid}: {q['text']}", fmt(rows[0]["mean"]), fmt(rows[-1]["mean"]),
                  f"{fmt(low['mean'])} ({low['date']})", f"{fmt(high['mean'])} ({high['date']})", outcome)
    out.print(s)
    warned = sum(bool(d["warnings"]) for d in doc["per_date"])
    secs = f" in {doc['seconds']:.0f} s" if doc.get("seconds") is not None else ""
    out.print(f"{doc['runs']} runs {doc['where']}{secs}; compiled simulators reused in {doc['reused']} of them "
              f"(per worker process); {doc['draws']} draws each, seed {doc['seed']}.", style="dim")
    if warned:
        err.print(f"warning: the sampler warned on {warned} of {doc['dates']} dates (marked !; --json lists the "
                  "warnings)", style="yellow")
    if doc["output"]:
        out.print(f"wrote {doc['output']} and {len(doc['charts'])} fan charts in "
                  f"{Path(doc['charts'][0]).parent if doc['charts'] else '–'}", style="dim")
