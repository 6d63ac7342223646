"""The marginal model's row tables, in plain NumPy (a test can read them without PyTensor).

Each variable of the evidence's ancestral set gets one row per combination of the gates of the uncertain claims
into it (``2**k`` rows for ``k`` such claims), or, beyond ``max_gates`` of them, one row per point of the grid
their gated sum is summed on (:mod:`forecast.compile.convolution`). :func:`forecast.compile.marginal.build_marginal`
writes every row's propensity and density over these tables.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


def combinations(n: int) -> np.ndarray:
    """(2**n, n): every 0/1 combination of ``n`` binaries, the last changing fastest."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)), dtype=float).reshape(2**n, n)


@dataclass(frozen=True)
class Rows:
    """The rows of the variables' columns (columns in ``build_marginal``'s order: events, then indices)."""

    node: np.ndarray  # (M,): the node position of each row's variable
    col: np.ndarray  # (M,): its column
    grid: np.ndarray  # (M,): its grid point (-1: a combination of gates)
    on: np.ndarray  # (M, C): row m has gate c on
    off: np.ndarray  # (M, C): row m belongs to c's effect, with gate c off
    push: np.ndarray  # (claims, M): 1 where a claim pushes a row (always-on: every row of its effect)
    counts: np.ndarray  # (N,): rows per column, contiguous from ``starts``
    starts: np.ndarray  # (N,)
    table: np.ndarray  # (N, width): each column's rows, padded with M (a -huge row); gridded columns: all M
    events: int  # the event rows come first: this many
    gridded: dict[int, list[str]]  # column -> its uncertain claims, when summed on the grid

    @property
    def M(self) -> int:
        return len(self.node)


def row_tables(claims: list[str], gated: list[str], effect: dict[str, int], nodes_by_col: list[int],
               is_event: np.ndarray, max_gates: int, grid: int) -> Rows:
    """The rows for ``claims`` (those with a credence above 0; ``gated``: below 1 too) whose effects are at node
    positions ``effect``; ``nodes_by_col``: each column's node position; ``is_event``: per node position."""
    gidx = {c: j for j, c in enumerate(gated)}
    node, col, grid_at, combos, gridded = [], [], [], [], {}
    for j, n in enumerate(nodes_by_col):
        mine = [c for c in gated if effect[c] == n]
        if len(mine) > max_gates:  # a row per point of the grid its gated sum lies on
            gridded[j] = mine
            points = [(i, []) for i in range(grid + len(mine))]
        else:
            points = [(-1, list(zip(mine, g))) for g in combinations(len(mine))]
        for i, gates in points:
            node.append(n)
            col.append(j)
            grid_at.append(i)
            combos.append(gates)
    M, N = len(node), len(nodes_by_col)
    node, col = np.array(node, dtype=int), np.array(col, dtype=int)
    on, off = np.zeros((M, len(gated))), np.zeros((M, len(gated)))
    for m, gates in enumerate(combos):
        for c, x in gates:
            (on if x else off)[m, gidx[c]] = 1.0
    # claim -> row: an always-on claim pushes every row of its effect, a gated one the rows where it is on
    push = (np.array([effect[c] for c in claims], dtype=int)[:, None] == node[None, :]).astype(float)
    for i, c in enumerate(claims):
        if c in gidx:
            push[i] = on[:, gidx[c]]
    counts = np.bincount(col, minlength=N)
    starts = np.cumsum(counts) - counts
    table = np.full((N, max([int(counts[j]) for j in range(N) if j not in gridded], default=0) or 1), M)
    for j, start in enumerate(starts):
        if j not in gridded:
            table[j, : counts[j]] = np.arange(start, start + counts[j])
    events = int(np.sum(is_event[node])) if M else 0
    return Rows(node, col, np.array(grid_at, dtype=int), on, off, push, counts, starts, table, events, gridded)


__all__ = ["Rows", "combinations", "row_tables"]
