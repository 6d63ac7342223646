"""The order in which the engine sums the latent events out (plain Python: checked up front by ``check``).

A min-fill elimination order over the binary variables of a product of factors: repeatedly the variable whose
elimination adds the fewest new couplings between the variables left (ties: fewest neighbours, then the lower
number), so the order is deterministic. It is what :mod:`forecast.compile.elimination` runs, and its width (the
most variables one step couples) is what :mod:`forecast.spec.limits` caps.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """Eliminate ``var``: multiply the factors ``takes`` (ids: the original factors, then earlier steps'
    messages, numbered on from them) over ``scope`` (``var`` first), sum ``var`` out; the message has scope
    ``scope[1:]``."""

    var: int
    takes: tuple[int, ...]
    scope: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    """An elimination order for factors over binary variables ``0 .. n - 1``."""

    n: int
    scopes: tuple[tuple[int, ...], ...]  # of the original factors, in the order of their tables' axes
    steps: tuple[Step, ...]
    constant: tuple[int, ...]  # messages (and factors) left with no variable: summed into log Z as they are

    @property
    def width(self) -> int:
        """The most variables one step's product couples, besides the one it sums out."""
        return max((len(s.scope) - 1 for s in self.steps), default=0)


def plan(n: int, scopes: list[tuple[int, ...]]) -> Plan:
    """A min-fill elimination order for ``n`` binary variables and factors over ``scopes``."""
    neighbours = {v: set() for v in range(n)}
    for s in scopes:
        for v in s:
            neighbours[v].update(u for u in s if u != v)
    live = {f: tuple(s) for f, s in enumerate(scopes)}  # factor or message id -> its scope
    steps, left = [], set(range(n))
    while left:
        def cost(v):
            nb = sorted(neighbours[v] & left)
            fill = sum(1 for i, a in enumerate(nb) for b in nb[i + 1:] if b not in neighbours[a])
            return fill, len(nb), v
        v = min(left, key=cost)
        takes = tuple(f for f, s in live.items() if v in s)
        rest = sorted({u for f in takes for u in live[f]} - {v})
        for a in rest:
            neighbours[a].update(u for u in rest if u != a)
        for f in takes:
            del live[f]
        live[len(scopes) + len(steps)] = tuple(rest)
        steps.append(Step(v, takes, (v, *rest)))
        left.discard(v)
    constant = tuple(f for f, s in live.items() if not s)
    return Plan(n, tuple(map(tuple, scopes)), tuple(steps), constant)


__all__ = ["Plan", "Step", "plan"]
