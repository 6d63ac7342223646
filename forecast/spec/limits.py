"""What the exact-summation engine (:mod:`forecast.compile.marginal`) can take, checked up front.

Conditioning on evidence sums every binary latent of the evidence's ancestral set out
exactly: the unobserved events jointly (``2**L`` configurations) up to ``MAX_LATENT`` of them,
beyond that one at a time in a min-fill order (:mod:`forecast.spec.order`), whose width (the
most of them one step couples) is capped instead; and the gates of the uncertain claims into
each variable locally (``2**k`` combinations up to ``MAX_GATES``, beyond that on a grid with a
stated error bound: :mod:`forecast.compile.convolution`). The caps live here (plain Python, no
PyMC) so that :func:`forecast.spec.resolve.resolve` rejects a model over them with a
:class:`~forecast.spec.errors.SpecError` (exit 2) in every command, ``forecast check`` included,
instead of the engine failing mid-run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from forecast.spec.errors import Problem
from forecast.spec.order import Plan, plan

if TYPE_CHECKING:
    from forecast.spec.resolve import Resolved

MAX_LATENT = 12  # latent events upstream of the evidence enumerated jointly (4096 configurations); beyond: eliminated
MAX_WIDTH = 12  # beyond MAX_LATENT: the most latent events one elimination step couples (2**13 entries per draw)
MAX_SCOPE = 8  # beyond MAX_LATENT: latent events in one variable's equation (its table: 2**8 states per draw)
MAX_GATES = 10  # uncertain claims into one variable enumerated (2**10 combinations); beyond: summed on a grid
SHOW = 8  # ids named in a message before "…"


def ancestral_set(r: Resolved, targets: Iterable[str]) -> set[str]:
    """The targets and every variable with a claim path into them (the one definition: the compile layer and
    the analyses read it from here)."""
    parents: dict[str, set[str]] = {v: set() for v in r.variables}
    for c in r.claims.values():
        parents.setdefault(c.effect, set()).add(c.cause)
    seen: set[str] = set()
    stack = list(targets)
    while stack:
        v = stack.pop()
        if v not in seen:
            seen.add(v)
            stack.extend(parents.get(v, ()))
    return seen


def _names(ids: list[str]) -> str:
    return ", ".join(ids[:SHOW]) + (", …" if len(ids) > SHOW else "")


def latent_events(r: Resolved, nodes: set[str] | None = None) -> list[str]:
    """The unobserved events of the evidence's ancestral set (``nodes``, when already known), in model order
    (the engine's ``latent``)."""
    if nodes is None:
        nodes = ancestral_set(r, {o.variable for o in r.evidence})
    observed = {o.variable for o in r.evidence if o.kind == "event"}
    return [v for v in r.order if v in nodes and r.variables[v].kind == "event" and v not in observed]


def factor_scopes(r: Resolved, nodes: set[str], latent: list[str], credence: dict[str, float] | None = None
                  ) -> dict[str, tuple[int, ...]]:
    """Per variable of ``nodes`` (model order): the latent events its equation couples, as positions in
    ``latent``: itself if latent, and the latent causes of its claims (those with a credence above 0; from
    ``credence`` where given, else the model's). The scopes of the factors the engine eliminates."""
    at = {v: i for i, v in enumerate(latent)}
    out = {}
    for v in r.order:
        if v not in nodes:
            continue
        causes = {r.claims[c].cause for c in r.variables[v].claims_in
                  if (credence or {}).get(c, r.claims[c].credence) > 0.0 and r.claims[c].cause in nodes}
        out[v] = tuple(sorted(at[u] for u in {v} | causes if u in at))
    return out


def elimination_plan(r: Resolved, nodes: set[str], latent: list[str], credence: dict[str, float] | None = None
                     ) -> tuple[dict[str, tuple[int, ...]], Plan]:
    """The factor scopes (:func:`factor_scopes`) and the order the engine sums the latent events out in."""
    scopes = factor_scopes(r, nodes, latent, credence)
    return scopes, plan(len(latent), list(scopes.values()))


def gated_claims(r: Resolved, variable: str) -> list[str]:
    """The uncertain claims into ``variable``: those the engine enumerates a gate for."""
    return [c for c in r.variables[variable].claims_in if 0.0 < r.claims[c].credence < 1.0]


def problems(r: Resolved) -> list[Problem]:
    """A Problem per limit of the exact engine that ``r`` exceeds (none without evidence)."""
    if not r.evidence:
        return []
    f = r.model.path
    out: list[Problem] = []
    nodes = ancestral_set(r, {o.variable for o in r.evidence})
    latent = latent_events(r, nodes)
    if len(latent) > MAX_LATENT:  # summed out one at a time: the width of the elimination sets the cost
        scopes, p = elimination_plan(r, nodes, latent)
        for v, s in scopes.items():
            if len(s) > MAX_SCOPE:
                out.append(Problem(f, f"variables.{v}", (
                    f"its equation couples {len(s)} unobserved events upstream of the evidence "
                    f"({_names([latent[i] for i in s])}); with more than {MAX_LATENT} such events the exact "
                    f"engine takes at most {MAX_SCOPE} in one variable's equation (observe some of them)")))
        if p.width > MAX_WIDTH:
            worst = max(p.steps, key=lambda st: len(st.scope))
            coupled = [latent[i] for i in worst.scope]
            out.append(Problem(f, "evidence", (
                f"{len(latent)} unobserved events upstream of the evidence, and summing them out couples "
                f"{p.width + 1} at once ({_names(coupled)}); the exact engine couples at most {MAX_WIDTH + 1} "
                "(observe some of them, or drop claims or evidence)")))
    return out  # more than MAX_GATES uncertain claims into one variable: summed on a grid, with a stated bound


# ---- run settings: one rule set for the command line's parser and the Python API --------------------------
SEED_MAX = 2**32 - 1  # NumPy's and JAX's seeds: 0 .. 2**32 - 1
MAX_CHAINS = 64
BYTES_PER_VALUE = 8
ARRAYS_PER_VARIABLE = 4  # the forward simulation keeps about this many (draws x worlds) arrays per variable


def settings_problems(draws: int | None = None, seed: int | None = None, tune: int | None = None,
                      chains: int | None = None, prefix: str = "") -> list[Problem]:
    """A Problem per run setting out of range (``prefix`` "--" names them as the command line's options)."""
    out = []

    def bad(name, value, why):
        out.append(Problem(f"{prefix}{name}", str(value), why))

    for name, value, low, high in (("draws", draws, 1, None), ("seed", seed, 0, SEED_MAX),
                                   ("tune", tune, 0, None), ("chains", chains, 1, MAX_CHAINS)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            bad(name, value, "expected a whole number")
        elif value < low or (high is not None and value > high):
            bad(name, value, f"expected a whole number from {low}" + (f" to {high}" if high is not None else " up"))
    return out


def memory_needed(r: Resolved, draws: int) -> int:
    """Bytes the forward simulation needs at least: ``draws`` x worlds per draw x the model's variables and
    claims, a few arrays each (an estimate from below: the real peak is higher)."""
    worlds = r.priors.simulation.replicates
    return draws * worlds * (ARRAYS_PER_VARIABLE * len(r.variables) + len(r.claims)) * BYTES_PER_VALUE


def available_memory() -> int | None:
    """Bytes of memory available now (Linux ``MemAvailable``; else physical pages), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**28 else f"{n / 2**20:.0f} MB"


def memory_problems(r: Resolved, draws: int, flag: str = "draws") -> list[Problem]:
    """A Problem when ``draws`` would need more memory than is available (checked before any work)."""
    need, have = memory_needed(r, draws), available_memory()
    if have is None or need <= have:
        return []
    fit = max(1, int(draws * have / need))
    return [Problem(flag, str(draws), (
        f"would need at least {_gb(need)} of memory ({r.priors.simulation.replicates} worlds per draw, "
        f"{len(r.variables)} variables, {len(r.claims)} claims) and {_gb(have)} is available; "
        f"use at most about {fit} draws"))]


__all__ = ["MAX_GATES", "MAX_LATENT", "MAX_SCOPE", "MAX_WIDTH", "SEED_MAX", "ancestral_set", "elimination_plan",
           "factor_scopes", "gated_claims", "latent_events", "memory_needed", "memory_problems", "problems",
           "settings_problems"]


# `forecast export`: what its options may say (the CLI's parser and forecast.analyses.export read them here)
EXPORT_FORMATS = ("bif", "xmlbif", "xdsl", "uai")
EXPORT_BINS = (2, 50)  # the index bins an export may use (default 5)
AT_CHOICES = "prior-mean, posterior-mean or draw:N (N from 0)"


def parse_at(text: str, draws: int | None = None) -> tuple[str, int | None]:
    """``export --at``: ``("prior-mean", None)``, ``("posterior-mean", None)`` or ``("draw", N)``; else
    ValueError with the reason. With ``draws``, N must be one of them."""
    t = str(text).strip()
    if t in ("prior-mean", "posterior-mean"):
        return t, None
    if t.startswith("draw:"):
        n = t[5:].strip()
        if not n.isdigit():
            raise ValueError(f"'{n}' is not a draw number (0, 1, ...)")
        if draws is not None and int(n) >= draws:
            raise ValueError(f"there are {draws} draws (--draws): draw:0 to draw:{draws - 1}")
        return "draw", int(n)
    raise ValueError(f"expected {AT_CHOICES}")

