"""JSON out, always valid: every file and printout of the project goes through :func:`dumps`.

Python's ``json`` writes a float NaN or infinity as bare ``NaN`` / ``Infinity`` tokens, which are not JSON
(other readers reject the file). Here they become ``null``, the JSON for "no number", and ``allow_nan=False``
makes any that slipped through an error instead of an invalid file.
"""

from __future__ import annotations

import json
import math
from typing import Any


def clean(x: Any) -> Any:
    """``x`` with every non-finite float (NumPy's included) replaced by None, containers walked."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean(v) for v in x]
    if isinstance(x, float) or type(x).__name__ in ("float64", "float32", "float16"):
        return float(x) if math.isfinite(float(x)) else None
    return x


def dumps(x: Any, **kw: Any) -> str:
    """``json.dumps`` of ``clean(x)``, non-serialisable values as ``str`` unless ``default`` is given."""
    kw.setdefault("default", str)
    return json.dumps(clean(x), allow_nan=False, **kw)
