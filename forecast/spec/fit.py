"""Fit bands ("likely", "30-60%") to Beta priors with PreliZ ``maxent``, cached on disk.

PreliZ takes seconds to import and its first fit compiles, so fitted bands are
kept in a small JSON cache (``$FORECAST_CACHE`` or ``~/.cache/forecast``); on one
machine a fit is deterministic, so the cache only saves time. The package ships
the fits of the ICD 203 bands and of every band the shipped models and prior
sets use (``maxent_beta.json`` beside this file, looked up first), so that a
first run on a new machine does not wait for PreliZ; ``python -m
forecast.spec.fit`` refits that table with PreliZ.

Fits agree across machines only to the optimiser's tolerance: PreliZ's
``maxent`` runs SLSQP, which pins alpha and beta to about 1e-4 relative, and
another CPU lands on other digits. So ``tests/test_fit.py`` does not compare
the table with a refit digit for digit; it checks the maxent properties of
each shipped fit instead: the Beta's mass inside the band is the requested
mass, and its entropy is not below that of a fresh maxent fit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from forecast.spec.outputs import write_atomic

TABLE = Path(__file__).with_name("maxent_beta.json")


def cache_dir() -> Path:
    return Path(os.environ.get("FORECAST_CACHE", Path.home() / ".cache" / "forecast"))


def _key(lo: float, hi: float, mass: float) -> str:
    return f"{lo:.6f}:{hi:.6f}:{mass:.6f}"


def _load_cache(path: Path) -> dict[str, list[float]]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def fit_beta(lo: float, hi: float, mass: float) -> tuple[float, float]:
    """Maximum-entropy Beta(alpha, beta) with ``mass`` inside ``[lo, hi]``."""
    import preliz as pz

    dist = pz.Beta()
    pz.maxent(dist, lo, hi, mass, plot=False)
    return float(dist.alpha), float(dist.beta)


def fit_bands(priors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace every ``{"band": [lo, hi], "mass": m}`` by a fitted Beta Prior dict."""
    path = cache_dir() / "maxent_beta.json"
    shipped, cache = _load_cache(TABLE), _load_cache(path)
    out, changed = [], False
    for p in priors:
        if "band" not in p:
            out.append(p)
            continue
        lo, hi = p["band"]
        key = _key(lo, hi, p["mass"])
        if key not in shipped and key not in cache:
            cache[key] = list(fit_beta(lo, hi, p["mass"]))
            changed = True
        a, b = shipped.get(key) or cache[key]
        out.append({"dist": "Beta", "kwargs": {"alpha": a, "beta": b}})
    if changed:
        try:
            write_atomic(path, json.dumps(cache, indent=0, sort_keys=True))
        except OSError:
            pass  # a read-only home only costs time
    return out


def refit_table(extra: list[str] = ()) -> dict[str, list[float]]:
    """Refit every band of the shipped table (and ``extra`` keys "lo:hi:mass") with PreliZ and write it."""
    keys = sorted(set(_load_cache(TABLE)) | set(extra))
    table = {}
    for k in keys:
        lo, hi, mass = (float(x) for x in k.split(":"))
        table[_key(lo, hi, mass)] = list(fit_beta(lo, hi, mass))
    TABLE.write_text(json.dumps(table, indent=0, sort_keys=True) + "\n")
    return table


if __name__ == "__main__":  # python -m forecast.spec.fit [lo:hi:mass ...]
    import sys

    print(f"{len(refit_table(sys.argv[1:]))} bands written to {TABLE}")
