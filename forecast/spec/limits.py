"""What the exact-summation engine (:mod:`forecast.compile.marginal`) can take, checked up front.

Conditioning on evidence sums every binary latent of the evidence's ancestral set out
exactly: the unobserved events jointly (``2**L`` configurations) and the gates of the
uncertain claims into each variable locally (``2**k`` combinations). Both are capped; the
caps live here (plain Python, no PyMC) so that :func:`forecast.spec.resolve.resolve`
rejects a model over them with a :class:`~forecast.spec.errors.SpecError` (exit 2) in every
command, ``forecast check`` included, instead of the engine failing mid-run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from forecast.spec.errors import Problem

if TYPE_CHECKING:
    from forecast.spec.resolve import Resolved

MAX_LATENT = 12  # unobserved events upstream of the evidence: 4096 joint configurations
MAX_GATES = 10  # uncertain claims (0 < credence < 1) into one variable: 2**10 local combinations
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
    if len(latent) > MAX_LATENT:
        out.append(Problem(f, "evidence", (
            f"{len(latent)} unobserved events upstream of the evidence ({_names(latent)}); the exact engine "
            f"sums out at most {MAX_LATENT} (observe some of them, or drop claims or evidence)")))
    for v in r.order:
        if v not in nodes:
            continue
        gated = gated_claims(r, v)
        if len(gated) > MAX_GATES:
            out.append(Problem(f, f"variables.{v}", (
                f"{len(gated)} uncertain claims into it ({_names(gated)}), upstream of the evidence; the exact "
                f"engine sums out at most {MAX_GATES} (give some a credence of 0 or 1, or merge them)")))
    return out


__all__ = ["MAX_GATES", "MAX_LATENT", "ancestral_set", "gated_claims", "latent_events", "problems"]
