r"""The evidence's ancestral system with every binary latent summed out exactly.

Conditioning on evidence only involves the evidence's ancestral set (the
observed variables and everything with a claim path into them). Inside it two
kinds of binary latent appear: the claim gates :math:`g_c` and the unobserved
events. Both are summed out of the likelihood, so the sampler (NUTS in PyMC or
nutpie) only sees continuous parameters:

* the :math:`L` latent events are enumerated jointly: ``configs`` is the
  :math:`2^L \times L` table of their states, and every event's state is a
  vector over those configurations;
* the gates of the claims into one variable are enumerated locally
  (:math:`2^{k_v}` combinations, prior weight
  :math:`\prod_j \kappa_j^{g_j}(1-\kappa_j)^{1-g_j}`), because a gate enters
  exactly one variable's propensity;
* an index level is a continuous parameter :math:`u_v = \operatorname{logit} x_v`
  with density :math:`\operatorname{Normal}(u_v \mid \eta_v, \tau_v)` (the same
  logit-normal as in :mod:`forecast.compile.builder`), which depends on the
  configuration through :math:`\eta_v`. A measured index is sampled as
  :math:`u_v`; an unmeasured one non-centred, :math:`u_v = \operatorname{logit}(b_v) + \tau_v z_v`
  (density of :math:`z_v` including :math:`\log\tau_v`), which spares NUTS the
  funnel between :math:`\tau_v` and the level.

With :math:`F_v(k) = \log \sum_g w(g)\, p(x_v(k) \mid \eta_v(g, k))` (and a soft
report's likelihood added to its event's :math:`F_v`), the evidence term is

.. math::

    \log p(\text{evidence}, u \mid \theta) = \operatorname{logsumexp}_k \sum_v F_v(k)

added as a ``pm.Potential``; an index measurement is an ordinary observed
Normal (``pm.observe``). Every per-node density is PyMC's own
(``pm.logp`` of ``Bernoulli`` / ``Normal``); the propensity :math:`\eta_v` is
the builder's equation. :func:`pymc_extras.marginalize` does the same
summation generically, but on the Hanoi model (21 binary latents, nested) it
took 50 s to transform and 5 minutes to compile; the local structure here
compiles in seconds.

From the same graph, per posterior draw: :math:`P(k \mid \theta, \text{evidence})`
(the latent events' joint posterior) and :math:`P(g_c = 1 \mid \theta, \text{evidence})`
(each claim's posterior credence).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from forecast.compile.builder import Numbers, _prior_variable, param_names
from forecast.spec.resolve import Resolved

MAX_LATENT = 12  # 4096 joint configurations of the latent events
MAX_GATES = 10  # gated claims into one variable (2**10 local combinations)


def _table(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)), dtype=float).reshape(2**n, n)


@dataclass
class Marginal:
    """A sampling model with only continuous free variables, and the tensors to recover the binaries."""

    model: pm.Model
    evidence: dict[str, float]  # observed measurement variables -> value (for pm.observe)
    latent: list[str]  # latent events, columns of ``configs``
    configs: np.ndarray  # (K, L)
    joint: pt.TensorVariable  # (K,): log p(configuration, evidence, levels | parameters)
    gates: dict[str, pt.TensorVariable] = field(default_factory=dict)  # claim -> (K,) P(gate on | k, ...)
    levels: dict[str, pt.TensorVariable] = field(default_factory=dict)  # index variable -> its level


def build_marginal(r: Resolved, numbers: Numbers, nodes: set[str]) -> Marginal:
    """The ancestral system ``nodes`` of ``r``'s evidence, binaries summed out (see module docstring)."""
    observed = {o.variable: o.value for o in r.evidence if o.kind == "event" and o.variable in nodes}
    measured = {o.variable for o in r.evidence if o.kind == "index"}
    latent = [v for v in r.order if v in nodes and r.variables[v].kind == "event" and v not in observed]
    if len(latent) > MAX_LATENT:
        raise ValueError(
            f"{len(latent)} unobserved events lie upstream of the evidence; at most {MAX_LATENT} can be "
            "summed out exactly (observe some of them or drop evidence)"
        )
    configs = _table(len(latent))
    model = pm.Model()
    out = Marginal(model, {}, latent, configs, pt.zeros(()))
    with model:
        values: dict[str, pt.TensorVariable] = {}
        total = pt.zeros(len(configs))
        for v in (v for v in r.order if v in nodes):
            var = r.variables[v]
            base = _prior_variable(param_names("base", v), "base", v, numbers.base[v], None)
            eta = pt.shape_padleft(pm.math.logit(base) * pt.ones(len(configs)))  # (1, K)
            gated = []
            for cid in var.claims_in:
                c = r.claims[cid]
                kappa = numbers.credence[cid]
                if c.cause not in values or kappa == 0.0:
                    continue
                beta = _prior_variable(param_names("effect", cid), "effect", cid, numbers.effect[cid], None)
                term = c.sign * beta * values[c.cause]
                if kappa < 1.0:
                    gated.append((cid, term, pm.Data(f"hp__credence__{cid}", kappa)))
                else:
                    eta = eta + term
            if len(gated) > MAX_GATES:
                raise ValueError(f"{v}: {len(gated)} uncertain claims into one variable; at most {MAX_GATES}")
            g = _table(len(gated))  # (G, k)
            logw = pt.zeros(len(g))
            for j, (_, term, kappa) in enumerate(gated):
                eta = eta + g[:, j : j + 1] * term
                logw = logw + g[:, j] * pt.log(kappa) + (1 - g[:, j]) * pt.log1p(-kappa)
            if var.kind == "event":
                x = observed.get(v)
                x = pt.as_tensor(float(x)) if x is not None else pt.as_tensor(configs[:, latent.index(v)])
                lp = pm.logp(pm.Bernoulli.dist(logit_p=eta), x)
            else:
                tau = _prior_variable(param_names("noise", v), "noise", v, numbers.noise[v], None)
                if v in measured:  # the measurement pins the level: sample it directly
                    u = pm.Flat(f"u__{v}")  # logit of the level; its density is the line below
                    lp = pm.logp(pm.Normal.dist(eta, tau), u)
                else:  # non-centred about the base rate: no funnel between tau and the level
                    z = pm.Flat(f"z__{v}")
                    u = pm.math.logit(base) + tau * z
                    lp = pm.logp(pm.Normal.dist(eta, tau), u) + pt.log(tau)  # + log |du/dz|
                x = pm.math.sigmoid(u)
                out.levels[v] = x
            lp = pt.broadcast_to(lp, (len(g), len(configs))) + logw[:, None]
            node = pm.math.logsumexp(lp, axis=0)  # (K,)
            for j, (cid, _, _) in enumerate(gated):
                on = pm.math.logsumexp(pt.switch(g[:, j : j + 1] > 0, lp, -np.inf), axis=0)
                out.gates[cid] = pt.exp(on - node)
            total = total + node
            values[v] = x
        for ob in r.evidence:
            if ob.variable not in nodes:
                continue
            x = values[ob.variable]
            if ob.kind == "index":
                pm.Normal(f"meas__{ob.id}", mu=x, sigma=ob.sd)
                out.evidence[f"meas__{ob.id}"] = ob.value
            elif ob.kind == "soft":
                q = ob.accuracy
                total = total + pm.logp(pm.Bernoulli.dist(p=q * x + (1 - q) * (1 - x)), ob.value)
        out.joint = total
        pm.Potential("evidence", pm.math.logsumexp(total))
    return out
