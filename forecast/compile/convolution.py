r"""Many uncertain claims into one variable: their gates summed on a grid instead of over 2**J combinations.

The propensity of a variable with :math:`J` uncertain claims is :math:`\eta = \eta_0 + S`, with
:math:`S = \sum_c g_c w_c`, :math:`w_c = s_c \beta_c x_{\mathrm{cause}(c)}` and independent gates
:math:`g_c \sim \operatorname{Bernoulli}(\kappa_c)`. Exact summation needs every one of the :math:`2^J` values of
:math:`S`. Here :math:`S` is written as its smallest value plus :math:`J` independent two-point terms,
:math:`S = S_{\min} + \sum_c T_c` with :math:`T_c \in \{0, |w_c|\}`, and the distribution of the sum is built by
convolving the terms one at a time on a grid of ``grid`` points of step :math:`h = \sum_c |w_c| / (\text{grid} - 1)`
over :math:`[S_{\min}, S_{\max}]`: cost :math:`J \cdot \text{grid}`, not :math:`2^J`. A term that falls between
two grid points is split between them so that its mean is kept (randomised rounding), which makes the rounded
sum :math:`S'` equal :math:`S` on average, with added variance :math:`V = h^2 \sum_c P(T_c > 0)\,\lambda_c(1-\lambda_c)`
(:math:`\lambda_c` the fractional part of :math:`|w_c|/h`).

**The error bound.** A variable's factor is :math:`F = E[f(S)]` with :math:`f` the density of its state
given the propensity. Taylor's theorem with :math:`E[S' - S \mid S] = 0` gives
:math:`|E f(S') - E f(S)| \le \tfrac12 \max|f''|\, V` (:func:`bound`). ``max|f''|`` is the kind's curvature
(:mod:`forecast.compile.kinds`: :math:`\sqrt3/18` for an event's probability, :math:`1/(\sqrt{2\pi}\tau^3)` for an
index's density). The marginal model turns this into a relative bound on the evidence's likelihood and, from
that, on every probability the run reports (:class:`forecast.compile.marginal.Local`, ``slack``).

Both array libraries: NumPy (exported tables, backward sampling of the gates) and PyTensor (the sampler's and
the recovery's graphs; every operation is differentiable in the continuous parameters, the grid step moving
with them). Written here because no library we use convolves per-draw two-point distributions with gradients;
``scipy.signal`` and ``numpy.convolve`` work on one fixed array at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# grid points over [S_min, S_max]: the bound falls with the square of the step, the sampler's time grows with
# the points (30 claims into one variable: 512 points ~4 ms per gradient, 128 ~1.5 ms on a 2-core machine; a
# Fourier-transform version was slower still, its trigonometry costing more than the gathers it saves)
GRID = 128
TINY = 1e-300  # a range of the sum below this is a point (every w_c is 0)


@dataclass
class Chain:
    """The two-point terms of one variable's gated sum, on its grid (arrays (*lead,) or (*lead, J))."""

    low: object  # (*lead,): S_min, the sum with every positive term off and every negative one on
    step: object  # (*lead,): h, the grid step
    shift: object  # (*lead, J) int: floor(|w_c| / h), the grid points a term moves the sum by (then one more)
    frac: object  # (*lead, J): lambda_c, the share of the term's mass moved one point further
    on: object  # (*lead, J): P(T_c = |w_c|): kappa_c for a positive w_c, 1 - kappa_c for a negative one
    up: object  # (*lead, J): 1 where w_c >= 0 (the term is at |w_c| when the gate is on), else 0
    size: int  # grid points the sum can reach: grid + J (each term rounds up by at most one)
    terms: int  # J

    ARRAYS = ("low", "step", "shift", "frac", "on", "up")
    PER_TERM = ("shift", "frac", "on", "up")  # (*lead, J); the others (*lead,)

    def apply(self, f) -> Chain:
        """The same chain with ``f`` applied to each array (e.g. a selection of draws and configurations)."""
        return Chain(*(f(getattr(self, a)) for a in self.ARRAYS), self.size, self.terms)

    def join(self, other: Chain, axis: int) -> Chain:
        """This chain's arrays and ``other``'s concatenated along ``axis`` (NumPy)."""
        return Chain(*(np.concatenate([getattr(self, a), getattr(other, a)], axis=axis) for a in self.ARRAYS),
                     self.size, self.terms)


def chain(xp, w, q, grid: int = GRID, J: int | None = None) -> Chain:
    """The terms of ``w`` (*lead, J) (the gated pushes :math:`s_c \\beta_c x_c`) with gate probabilities ``q``
    (broadcastable to ``w``); ``J`` given where ``w``'s shape is symbolic (PyTensor)."""
    a = xp.abs(w)
    step = xp.maximum(a.sum(axis=-1), np.asarray(TINY)) / (grid - 1)
    x = a / step[..., None]
    fl = xp.floor(x)
    on = xp.where(w >= 0, q, 1.0 - q)
    low = xp.minimum(w, 0.0).sum(axis=-1)
    J = int(w.shape[-1]) if J is None else J
    return Chain(low, step, fl.astype("int64"), x - fl, on, xp.where(w >= 0, 1.0, 0.0), grid + J, J)


def _shift(xp, p, s, size: int):
    """p (*lead, size) moved up by ``s`` (*lead,) points (zeros shifted in)."""
    padded = xp.concatenate([xp.zeros_like(p), p], axis=-1)
    idx = size + np.arange(size) - s[..., None]
    return xp.take_along_axis(padded, idx, axis=-1)


def messages(xp, ch: Chain, keep: bool = False):
    """The sum's distribution on the grid (*lead, size), the terms convolved in order; with ``keep``, also the
    list of the distributions before each term (backward sampling reads them)."""
    lead = tuple(ch.low.shape)
    J = ch.terms
    p = xp.concatenate([xp.ones((*lead, 1)), xp.zeros((*lead, ch.size - 1))], axis=-1)
    kept = []
    for j in range(J):
        if keep:
            kept.append(p)
        o, f, s = ch.on[..., j, None], ch.frac[..., j, None], ch.shift[..., j]
        p = (1.0 - o) * p + o * ((1.0 - f) * _shift(xp, p, s, ch.size) + f * _shift(xp, p, s + 1, ch.size))
    return (p, kept) if keep else p


def values(xp, ch: Chain):
    """The sum at each grid point (*lead, size)."""
    return ch.low[..., None] + ch.step[..., None] * np.arange(ch.size)


def bound(xp, ch: Chain, curvature):
    """(*lead,): the most the grid can move E[f(S)] for an f with |f''| <= ``curvature`` (broadcastable)."""
    return 0.5 * curvature * ch.step**2 * (ch.on * ch.frac * (1.0 - ch.frac)).sum(axis=-1)


def sample_terms(ch: Chain, end: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which terms are at |w_c| (T, J), drawn jointly given that the sum is at grid point ``end`` (T,), from the
    grid's own model (NumPy; ``ch`` with lead (T,)). Backward sampling along the convolution: the last term
    from the distribution before it, given where the sum ended, and so on back to the first."""
    _, kept = messages(np, ch, keep=True)
    T, J = ch.shift.shape
    at = np.asarray(end, dtype=np.int64).copy()
    out = np.zeros((T, J))
    rows = np.arange(T)
    for j in range(J - 1, -1, -1):
        prev = kept[j]
        o, f, s = ch.on[:, j], ch.frac[:, j], ch.shift[:, j]
        before = [np.where(k >= 0, prev[rows, np.maximum(k, 0)], 0.0) for k in (at, at - s, at - s - 1)]
        w = np.stack([(1.0 - o) * before[0], o * (1.0 - f) * before[1], o * f * before[2]], axis=1)
        total = w.sum(axis=1, keepdims=True)
        w = np.where(total > 0, w / np.where(total > 0, total, 1.0), np.array([1.0, 0.0, 0.0]))
        pick = (rng.random(T)[:, None] > np.cumsum(w, axis=1)).sum(axis=1).clip(0, 2)
        out[:, j] = pick > 0
        at = at - np.where(pick == 0, 0, s + (pick == 2))
    return out


def gates_of(on_terms: np.ndarray, up: np.ndarray) -> np.ndarray:
    """The gates (0/1) from which terms are at |w_c|: the gate of a positive push is on when its term is, of a
    negative push when it is not (``up``: Chain.up)."""
    return np.where(up > 0, on_terms, 1.0 - on_terms)


__all__ = ["GRID", "Chain", "bound", "chain", "gates_of", "messages", "sample_terms", "values"]
