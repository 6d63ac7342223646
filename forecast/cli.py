"""The ``forecast`` command: a thin shell over the Python API.

Exit codes: 0 success, 2 bad input (every problem printed as ``FILE: entry: message``,
no traceback, nothing written).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from forecast.spec import jsonio, limits
from forecast.spec.defaults import DEFAULTS
from forecast.spec.errors import Problem, SpecError
from forecast.spec.limits import settings_problems
from forecast.spec.priorsets import parse_value


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out, bad = {}, []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            bad.append(Problem(flag, item, "expected KEY=VALUE"))
        else:
            out[key.strip()] = value.strip()
    if bad:
        raise SpecError(bad)
    return out


def _assign(items: list[str], flag: str) -> dict[str, float]:
    out = {}
    for key, value in _pairs(items, flag).items():
        v = parse_value(value)
        if isinstance(v, bool) or isinstance(v, int | float):
            out[key] = float(v)
        else:
            raise SpecError([Problem(flag, key, f"value {value!r} is not true/false or a number")])
    return out


def _common(p: argparse.ArgumentParser, priors_help: str = "prior set (path or name under priors/)") -> None:
    p.add_argument("model", help="model file (path or name under models/)")
    p.add_argument("--priors", help=priors_help)
    p.add_argument("--sources", help="folder with the source documents' text")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a prior, e.g. claims.c1.credence=0.3")


DRAWS, SEED, SAMPLER, TUNE = (DEFAULTS[k] for k in ("draws", "seed", "sampler", "tune"))  # the API's too


def _setting(name: str):
    """An argparse type: a whole number within the range :func:`forecast.spec.limits.settings_problems` allows
    (argparse answers a bad one with the option's name, the reason and exit 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        problems = settings_problems(**{name: value})
        if problems:
            raise argparse.ArgumentTypeError(f"{text}: {problems[0].message}")
        return value
    parse.__name__ = name
    return parse


def _sampling(p: argparse.ArgumentParser) -> None:
    p.add_argument("--draws", type=_setting("draws"), default=DRAWS, help=f"parameter draws (default {DRAWS})")
    p.add_argument("--seed", type=_setting("seed"), default=SEED, help=f"random seed, 0 to 2**32-1 (default {SEED})")
    p.add_argument("--sampler", choices=["numpyro", "pymc", "nutpie"], default=SAMPLER,
                   help="NUTS for evidence: numpyro (JAX, default), pymc or nutpie")
    p.add_argument("--tune", type=_setting("tune"), default=TUNE,
                   help=f"NUTS tuning steps per chain, with evidence (default {TUNE})")
    p.add_argument("--as-of", type=_date, default=None, metavar="YYYY-MM-DD",
                   help="forecast as of this date: only the evidence dated on or before it")


def _date(text: str):
    """An argparse type: an ISO date (``--as-of``)."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from None


def _sim(p: argparse.ArgumentParser) -> None:
    p.add_argument("--observe", action="append", default=[], metavar="VAR=VALUE", help="extra evidence")
    p.add_argument("--do", action="append", default=[], metavar="VAR=VALUE", help="intervention (pm.do)")
    _sampling(p)
    p.add_argument("--out", help="write result.nc, manifest.json and summary.json here")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")


def _per_question(p: argparse.ArgumentParser, rows: str) -> None:
    """The arguments of a command that answers per question (signposts, flips)."""
    _common(p)
    _sampling(p)
    p.add_argument("--question", action="append", default=[], metavar="ID",
                   help="only this question (repeatable; default: every question)")
    p.add_argument("--top", type=_top, default=None, metavar="N",
                   help=f"{rows} printed per question (default 3, or 10 with --question)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="forecast", description="Scenario forecasting from analysts' causal claims.")
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="validate a model, its prior set and its sources")
    _common(c)
    c.add_argument("--json", action="store_true")
    r = sub.add_parser("run", help="forecast every variable and question")
    _common(r)
    _sim(r)
    r.add_argument("--stances", action="store_true",
                   help="also weigh every prior set in priors/MODEL/ by how well it predicted the evidence (Bayes "
                        "factors against this run's set) and average the forecasts by those weights")
    w = sub.add_parser("whatif", help="compare a what-if with the baseline (paired draws)")
    _common(w, "prior set of the what-if side, compared against the baseline's (--baseline-priors)")
    _sim(w)
    w.add_argument("--scenario", help="a named scenario from the model file")
    w.add_argument("--baseline-priors", help="prior set of the baseline (default: the model's baseline, "
                                             "priors/MODEL/baseline.toml, else the package defaults)")
    rp = sub.add_parser("report", help="write a typeset PDF analytic brief")
    rp.add_argument("model", help="model file (path or name under models/)")
    rp.add_argument("--priors", action="append", default=[], metavar="P",
                    help="prior set; the first is the baseline, others are compared as stances "
                         "(default: priors/MODEL/, baseline first)")
    rp.add_argument("--scenario", action="append", default=None, metavar="NAME",
                    help="named scenario for the what-if section (repeatable; default: all)")
    rp.add_argument("--sources", help="folder with the source documents' text (quotes the claims' spans)")
    _sampling(rp)
    rp.add_argument("--paper", choices=["a4", "us-letter"], default="a4")
    rp.add_argument("-o", "--output", required=True, metavar="FILE.pdf", help="where to write the PDF")
    rp.add_argument("--png", metavar="DIR", help="also write every page as PNG here (to check it by eye)")
    rp.add_argument("--no-evidence-impact", action="store_true",
                    help="skip leaving each observation out (the evidence log then lists the observations "
                         "without how much each moved the forecasts)")
    sp = sub.add_parser("signposts", help="what to watch: how much seeing each unobserved variable would move "
                                          "each question")
    _per_question(sp, "indicators")
    sp.add_argument("--no-fresh", action="store_true",
                    help="never sample a fresh posterior for a branch the draws cannot carry (flag it instead)")
    sp.add_argument("--json", action="store_true", help="print JSON instead of tables")
    fl = sub.add_parser("flips", help="what would change our mind: the smallest single change that moves each "
                                      "question's ICD 203 word")
    _per_question(fl, "flips")
    fl.add_argument("--json", action="store_true", help="print JSON instead of tables")
    sc = sub.add_parser("score", help="score the forecasts of the questions whose outcome is recorded")
    sc.add_argument("model", help="model file (path or name under models/)")
    sc.add_argument("--priors", action="append", default=[], metavar="P",
                    help="prior set (repeatable; default: every set in priors/MODEL/, baseline first)")
    sc.add_argument("--sources", help="folder with the source documents' text")
    _sampling(sc)
    sc.add_argument("--png", metavar="FILE.png", help="also write the reliability diagram here")
    sc.add_argument("--json", action="store_true", help="print JSON instead of tables")
    hi = sub.add_parser("history", help="the forecast of every question at each date, evidence entering as it "
                                        "was dated (runs on Dask)")
    _common(hi)
    hi.add_argument("--from", dest="start", type=_date, required=True, metavar="YYYY-MM-DD", help="first date")
    hi.add_argument("--to", dest="end", type=_date, required=True, metavar="YYYY-MM-DD", help="last date")
    hi.add_argument("--every", default="1M", metavar="STEP",
                    help="1M (default: months, at month ends when --from is one, else on --from's day), 1W, 2W, "
                         "1Q, 1Y, or Nd (days)")
    hi.add_argument("--draws", type=_setting("draws"), default=DRAWS, help=f"draws per date (default {DRAWS})")
    hi.add_argument("--seed", type=_setting("seed"), default=SEED, help=f"random seed (default {SEED})")
    hi.add_argument("--sampler", choices=["numpyro", "pymc", "nutpie"], default=SAMPLER, help="NUTS for evidence")
    hi.add_argument("--tune", type=_setting("tune"), default=TUNE, help=f"NUTS tuning steps (default {TUNE})")
    hi.add_argument("--scheduler", metavar="ADDRESS",
                    help="run on the Dask cluster at this address (e.g. tcp://127.0.0.1:8786); default: a local "
                         "cluster of worker processes")
    hi.add_argument("--workers", type=_top, default=None, metavar="N",
                    help="worker processes of the local cluster (default: the machine's cores); 1 runs in this "
                         "process")
    hi.add_argument("-o", "--output", metavar="FILE.nc",
                    help="the dataset (default reports/out/<model id>_history.nc)")
    hi.add_argument("--charts", metavar="DIR", help="fan charts, one PNG per question (default "
                                                    "reports/out/<model id>_history/)")
    hi.add_argument("--json", action="store_true", help="print JSON instead of tables")
    xp = sub.add_parser("explore", help="an interactive what-if workbench in the browser (a local web app)")
    xp.add_argument("model", help="model file (path or name under models/)")
    xp.add_argument("--priors", help="the baseline's prior set (path or name under priors/)")
    xp.add_argument("--sources", help="folder with the source documents' text")
    _sampling(xp)
    xp.add_argument("--host", default=None,
                    help="address to listen on (default 127.0.0.1; anything else serves the workbench to the "
                         "network, without a password)")
    xp.add_argument("--port", type=_port, default=5006, help="port to listen on (default 5006; 0: a free one)")
    ex = sub.add_parser("export", help="write the network as a discrete Bayesian network (BIF, XMLBIF, XDSL, UAI)")
    _common(ex)
    ex.add_argument("--format", required=True, choices=limits.EXPORT_FORMATS,
                    help="bif or xmlbif (pgmpy, pyAgrum: name an XMLBIF file *.bifxml for pyAgrum), xdsl (GeNIe's "
                         "own format; pgmpy and pyAgrum read it too), or uai")
    ex.add_argument("--at", type=_at, default="prior-mean", metavar="WHERE",
                    help="parameter values: prior-mean (default), posterior-mean, or draw:N (N from 0)")
    _sampling(ex)
    ex.add_argument("--bins", type=_bins, default=5, help="equal-width bins on (0, 1) per index (default 5)")
    ex.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write the network")
    return ap


def _at(text: str) -> str:
    """An argparse type for ``export --at`` (the rule: :func:`forecast.spec.limits.parse_at`)."""
    try:
        limits.parse_at(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"'{text}': {err}") from None
    return text.strip()


def _top(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: expected at least 1")
    return value


def _bins(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    low, high = limits.EXPORT_BINS
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text}: expected {low} to {high} bins")
    return value


def _port(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text}: expected a port from 0 to 65535")
    return value


def _explore(args) -> int:
    """``forecast explore``: the model, its sources and the address checked (exit 2) before PyMC loads, then the
    baseline posterior, then the page served until Ctrl+C (forecast.explore.app)."""
    from forecast.check import check
    from forecast.explore.app import address_problems, url
    from forecast.render import err

    host = args.host or "127.0.0.1"  # a non-local address only when asked for by name
    rep = check(args.model, args.priors, args.sources)
    for e in rep.errors:
        print(f"error: {e}", file=sys.stderr)
    problems = address_problems(host, args.port, args.host is not None)
    if problems:
        raise SpecError(problems)
    if not rep.ok:
        return 2
    if args.host is not None and host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]warning:[/] serving on {host}: anyone who can reach it can use the workbench (no "
                  "password)", markup=True, highlight=False)
    with err.status("Loading PyMC and sampling the baseline…"):
        from forecast.explore.app import serve

        server = serve(args.model, args.priors, args.sources, draws=args.draws, seed=args.seed, host=host,
                       port=args.port, allow_remote=args.host is not None, threaded=False,
                       session_options={"sampler": args.sampler, "tune": args.tune, "as_of": args.as_of})
    print(f"forecast explore: {url(host, server.port)} (Ctrl+C to stop)", flush=True)
    server.start()
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _report(args) -> int:
    """``forecast report``: analyses (forecast.analyses.brief) then typesetting (forecast.report)."""
    from forecast.analyses.brief import preflight
    from forecast.render import err

    priors = preflight(args.model, args.priors, args.scenario, args.sources)  # bad input: exit 2 before PyMC loads
    with err.status("Loading PyMC…") as status:
        from forecast.analyses.brief import collect
        from forecast.report import write_report

        data = collect(args.model, priors, args.scenario, args.sources, draws=args.draws, seed=args.seed,
                       evidence_impact=not args.no_evidence_impact,
                       progress=lambda msg: status.update(f"report: {msg}…"),
                       session_options={"sampler": args.sampler, "tune": args.tune, "as_of": args.as_of})
        status.update("report: typesetting…")
        layout: list[str] | None = [] if args.png else None  # with the pages at hand, check the page rules
        path = write_report(data, args.output, paper=args.paper, png_dir=args.png, problems=layout)
    for problem in layout or []:
        err.print(f"[yellow]layout:[/] {problem}", markup=True, highlight=False)
    print(f"wrote {path}")
    return 0


def _export(args) -> int:
    """``forecast export``: the network at the chosen parameters (forecast.analyses.export), written atomically;
    what is approximate and how to enter the evidence on stderr."""
    at = args.at
    try:  # before any work
        limits.parse_at(at, args.draws)
    except ValueError as err:
        raise SpecError([Problem("--at", at, str(err))]) from None
    from forecast.analyses.export import export, write

    exported = export(args.model, args.priors, args.sources, _pairs(args.set, "--set"), at=at, bins=args.bins,
                      draws=args.draws, seed=args.seed, sampler=args.sampler, tune=args.tune, as_of=args.as_of)
    path = write(exported, args.output, args.format)
    for note in exported.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {path}")
    return 0


def _outputs(args) -> None:
    """Every output path checked before any work (forecast.spec.outputs)."""
    from forecast.spec.outputs import RESULT_FILES, check_file, check_folder

    problems = []
    if getattr(args, "out", None) is not None:
        problems += check_folder(args.out, "--out", only=RESULT_FILES)
    if args.command == "export":
        problems += check_file(args.output, "-o")
    if args.command == "score" and args.png is not None:
        problems += check_file(args.png, "--png", ".png")
    if args.command == "report":
        problems += check_file(args.output, "-o", ".pdf")
        if args.png is not None:
            problems += check_folder(args.png, "--png")
    if problems:
        raise SpecError(problems)


def _terminate(signum, frame):  # noqa: ARG001
    """SIGTERM as an exception, so that every ``finally`` (temporary files, half-written outputs) runs."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)

    try:
        _outputs(args)  # before anything is written, the scratch folder included
        if args.command != "check":  # generated sources and build folders: ours, removed at exit
            from forecast.spec.scratch import use_private_tempdir

            use_private_tempdir()
        if args.command == "check":  # rich (render) only for the "ok" line: a failing check starts faster
            from forecast.check import check

            rep = check(args.model, args.priors, args.sources, _pairs(args.set, "--set"))
            if args.json:
                print(jsonio.dumps(rep.to_dict(), indent=2))
            elif rep.ok:
                from forecast import render

                render.check(rep, args.model)
            else:  # one unwrapped line per problem (rich would wrap them at the console width)
                for e in rep.errors:
                    print(f"error: {e}", file=sys.stderr)
                print(f"{len(rep.errors)} problem(s) found", file=sys.stderr)
            return 0 if rep.ok else 2
        if args.command == "report":
            return _report(args)
        if args.command == "export":
            return _export(args)
        if args.command == "explore":
            return _explore(args)
        from forecast import render

        if args.command == "run":
            return render.run_command(args, _pairs(args.set, "--set"), _assign(args.observe, "--observe"),
                                      _assign(args.do, "--do"))
        if args.command in ("signposts", "flips", "score", "history"):
            from forecast import render_analyses

            if args.command == "score":
                return render_analyses.score_command(args)
            if args.command == "history":
                return render_analyses.history_command(args, _pairs(args.set, "--set"))
            command = getattr(render_analyses, f"{args.command}_command")
            return command(args, _pairs(args.set, "--set"))
        if args.command == "whatif":
            return render.whatif_command(args, _pairs(args.set, "--set"), _assign(args.observe, "--observe"),
                                         _assign(args.do, "--do"))
    except SpecError as err:
        if args.command == "check" and args.json:  # e.g. a malformed --set: still answer in JSON
            print(jsonio.dumps({"ok": False, "errors": [str(p) for p in err.problems], "counts": {}}, indent=2))
            return 2
        for p in err.problems:
            print(f"error: {p}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
