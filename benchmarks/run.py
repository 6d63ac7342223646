"""``make bench``: the performance figures of issue 2, then a table (figure, measured, target, pass/fail).

Usage::

    .venv/bin/python benchmarks/run.py [--only a,b,c,d,e] [--quick] [--report] [--budget SECONDS]
                                       [--models DIR] [--compiledir DIR] [--json FILE]

Each figure (see :mod:`benchmarks.figures`) runs in a fresh process with its
own time limit, taken from what is left of ``--budget`` (default 570 s, so
that ``make bench`` ends within 10 minutes even when a compile hangs); a
figure that runs out of time is reported as such. The synthetic models
(20 variables / 40 claims and 200 / 400) are written to a temporary folder
(``--models DIR`` keeps them). PyTensor compiles into its usual cache unless
``--compiledir`` names another (an empty one measures cold compiles).

``--report`` adds figure (e), the wall time of ``forecast report`` on the
Hanoi model with cold then warm caches (minutes; not part of the budget).
``--quick`` uses fewer draws everywhere (a smoke test of the benchmark itself).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from figures import write_models  # noqa: E402
from table import Row, print_table, rows_for  # noqa: E402

# (name, share of the budget, keyword arguments, quick keyword arguments)
PLAN = [  # the quick forward figures first; the samplers, the slow part, share what is left
    ("a", 0.08, {"draws": 100_000}, {"draws": 10_000}),
    ("c", 0.04, {"draws": 2000}, {"draws": 500, "settings": 5}),
    ("d-small", 0.04, {"draws": 10_000}, {"draws": 2000}),
    ("d-big", 0.08, {"draws": 10_000}, {"draws": 2000}),
    ("b-numpyro", 0.16, {"draws": 1000, "tune": 1000}, {"draws": 200, "tune": 200}),
    ("b-pymc", 0.30, {"draws": 1000, "tune": 1000}, {"draws": 200, "tune": 200}),
    ("b-nutpie", 0.30, {"draws": 1000, "tune": 1000}, {"draws": 200, "tune": 200}),
]
REPORT = ("e", None, {"draws": 1000}, {"draws": 200})  # as `make demo` runs it
LATENT = ("f", None, {"draws": 500, "tune": 500}, {"draws": 100, "tune": 100})  # 10, 20, 40 latent events
SIGNPOSTS = ("g", None, {"draws": 1000}, {"draws": 200})  # Hanoi: signposts and flips, warm, beside one run
HISTORY = ("h", None, {"draws": 1000}, {"draws": 200, "tune": 200})  # Hanoi history: serial vs 2 Dask workers
EXPLORE = ("i", None, {"draws": 1000}, {"draws": 200, "changes": 3})  # Hanoi: explore's latency per change


def run_figure(name: str, kwargs: dict, models: Path, limit: float | None, env: dict) -> dict:
    """One figure in its own process: its lines are passed through as they come, its numbers returned
    (or why there are none: ``timeout``, ``error``)."""
    fd, tmp = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    out = Path(tmp)
    cmd = [sys.executable, str(HERE / "figures.py"), name, str(models), str(out)]
    cmd += [f"{k}={v}" for k, v in kwargs.items()]
    t = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True)
        reader = threading.Thread(target=lambda: [print(ln, end="", flush=True) for ln in proc.stdout], daemon=True)
        reader.start()
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its process group: compiler children too
            proc.wait()
            out.unlink(missing_ok=True)
            return {"timeout": limit, "wall_s": time.perf_counter() - t}
        reader.join(5)
        err.seek(0)
        stderr = err.read()
    res = {"wall_s": time.perf_counter() - t}
    if proc.returncode or not out.stat().st_size:
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        res["error"] = (lines[-1] if lines else f"exit code {proc.returncode}")[:300]
    else:
        res.update(json.loads(out.read_text()))
    out.unlink(missing_ok=True)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="comma-separated figures: a, b, c, d, e, f, g, h, i (default: a-d, f-i)")
    ap.add_argument("--quick", action="store_true", help="few draws: check that the benchmark runs")
    ap.add_argument("--report", action="store_true", help="also (e): forecast report wall time, cold and warm")
    ap.add_argument("--budget", type=float, default=570.0, help="seconds for figures a-d (default 570)")
    ap.add_argument("--models", help="write the synthetic models here (kept) instead of a temporary folder")
    ap.add_argument("--compiledir", help="PyTensor compile cache for the figures (default: PyTensor's own)")
    ap.add_argument("--json", help="also write every measured number to this file")
    args = ap.parse_args(argv)

    wanted = set((args.only or "a,b,c,d,f,g,h,i" + (",e" if args.report else "")).split(","))
    plan = [p for p in PLAN if p[0].split("-")[0] in wanted]
    if "f" in wanted:
        plan.append(LATENT)
    if "g" in wanted:
        plan.append(SIGNPOSTS)
    if "h" in wanted:
        plan.append(HISTORY)
    if "i" in wanted:
        plan.append(EXPLORE)
    if "e" in wanted:
        plan.append(REPORT)
    env = dict(os.environ)
    if args.compiledir:
        env["PYTENSOR_FLAGS"] = ",".join(filter(None, [env.get("PYTENSOR_FLAGS"), f"compiledir={args.compiledir}"]))

    with tempfile.TemporaryDirectory(prefix="forecast-bench-") as tmp:
        models = Path(args.models or tmp)
        paths = write_models(models)
        print(f"synthetic models: {', '.join(f'{k} -> {v}' for k, v in paths.items())}", flush=True)
        results: dict[str, dict] = {}
        start = time.perf_counter()
        for i, (name, share, kwargs, quick) in enumerate(plan):
            left = args.budget - (time.perf_counter() - start)
            shares_left = sum(p[1] for p in plan[i:] if p[1])
            limit = None if share is None else left * share / shares_left  # unused time passes on
            print(f"\n({name})" + ("" if limit is None else f" [time limit {limit:.0f} s]"), flush=True)
            if limit is not None and limit < 5:
                results[name] = {"timeout": 0.0, "skipped": "not run: the time budget is used up"}
                print("  skipped: the time budget is used up", flush=True)
                continue
            r = results[name] = run_figure(name, quick if args.quick else kwargs, models, limit, env)
            if "timeout" in r:
                print(f"  stopped at the time limit ({r['timeout']:.0f} s)", flush=True)
            elif "error" in r:
                print(f"  failed: {r['error']}", flush=True)
        total = time.perf_counter() - start
    rows: list[Row] = rows_for(results)
    print()
    print_table(rows, f"forecast benchmarks{' (quick)' if args.quick else ''}: {total:.0f} s in all")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "rows": [r._asdict() for r in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
