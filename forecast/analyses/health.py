"""Sampler health: R-hat, ESS and divergences of a posterior, and warnings in the model's own words.

Split from :mod:`forecast.analyses.posterior` (which samples); the limits themselves live in
:mod:`forecast.analyses.summary`, read by every surface.
"""

from __future__ import annotations

from collections.abc import Callable

import arviz as az
import numpy as np
import pandas as pd

from forecast.analyses.summary import ESS_MIN, RHAT_MAX
from forecast.compile.marginal import U, Z

KIND_WORDS = {"base": "base rate of", "effect": "strength of claim", "noise": "noise of", "level": "level of"}


def namer(layout, coords: dict | None = None) -> Callable[[str], str]:
    """A sampler's variable name (``base__Beta[4]``, ``z__level[2]``) in the model's own ids (``base rate of
    moon_support``); ``coords``: the marginal model's, whose ``u__id`` / ``z__id`` name the index levels."""
    coords = coords or {}

    def name(label: str) -> str:
        head, _, rest = str(label).partition("[")
        if head in layout.vectors and rest[:-1].isdigit():
            kind, ids = layout.vectors[head]
            return f"{KIND_WORDS.get(kind, kind)} {ids[int(rest[:-1])]}"
        if head in (U, Z) and rest:  # the marginal's index levels, by position or by variable id
            ids = list(coords.get(f"{head[0]}__id", ()))
            at = rest[:-1]
            return f"level of {ids[int(at)] if at.isdigit() and int(at) < len(ids) else at}"
        kind, _, ident = head.partition("__")
        return f"{KIND_WORDS.get(kind, kind)} {ident}" if ident else head
    return name


def draws_for_ess(draws: int, ess: float, target: float = ESS_MIN) -> int:
    """Draws that would reach ``target`` effective samples, were ESS to grow in proportion (rounded up to 100)."""
    need = draws * target / max(ess, 1.0)
    return int(-(-need // 100) * 100)


def _flat(ds) -> pd.Series:
    """A diagnostic Dataset (one array per variable) as one Series labelled like az.summary's rows."""
    out = {}
    for name, arr in ds.data_vars.items():
        for idx in np.ndindex(arr.shape):  # () for a scalar: labelled by its name alone
            out[f"{name}[{','.join(map(str, idx))}]" if idx else str(name)] = float(arr.values[idx])
    return pd.Series(out, dtype=float)


def health(idata: az.InferenceData | None, sampler: str, name: Callable[[str], str] = str,
           exact: bool = True) -> dict:
    """R-hat, bulk and tail ESS, divergences, and plain-word warnings naming the model's ids (``name``);
    ``exact``: False when some gates were summed on a grid (the method says so)."""
    if idata is None or not len(idata.posterior.data_vars):
        return {"method": "exact (every parameter fixed)", "warnings": []}
    # unrounded (az.summary rounds R-hat to two decimals: 1.014 would pass as 1.01)
    post = idata.posterior
    summ = pd.DataFrame({
        "r_hat": _flat(az.rhat(post)), "ess_bulk": _flat(az.ess(post, method="bulk")),
        "ess_tail": _flat(az.ess(post, method="tail")),
    })
    div = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    d = {
        "method": f"MCMC ({sampler} NUTS; gates and latent events summed out "
                  f"{'exactly' if exact else 'exactly, some gates on a grid'})",
        "chains": int(idata.posterior.sizes["chain"]),
        "draws": int(idata.posterior.sizes["draw"]) * int(idata.posterior.sizes["chain"]),
        "r_hat_max": float(np.nanmax(summ["r_hat"])) if len(summ) else 1.0,
        "ess_bulk_min": float(np.nanmin(summ["ess_bulk"])) if len(summ) else float("nan"),
        "ess_tail_min": float(np.nanmin(summ["ess_tail"])) if len(summ) else float("nan"),
        "divergences": div,
    }
    warn = []
    if d["r_hat_max"] > RHAT_MAX:
        worst = name(summ["r_hat"].idxmax())
        warn.append(f"R-hat {d['r_hat_max']:.3f} > {RHAT_MAX} ({worst}): the chains disagree; run more tuning "
                    f"and draws (--tune, --draws)")
    low = min(d["ess_bulk_min"], d["ess_tail_min"])
    if low < ESS_MIN:
        col = "ess_bulk" if d["ess_bulk_min"] <= d["ess_tail_min"] else "ess_tail"
        worst = name(summ[col].idxmin())
        warn.append(
            f"effective sample size below {ESS_MIN} (bulk {d['ess_bulk_min']:.0f}, tail {d['ess_tail_min']:.0f}; "
            f"lowest: {worst}): about --draws {draws_for_ess(d['draws'], low)} would reach {ESS_MIN}"
        )
    if div:
        warn.append(f"{div} divergent transition{'s' * (div != 1)}: the posterior is hard to explore; "
                    "results may be biased")
    d["warnings"] = warn
    return d
