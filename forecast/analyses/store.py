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

from forecast.analyses.manifest import sha256
from forecast.analyses.session import Result
from forecast.spec import jsonio
from forecast.spec.errors import Problem, SpecError
from forecast.spec.outputs import RESULT_FILES, check_folder, usual_mode


def to_inference_data(result: Result) -> az.InferenceData:
    """Posterior trace (when sampled) plus a ``predictions`` group of per-draw outcomes: ``x__<variable id>`` and
    ``q__<question id>`` (namespaced: a variable may be called ``chain`` or ``draw``, ArviZ's dimensions)."""
    outcomes = {(k.replace(":", "__") if k.startswith("q:") else f"x__{k}"): (("chain", "draw"), np.asarray(v)[None, :])
                for k, v in result.outcomes.items()}
    preds = xr.Dataset(outcomes, coords={"chain": [0], "draw": np.arange(result.draws)})
    groups = {"predictions": preds}
    idata = result.posterior.idata if result.posterior and result.posterior.idata is not None else None
    if idata is not None:
        idata = idata.copy()
        idata.add_groups(groups)
    else:
        idata = az.InferenceData(**groups)
    idata.predictions.attrs["manifest"] = jsonio.dumps(result.manifest, sort_keys=True)
    return idata


def save(result: Result, out_dir: str | Path, summary: dict | None = None) -> Path:
    """Write ``result.nc``, ``manifest.json`` (and ``summary.json``) as the folder ``out_dir``, all or nothing.

    The files are written into a hidden folder beside ``out_dir``, which then takes its place by rename: an
    earlier result there is renamed away first and removed after. Killed at any moment, ``out_dir`` holds
    either the earlier result, nothing, or the new one complete; never files of two runs.
    """
    out = Path(out_dir)
    problems = check_folder(out, "out folder", only=RESULT_FILES)
    if problems:
        raise SpecError(problems)
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in (*out.parent.glob(f".{out.name}.*.tmp"), *out.parent.glob(f".{out.name}.*.old")):
        shutil.rmtree(stale, ignore_errors=True)  # left by a save killed outright (SIGKILL) between its renames
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    old = None
    try:
        to_inference_data(result).to_netcdf(str(tmp / "result.nc"))
        (tmp / "manifest.json").write_text(jsonio.dumps(result.manifest, indent=2, sort_keys=True))
        if summary is not None:
            (tmp / "summary.json").write_text(jsonio.dumps(summary, indent=2))
        usual_mode(tmp)  # mkdtemp makes it 0700
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.rename(out, old / out.name)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and (old / out.name).exists() and not out.exists():
            os.rename(old / out.name, out)  # put the earlier result back
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return out / "result.nc"


def load(out_dir: str | Path, model_path: str | Path | None = None) -> az.InferenceData:
    """Reload a saved result; refuse it when ``model_path`` no longer matches the saved hash."""
    path = Path(out_dir) / "result.nc"
    idata = az.from_netcdf(str(path))
    manifest = json.loads(idata.predictions.attrs["manifest"])
    if model_path is not None and sha256(model_path) != manifest["model_sha256"]:
        raise SpecError([Problem(str(path), "manifest", f"saved for a different version of {model_path}; run again")])
    return idata
