"""The figures of ``make bench`` (issue 2), one per function; each runs in its own process.

``python benchmarks/figures.py NAME MODELS_DIR OUT.json [key=value ...]`` runs one
figure against the synthetic models written by :func:`write_models` into
``MODELS_DIR``, prints what it measures as it goes and writes its numbers to
``OUT.json``. :mod:`benchmarks.run` starts every figure this way, with a time
limit each, so that one slow compile cannot stall the whole benchmark.

Figures (20 variables / 40 claims unless said):

* ``a``: forward simulation, T draws x R worlds, compiled engine (warm) against
  :mod:`benchmarks.numpy_reference` doing the same T x R work; compile time apart;
  per-variable means compared.
* ``b-numpyro`` / ``b-pymc`` / ``b-nutpie``: posterior given 3 observed events
  with each sampler: wall time, sampling time (``posterior.attrs["sampling_time"]``;
  for NumPyro it includes XLA's compile, which happens inside its run),
  set-up (the rest), min bulk ESS and ESS per wall second.
* ``c``: 20 prior settings (one claim's credence each) run one after the
  other in one :class:`~forecast.analyses.session.Session`, against one cold
  and one warm run; the engine's ``compiles`` counter must not grow.
* ``d-small`` / ``d-big``: warm forward simulation per draw, 20/40 and 200/400.
* ``e``: wall time of ``forecast report`` on the Hanoi model, cold caches then warm.
* ``f``: posterior wall time for 10, 20 and 40 latent events upstream of one observed event (sparse: each
  with at most 3 parents, among the five before it), as ratios to the 10-event case, with the width of the
  elimination order (10 are enumerated, 20 and 40 summed out one at a time); a size the exact engine refuses
  is reported as refused, with the message ``forecast check`` gives.
* ``h``: ``forecast history`` on the Hanoi model, monthly from March 2019 to December 2021, in one process
  (``--workers 1``) and on a local Dask cluster of two worker processes: a first serial run fills a fresh XLA
  cache (timed apart), then the cluster and a second serial run, both warm; the ratio of their wall times, the
  distinct evidence sets (runs), and whether the datasets hold the same numbers.
* ``i``: ``forecast explore`` on Hanoi: from a control change to the updated numbers (``Workbench.evaluate``, warm),
  the median over ten prior changes (one claim's credence each) and ten interventions (``do``), and the time of a
  fresh-posterior fall-back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from synthetic import synthetic_spec, synthetic_toml  # noqa: E402

SMALL, BIG = (20, 40), (200, 400)
SEED = 0
OBSERVE = {"v11": 1, "v15": 0, "v19": 1}  # three events of the 20/40 model (ancestral set: 15 variables)


def model_path(models: Path, size: tuple[int, int]) -> Path:
    return Path(models) / f"synthetic_{size[0]}_{size[1]}.toml"


def write_models(models: Path) -> dict[str, Path]:
    """The two synthetic models (no evidence in the file: (b) passes it as ``observe``)."""
    Path(models).mkdir(parents=True, exist_ok=True)
    out = {}
    for size in (SMALL, BIG):
        p = model_path(models, size)
        p.write_text(synthetic_toml(*size, seed=SEED))
        out[f"{size[0]}/{size[1]}"] = p
    kinds = {v["id"]: v["kind"] for v in synthetic_spec(*SMALL, seed=SEED)["variables"]}
    assert all(kinds[v] == "event" for v in OBSERVE), "OBSERVE must name events of the 20/40 model"
    return out


def say(*parts) -> None:
    print(*parts, flush=True)


def best_of(n: int, fn) -> tuple[float, object]:
    """Minimum wall time of ``n`` calls of ``fn`` and the last result."""
    best, res = float("inf"), None
    for _ in range(n):
        t = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t)
    return best, res


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    res = fn()
    return time.perf_counter() - t, res


# ---------------------------------------------------------------- (a)
def fig_a(models: Path, draws: int = 100_000, reps: int = 2) -> dict:
    import numpy_reference as ref

    from forecast.analyses.session import Session
    from forecast.compile import Numbers

    s = Session(model_path(models, SMALL), draws=draws, seed=SEED)
    r = s.baseline
    t_cold, _ = timed(s.run)
    t_run, res = timed(s.run)
    numbers = Numbers.of(r)
    eng = s.engine(numbers, r)
    R = eng.R

    def engine_call():
        return eng.simulate(eng.sample_theta(numbers, SEED), seed=SEED + 1)

    t_eng, out = best_of(reps, engine_call)
    say(f"  engine  T={draws} x R={R}: first run {t_cold:.2f} s (with compile), warm run {t_run:.2f} s, "
        f"warm sample_theta+simulate {t_eng:.2f} s; compiles={res.diagnostics['compiles']}")
    t_np, ref_out = best_of(reps, lambda: ref.forward(r, numbers, draws, R, seed=SEED))
    say(f"  numpy   T={draws} x R={R}: {t_np:.2f} s")
    diffs, zs = [], []
    for v in r.order:
        a, b = np.asarray(out[v], float), np.asarray(ref_out[v], float)
        d = abs(a.mean() - b.mean())
        se = np.sqrt(a.var() / len(a) + b.var() / len(b)) or 1e-12
        diffs.append(d)
        zs.append(d / se)
    worst = r.order[int(np.argmax(zs))]
    say(f"  means: max |engine - numpy| = {max(diffs):.4f} over {len(diffs)} variables; "
        f"largest in standard errors {max(zs):.1f} ({worst})")
    return {
        "draws": draws, "reps_per_draw": R, "cold_run_s": t_cold, "warm_run_s": t_run, "warm_engine_s": t_eng,
        "numpy_s": t_np, "compile_s": t_cold - t_run, "ratio": t_eng / t_np, "ratio_session": t_run / t_np,
        "max_abs_mean_diff": max(diffs), "max_z": max(zs), "compiles": res.diagnostics["compiles"],
    }


# ---------------------------------------------------------------- (b)
def fig_b(models: Path, sampler: str, draws: int = 1000, tune: int = 1000, chains: int = 2) -> dict:
    from forecast.analyses.posterior import sample_posterior
    from forecast.analyses.session import Session
    from forecast.compile import Numbers

    if sampler == "numpyro":  # an empty XLA program cache: its compile is always measured (see --compiledir for C)
        os.environ["FORECAST_CACHE"] = tempfile.mkdtemp(prefix="bench-b-")
    s = Session(model_path(models, SMALL), draws=draws, seed=SEED, sampler=sampler, chains=chains, tune=tune)
    r = s.resolve(observe=OBSERVE)
    numbers = Numbers.of(r)
    say(f"  {sampler}: {chains} chains x {-(-draws // chains)} draws after {tune} tuning steps; "
        f"observed {', '.join(f'{k}={v}' for k, v in OBSERVE.items())}")
    try:
        t_total, post = timed(lambda: sample_posterior(
            r, numbers, draws, seed=SEED, chains=chains, tune=tune, sampler=sampler))
    except NotImplementedError as e:
        say(f"  {sampler}: n/a ({e})")
        return {"sampler": sampler, "na": str(e)}
    d = post.diagnostics
    t_sample = float(post.idata.posterior.attrs.get("sampling_time", float("nan"))) if post.idata else float("nan")
    ess = float(d.get("ess_bulk_min", float("nan")))
    out = {
        "sampler": sampler, "draws": draws, "tune": tune, "chains": chains, "total_s": t_total,
        "sampling_s": t_sample, "compile_s": t_total - t_sample, "ess_bulk_min": ess,
        "sampling_label": "XLA compile + sampling" if sampler == "numpyro" else "sampling",
        "ess_tail_min": d.get("ess_tail_min"), "r_hat_max": d.get("r_hat_max"),
        "divergences": d.get("divergences"), "ess_per_s_sampling": ess / t_sample, "ess_per_s_total": ess / t_total,
        "warnings": d.get("warnings", []),
    }
    say(f"  {sampler}: total {t_total:.1f} s = set-up {out['compile_s']:.1f} s + {out['sampling_label']} "
        f"{t_sample:.1f} s; ESS bulk min {ess:.0f} -> {out['ess_per_s_sampling']:.1f}/s of sampling, "
        f"{out['ess_per_s_total']:.2f}/s of wall time; R-hat max {out['r_hat_max']:.3f}, "
        f"{out['divergences']} divergences")
    return out


# ---------------------------------------------------------------- (c)
def fig_c(models: Path, draws: int = 2000, settings: int = 20) -> dict:
    from forecast.analyses.session import Session

    s = Session(model_path(models, SMALL), draws=draws, seed=SEED)
    t_cold, base = timed(s.run)
    t_warm, res = best_of(2, s.run)
    compiles0 = res.diagnostics["compiles"]
    claims = [c for c in s.baseline.claims if 0.0 < s.baseline.claims[c].credence < 1.0]
    values = np.linspace(0.05, 0.95, settings)
    changed = 0
    t0 = time.perf_counter()
    for i, x in enumerate(values):
        c = claims[i % len(claims)]
        r = s.resolve(sets={f"claims.{c}.credence": f"{x:.3f}"})
        res = s.run(r)
        eff = s.baseline.claims[c].effect
        changed += not np.allclose(res.mean(eff), base.mean(eff))
    t_sweep = time.perf_counter() - t0
    compiles1 = res.diagnostics["compiles"]
    say(f"  T={draws}: first run {t_cold:.2f} s (with compile), warm run {t_warm:.3f} s; "
        f"{settings} settings {t_sweep:.2f} s ({t_sweep / settings:.3f} s each); "
        f"compiles {compiles0} -> {compiles1}; {changed}/{settings} settings moved their claim's effect")
    return {
        "draws": draws, "settings": settings, "cold_s": t_cold, "warm_s": t_warm, "sweep_s": t_sweep,
        "vs_cold": t_sweep / t_cold, "vs_warm": t_sweep / (settings * t_warm),
        "compiles_before": compiles0, "compiles_after": compiles1, "changed": changed,
    }


# ---------------------------------------------------------------- (d)
def fig_d(models: Path, size: str, draws: int = 10_000, reps: int = 3) -> dict:
    from forecast.analyses.session import Session
    from forecast.compile import Numbers

    n = SMALL if size == "small" else BIG
    s = Session(model_path(models, n), draws=draws, seed=SEED)
    r = s.baseline
    numbers = Numbers.of(r)
    t_cold, _ = timed(s.run)
    eng = s.engine(numbers, r)
    t_warm, _ = best_of(reps, lambda: eng.simulate(eng.sample_theta(numbers, SEED), seed=SEED + 1))
    say(f"  {n[0]}/{n[1]}: first run {t_cold:.1f} s (with compile); warm sample_theta+simulate "
        f"T={draws} x R={eng.R}: {t_warm:.3f} s = {1e6 * t_warm / draws:.1f} us per draw")
    return {"size": f"{n[0]}/{n[1]}", "draws": draws, "cold_s": t_cold, "warm_s": t_warm, "per_draw_s": t_warm / draws}


# ---------------------------------------------------------------- (e)
def fig_e(models: Path, draws: int = 1000, model: str = "models/hanoi_2019.toml", sources: str = "../shared/seeds",
          timeout: float = 1800) -> dict:
    exe = str(Path(sys.executable).parent / "forecast")
    if subprocess.run([exe, "report", "--help"], capture_output=True, cwd=ROOT).returncode != 0:
        say("  skipped: `forecast report` does not exist yet")
        return {"skipped": "forecast report not available"}
    times = {}
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        env = dict(os.environ, FORECAST_CACHE=f"{tmp}/cache", PYTENSOR_FLAGS=f"compiledir={tmp}/pytensor")
        cmd = [exe, "report", model, "--draws", str(draws), "-o", f"{tmp}/brief.pdf"]
        if (ROOT / sources).is_dir():
            cmd[3:3] = ["--sources", sources]
        for label in ("cold", "warm"):
            t = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)
            times[label] = time.perf_counter() - t
            if p.returncode:
                say(f"  {label}: exit {p.returncode}: {p.stderr.strip().splitlines()[-1:]}")
                return {"error": p.stderr[-2000:], **times}
            say(f"  {label} caches: {times[label]:.1f} s")
    return {"cmd": " ".join(cmd[1:]), "cold_s": times["cold"], "warm_s": times["warm"]}


# ---------------------------------------------------------------- (f)
def latent_toml(k: int, seed: int = 0) -> str:
    """``k`` latent events, each caused by the one before it and by up to two more among the five before it (at
    most 3 parents: a sparse graph whose tree-width stays small as ``k`` grows), all upstream of one observed
    event ``obs`` (caused by the last three)."""
    rng = np.random.default_rng(seed)
    out = [f'[model]\nid = "latent_{k}"\ntitle = "{k} latent events upstream of one observation"\n'
           'as_of = 2024-01-01\n\n[[sources]]\nid = "s"\ntitle = "Source s"\nreliability = "B"\ncredibility = 2\n'
           'file = "s.txt"\n']
    names = [f"e{i}" for i in range(k)] + ["obs"]
    for v in names:
        out.append(f'[[variables]]\nid = "{v}"\nlabel = "Event {v}"\nkind = "event"\nbase = "roughly even chance"\n')
    n = 0
    for i, v in enumerate(names[1:], start=1):
        window = np.arange(max(0, i - 5), i)
        parents = {i - 1} | set(rng.choice(window, size=min(len(window), 2), replace=False).tolist())
        for j in sorted(parents)[-3:]:
            out.append(f'[[claims]]\nid = "c{n}"\ncause = "{names[j]}"\neffect = "{v}"\n'
                       f'direction = "{rng.choice(["raises", "lowers"])}"\nstrength = "moderate"\ncredence = 1.0\n'
                       f'source = "s"\nlocator = "1"\nparaphrase = "{names[j]} moves {v}."\n')
            n += 1
    out.append('[[evidence]]\nid = "o"\nvariable = "obs"\nvalue = true\nsource = "s"\ndate = 2024-01-01\n')
    return "\n".join(out)


def elimination_width(r) -> tuple[int, str]:
    """The width of the order the engine sums ``r``'s latent events out in, and whether it enumerates them."""
    from forecast.spec.limits import MAX_LATENT, ancestral_set, elimination_plan, latent_events

    nodes = ancestral_set(r, {o.variable for o in r.evidence})
    latent = latent_events(r, nodes)
    _, p = elimination_plan(r, nodes, latent)
    return p.width, ("enumerated" if len(latent) <= MAX_LATENT else "eliminated")


def fig_f(models: Path, draws: int = 500, tune: int = 500, sizes: str = "10,20,40") -> dict:
    from forecast.analyses.session import Session
    from forecast.check import check

    res = {}
    warm = Path(models) / "latent_warm.toml"  # imports, JAX's start and its first compile: not any size's cost
    warm.write_text(latent_toml(4))
    Session(warm, draws=20, tune=20, seed=0).run()
    for k in (int(x) for x in str(sizes).split(",")):
        path = Path(models) / f"latent_{k}.toml"
        path.write_text(latent_toml(k))
        rep = check(path)
        if not rep.ok:
            say(f"  {k} latent events: refused: {rep.errors[0].split(': ', 2)[-1]}")
            res[str(k)] = {"refused": rep.errors[0]}
            continue
        t, out = timed(lambda: Session(path, draws=draws, tune=tune, seed=0).run())  # noqa: B023
        d = out.diagnostics
        width, how = elimination_width(out.resolved)
        say(f"  {k} latent events: posterior and run {t:.1f} s ({how}, width {width}; R-hat "
            f"{d['r_hat_max']:.3f}, ESS {d['ess_bulk_min']:.0f})")
        res[str(k)] = {"wall_s": t, "width": width, "method": how}
    base = res.get("10", {}).get("wall_s")
    for r in res.values():
        if base and "wall_s" in r:
            r["ratio"] = r["wall_s"] / base
    return {"draws": draws, "tune": tune, "sizes": res}


# ---------------------------------------------------------------- (g)
def fig_g(models: Path, draws: int = 1000, model: str = "models/hanoi_2019.toml") -> dict:  # noqa: ARG001
    """Signposts (and flips, where they exist) on Hanoi for every question, warm (the second call in a session
    whose baseline is sampled), beside one run: the baseline's posterior and worlds, the first in the process."""
    from forecast.analyses.session import Session
    from forecast.analyses.signposts import signposts

    path = ROOT / model
    if not path.is_file():
        say(f"  skipped: no {model}")
        return {"skipped": f"no {model}"}
    s = Session(path, draws=draws, seed=SEED)
    t_run, base = timed(s.run)
    t_cold, _ = timed(lambda: signposts(s, base))
    t_warm, data = timed(lambda: signposts(s, base))
    n = sum(len(q["indicators"]) for q in data["questions"].values())
    say(f"  one run (posterior, compile, worlds): {t_run:.1f} s; signposts for {len(data['questions'])} questions "
        f"x {len(data['overall'])} indicators: first {t_cold:.1f} s, warm {t_warm:.1f} s = {t_warm / t_run:.2f}x "
        f"the run")
    out = {"draws": draws, "run_s": t_run, "signposts_cold_s": t_cold, "signposts_warm_s": t_warm,
           "ratio": t_warm / t_run, "questions": len(data["questions"]), "pairs": n}
    try:
        from forecast.analyses.flips import flips
    except ImportError:
        return out
    t_fcold, _ = timed(lambda: flips(s, base))
    t_fwarm, got = timed(lambda: flips(s, base))
    answered = sum(bool(q["flips"]) or q["none"] for q in got["questions"].values())
    say(f"  flips for every question: first {t_fcold:.1f} s, warm {t_fwarm:.1f} s = {t_fwarm / t_run:.2f}x the run; "
        f"{answered} of {len(got['questions'])} questions with a flip or 'none'")
    out.update(flips_cold_s=t_fcold, flips_warm_s=t_fwarm, flips_ratio=t_fwarm / t_run, flips_answered=answered,
               flips_questions=len(got["questions"]))
    return out


# ---------------------------------------------------------------- (h)
HISTORY_NUMBERS = ("probability", "mean", "lo", "hi", "brier", "r_hat_max", "ess_bulk_min", "divergences")


def fig_h(models: Path, draws: int = 1000, tune: int | None = None, model: str = "models/hanoi_2019.toml",  # noqa: ARG001
          start: str = "2019-03-31", end: str = "2021-12-31", every: str = "1M", workers: int = 2,
          timeout: float = 3600) -> dict:
    """``forecast history`` serial against a LocalCluster of ``workers`` processes, each measured end to end (the
    command's wall time: start-up, imports, the cluster, the runs, the files), in one run of the figure. A fresh
    ``$FORECAST_CACHE``: the first serial run compiles every evidence set's XLA program (cold, as a first history
    does); the cluster and a second serial run then find them in the cache (warm), and the ratio compares those
    two, so that neither side profits from the other's compiles."""
    import shutil

    from forecast.analyses.history_data import load
    from forecast.spec.fit import cache_dir

    path = ROOT / model
    if not path.is_file():
        say(f"  skipped: no {model}")
        return {"skipped": f"no {model}"}
    exe = str(Path(sys.executable).parent / "forecast")
    base = [exe, "history", model, "--from", start, "--to", end, "--every", every, "--draws", str(draws),
            "--seed", str(SEED), *(["--tune", str(tune)] if tune else [])]
    times, docs, data = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        cache = Path(tmp) / "cache"
        cache.mkdir()
        fits = cache_dir() / "maxent_beta.json"
        if fits.is_file():  # the band fits (not what is measured here) as the user has them
            shutil.copy(fits, cache / fits.name)
        env = dict(os.environ, FORECAST_CACHE=str(cache))
        for label, n in (("cold serial", 1), ("cluster", workers), ("serial", 1)):
            out = f"{tmp}/{label.replace(' ', '_')}"
            cmd = [*base, "--workers", str(n), "-o", f"{out}.nc", "--charts", out, "--json"]
            t = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)
            times[label] = time.perf_counter() - t
            if p.returncode:
                say(f"  {label}: exit {p.returncode}: {p.stderr.strip().splitlines()[-1:]}")
                return {"error": p.stderr[-2000:], **times}
            docs[label] = json.loads(p.stdout)
            data[label] = load(f"{out}.nc")
            say(f"  {label} ({docs[label]['where']}): {times[label]:.1f} s")
    identical = all(np.array_equal(data["serial"][v].values, data[other][v].values, equal_nan=True)
                    for v in HISTORY_NUMBERS for other in ("cluster", "cold serial"))
    doc = docs["serial"]
    ratio = times["serial"] / times["cluster"]
    say(f"  {doc['dates']} dates, {doc['runs']} distinct evidence sets (runs), {draws} draws: serial "
        f"{times['serial']:.1f} s, {workers} workers {times['cluster']:.1f} s = {ratio:.2f}x faster (warm XLA cache; "
        f"the first serial run, compiling: {times['cold serial']:.1f} s); the same numbers: "
        f"{'yes' if identical else 'NO'}")
    return {"cmd": " ".join(base[1:]), "draws": draws, "dates": doc["dates"], "runs": doc["runs"],
            "workers": workers, "serial_s": times["serial"], "cluster_s": times["cluster"],
            "cold_serial_s": times["cold serial"], "ratio": ratio, "identical": identical}


# ---------------------------------------------------------------- (i)
def fig_i(models: Path, draws: int = 1000, model: str = "models/hanoi_2019.toml", sources: str = "../shared/seeds",  # noqa: ARG001
          changes: int = 10) -> dict:
    """``forecast explore``'s latency on Hanoi: from a control change to the updated numbers
    (:meth:`Workbench.evaluate`, the baseline sampled and the compiled functions warm), the median over ``changes``
    prior changes (one claim's credence each, claims in model order, each set to half or double its odds) and
    ``changes`` interventions (``do`` of one event variable each, true or false in turn), each on a fresh setting;
    prior changes whose reweighting could not carry them (Pareto k above the limit: a fresh posterior) are timed
    apart, and one fresh-posterior fall-back is forced (every claim's credence at 0.05) and timed."""
    from forecast.explore.state import Workbench

    path = ROOT / model
    if not path.is_file():
        say(f"  skipped: no {model}")
        return {"skipped": f"no {model}"}
    src = ROOT / sources
    t0 = time.perf_counter()
    wb = Workbench(path, sources=src if src.is_dir() else None, draws=draws, seed=SEED)
    c = wb.controls()
    t_setup = time.perf_counter() - t0
    t_base, _ = timed(wb.baseline)  # the baseline posterior and the simulator compiled
    say(f"  set-up {t_setup:.1f} s, baseline (posterior, compile, worlds) {t_base:.1f} s, {draws} draws")
    wb.evaluate(sets={f"claims.{c['claims'][-1]['id']}.credence": "0.5"})  # the reweighting path once
    prior, fresh = [], []
    for cl in [x for x in c["claims"] if 0 < x["credence"] < 1][:changes]:
        p = float(cl["credence"])
        odds = p / (1 - p) * (2.0 if p < 0.5 else 0.5)
        t, view = timed(lambda cl=cl, v=odds / (1 + odds): wb.evaluate(sets={f"claims.{cl['id']}.credence":
                                                                             f"{v:.3f}"}))
        (fresh if view["fresh"] else prior).append(t)
        say(f"    {cl['id']}: credence {p:.2f} -> {odds / (1 + odds):.2f}: {t:.2f} s ({view['method']}, "
            f"Pareto k {view['pareto_k'] if view['pareto_k'] is None else round(view['pareto_k'], 2)})")
    events = [v["id"] for v in c["interventions"] if v["kind"] == "event"]
    acts = []
    for i, vid in enumerate(events[:changes]):
        t, view = timed(lambda vid=vid, i=i: wb.evaluate(do={vid: "true" if i % 2 == 0 else "false"}))
        acts.append(t)
        say(f"    do {vid}: {t:.2f} s ({view['method']})")
    again, _ = timed(lambda: wb.evaluate(do={events[0]: "true"}))  # a variable intervened on before
    forcing = [  # changes the baseline's draws cannot carry, tried until one falls back to a fresh posterior
        ("every credence 0.02", {f"claims.{x['id']}.credence": "0.02" for x in c["claims"]}),
        ("every base rate 'almost certain'", {f"variables.{v['id']}.base": "almost certain" for v in c["variables"]
                                              if v["kind"] == "event" and "almost certain" in v["base_words"]}),
        ("every strength 'strong'", {f"claims.{x['id']}.strength": "strong" for x in c["claims"]}),
    ]
    for what, sets in forcing:
        t_fresh, view = timed(lambda sets=sets: wb.evaluate(sets=sets))
        say(f"    {what}: {t_fresh:.1f} s ({view['method']}, Pareto k "
            f"{view['pareto_k'] if view['pareto_k'] is None else round(view['pareto_k'], 2)})")
        if view["fresh"]:
            break
    out = {"draws": draws, "setup_s": t_setup, "baseline_s": t_base, "prior_s": prior, "prior_fresh_s": fresh,
           "do_s": acts, "do_again_s": again, "forced_fresh_s": t_fresh, "forced_fresh": bool(view["fresh"]),
           "forced_by": what,
           "prior_median_s": float(np.median(prior)) if prior else None,
           "do_median_s": float(np.median(acts)) if acts else None}
    say(f"  prior changes: median {out['prior_median_s']:.2f} s over {len(prior)} (max {max(prior):.2f} s); "
        f"{len(fresh)} fell back to a fresh posterior ({', '.join(f'{t:.1f} s' for t in fresh) or 'none'})")
    say(f"  interventions: median {out['do_median_s']:.2f} s over {len(acts)} (max {max(acts):.2f} s; the first "
        f"intervened variable again {again:.2f} s)")
    say(f"  fresh-posterior fall-back ({what}): {t_fresh:.1f} s "
        f"({'a fresh posterior' if view['fresh'] else 'reweighted: no fall-back'}, {view['method_detail']})")
    return out


FIGURES = {
    "a": fig_a,
    "b-numpyro": lambda m, **kw: fig_b(m, "numpyro", **kw),
    "b-pymc": lambda m, **kw: fig_b(m, "pymc", **kw),
    "b-nutpie": lambda m, **kw: fig_b(m, "nutpie", **kw),
    "c": fig_c,
    "d-small": lambda m, **kw: fig_d(m, "small", **kw),
    "d-big": lambda m, **kw: fig_d(m, "big", **kw),
    "e": fig_e,
    "f": fig_f,
    "g": fig_g,
    "h": fig_h,
    "i": fig_i,
}


def _value(s: str):
    for cast in (int, float):
        try:
            return cast(s)
        except ValueError:
            pass
    return s


def main(argv: list[str]) -> int:
    name, models, out = argv[:3]
    kwargs = dict((k, _value(v)) for k, v in (a.split("=", 1) for a in argv[3:]))
    import logging
    import warnings

    logging.getLogger("pymc").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    result = FIGURES[name](Path(models), **kwargs)
    Path(out).write_text(json.dumps(result, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
