"""Save and reload results: InferenceData (NetCDF) with the manifest inside, written atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import arviz as az
import numpy as np
import xarray as xr

from forecast.analyses.session import Result, sha256
from forecast.spec.errors import Problem, SpecError


def to_inference_data(result: Result) -> az.InferenceData:
    """Posterior trace (when sampled) plus a ``predictions`` group of per-draw outcomes."""
    outcomes = {k.replace(":", "__"): (("chain", "draw"), np.asarray(v)[None, :]) for k, v in result.outcomes.items()}
    preds = xr.Dataset(outcomes, coords={"chain": [0], "draw": np.arange(result.draws)})
    groups = {"predictions": preds}
    idata = result.posterior.idata if result.posterior and result.posterior.idata is not None else None
    if idata is not None:
        idata = idata.copy()
        idata.add_groups(groups)
    else:
        idata = az.InferenceData(**groups)
    idata.predictions.attrs["manifest"] = json.dumps(result.manifest, sort_keys=True, default=str)
    return idata


def save(result: Result, out_dir: str | Path, summary: dict | None = None) -> Path:
    """Write ``result.nc``, ``manifest.json`` (and ``summary.json``) into ``out_dir`` atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".forecast-", dir=out))
    try:
        to_inference_data(result).to_netcdf(str(tmp / "result.nc"))
        (tmp / "manifest.json").write_text(json.dumps(result.manifest, indent=2, sort_keys=True, default=str))
        if summary is not None:
            (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        for f in tmp.iterdir():
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / "result.nc"


def load(out_dir: str | Path, model_path: str | Path | None = None) -> az.InferenceData:
    """Reload a saved result; refuse it when ``model_path`` no longer matches the saved hash."""
    path = Path(out_dir) / "result.nc"
    idata = az.from_netcdf(str(path))
    manifest = json.loads(idata.predictions.attrs["manifest"])
    if model_path is not None and sha256(model_path) != manifest["model_sha256"]:
        raise SpecError([Problem(str(path), "manifest", f"saved for a different version of {model_path}; run again")])
    return idata
