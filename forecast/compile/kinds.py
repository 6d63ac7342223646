r"""The model's equations, written once per kind of variable and of evidence.

Every place that simulates, conditions or weighs reads its equations here: the forward model
(:mod:`forecast.compile.builder`: a state drawn from its propensity :math:`\eta_v` and exogenous noise),
the evidence's marginal model (:mod:`forecast.compile.marginal`: the density of a state given
:math:`\eta_v`, summed over the gates and the latent events), the likelihood weighting of simulated
worlds (:mod:`forecast.analyses.engine`) and the exact per-draw conditioning of a posterior
(:mod:`forecast.analyses.posterior`). A test (``tests/test_equations.py``) checks on random models that the
forward and the marginal model, built from these pieces, give the same likelihood.

A kind of variable is a class with

* ``exogenous(name, shape)``: the PyMC noise the forward model draws once per block of variables;
* ``draw(eta, noise, tau)``: the state as a function of its propensity and noise (a structural equation);
* ``logp(eta, value, tau)``: the log density of a state given its propensity, at the value the marginal model
  holds for it (an event's 0/1; an index's logit level :math:`u = \operatorname{logit} x`);
* ``states``: the values an observation or an intervention may give it (``None``: any in (0, 1));
* ``curvature(lo, hi, value, tau)``: the most :math:`|\partial^2 / \partial\eta^2|` of ``exp(logp)`` is for
  :math:`\eta \in [lo, hi]`, which bounds the error of summing many gates on a grid
  (:mod:`forecast.compile.convolution`).

The propensity itself, :math:`\eta_v = \operatorname{logit}(b_v) + \sum_c g_c s_c \beta_c x_{\mathrm{cause}(c)}`,
is the same for every kind. Adding a kind of variable means a class here and its name in ``KINDS`` (and, for
a kind that is not binary, the marginal's enumeration of latent states: see ARCHITECTURE.md).

The evidence kinds' likelihoods (a soft report, a measurement) are plain arithmetic, so the same function
serves PyTensor graphs and NumPy arrays.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy.special import expit, ndtr


class Event:
    """A yes/no event: :math:`x = \\mathbb{1}[U < \\sigma(\\eta)]`, i.e. Bernoulli(:math:`\\sigma(\\eta)`)."""

    name = "event"
    states: tuple[float, ...] | None = (0.0, 1.0)
    PEAK = float(np.sqrt(3.0) / 18.0)  # the most |sigma''| can be (the curvature with no interval known)

    @staticmethod
    def exogenous(name: str, shape: tuple[int, ...]):
        return pm.Uniform(name, 0.0, 1.0, shape=shape)

    @staticmethod
    def draw(eta, noise, tau=None):  # noqa: ARG004 (one signature for every kind)
        """(state, P(state = 1)): the Bernoulli by its inverse CDF."""
        p = pm.math.sigmoid(eta)
        return pt.where(pt.lt(noise, p), 1.0, 0.0), p

    @staticmethod
    def logp(eta, value, tau=None):  # noqa: ARG004
        return pm.logp(pm.Bernoulli.dist(logit_p=eta), value)

    @staticmethod
    def curvature(lo, hi, value=None, tau=None):  # noqa: ARG004
        """max over eta in [lo, hi] of |sigma''(eta)| = |s(1 - s)(1 - 2s)| (the same for P(x = 0)): sqrt(3)/18 if
        the interval holds a peak (eta = +-log(2 + sqrt 3)), else at an end (it falls away from the peaks)."""
        def g(e):
            s = pm.math.sigmoid(e)
            return abs(s * (1.0 - s) * (1.0 - 2.0 * s))
        c = float(np.log(2.0 + np.sqrt(3.0)))
        peak = ((lo <= c) & (hi >= c)) | ((lo <= -c) & (hi >= -c))
        return pt.where(peak, Event.PEAK, pt.maximum(g(lo), g(hi)))

    @staticmethod
    def p1(eta: np.ndarray) -> np.ndarray:
        """P(x = 1 | eta) (NumPy: exported tables)."""
        return expit(eta)


class Index:
    """A level in (0, 1): :math:`x = \\sigma(\\eta + \\tau z)`, logit-normal; its density is taken on the logit
    scale, :math:`u = \\operatorname{logit} x \\sim \\operatorname{Normal}(\\eta, \\tau)`."""

    name = "index"
    states: tuple[float, ...] | None = None

    @staticmethod
    def exogenous(name: str, shape: tuple[int, ...]):
        return pm.Normal(name, 0.0, 1.0, shape=shape)

    @staticmethod
    def draw(eta, noise, tau):
        return pm.math.sigmoid(eta + tau * noise), None

    @staticmethod
    def logp(eta, value, tau):
        return pm.logp(pm.Normal.dist(eta, tau), value)

    @staticmethod
    def curvature(lo, hi, value, tau):
        """max over eta in [lo, hi] of |d^2 Normal(value | eta, tau) / d eta^2| = |z^2 - 1| phi(z) / tau^3,
        z = (value - eta) / tau: at an end of the interval or at a peak inside it (z = 0, +-sqrt 3)."""
        def g(z):
            return abs(z * z - 1.0) * pt.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
        za, zb = (value - hi) / tau, (value - lo) / tau
        out = pt.maximum(g(za), g(zb))
        for z in (0.0, np.sqrt(3.0), -np.sqrt(3.0)):
            out = pt.where((za <= z) & (zb >= z), pt.maximum(out, g(z)), out)
        return out / tau**3

    @staticmethod
    def bin_curvature(tau):
        """The most |d^2 / d eta^2| of a bin's mass Phi((b - eta)/tau) - Phi((a - eta)/tau) can be: twice the most
        of |phi'(z)| / tau^2, phi'(z) = -z phi(z) peaking at z = +-1 (NumPy: exported tables)."""
        return 2.0 * np.exp(-0.5) / (np.sqrt(2.0 * np.pi) * tau**2)

    @staticmethod
    def below(u, eta: np.ndarray, tau) -> np.ndarray:
        """P(logit level <= u | eta, tau): the logit-normal's CDF on the logit scale (NumPy; u may be +-inf)."""
        return ndtr((u - eta) / tau)

    @classmethod
    def exceed(cls, eta: np.ndarray, tau: np.ndarray, t: float) -> np.ndarray:
        """P(level > t | eta, tau) for t in (0, 1) (NumPy)."""
        return 1.0 - cls.below(np.log(t / (1.0 - t)), eta, tau)


KINDS: dict[str, type[Event] | type[Index]] = {"event": Event, "index": Index}


def report_prob(x, value, accuracy):
    """P(a report says ``value`` | the event's state ``x``) for a report of accuracy ``accuracy``: right with
    probability ``accuracy``. Arithmetic only: ``x`` may be a tensor or an array (0/1)."""
    match = x * value + (1.0 - x) * (1.0 - value)
    return accuracy * match + (1.0 - accuracy) * (1.0 - match)


def measurement_logp(level, value, sd):
    """log Normal(value | level, sd): a measurement of an index level (NumPy)."""
    z = (np.asarray(value) - level) / sd
    return -0.5 * z * z - np.log(sd) - 0.5 * np.log(2.0 * np.pi)


__all__ = ["KINDS", "Event", "Index", "measurement_logp", "report_prob"]
