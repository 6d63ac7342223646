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
(each claim's posterior credence). Observed event values and soft reports'
accuracies are ``pm.Data`` (``Marginal.switches``), so the same compiled call
also gives the joint with one observation changed: how
:meth:`forecast.analyses.posterior.Posterior.without` leaves it out.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from forecast.compile.builder import Numbers
from forecast.compile.kinds import Event, Index, report_prob
from forecast.compile.vectors import Layout, hyper_vector, vector_prior
from forecast.spec.limits import MAX_GATES, MAX_LATENT  # also checked up front, by resolve()
from forecast.spec.resolve import Resolved

U, Z = "u__level", "z__level"  # index levels: pinned by a measurement (logit), free (non-centred)
HUGE_NEG = -1e300  # log density of the padding rows (finite: no inf in gradients)


def _table(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)), dtype=float).reshape(2**n, n)


@dataclass
class Marginal:
    """A sampling model with only continuous free variables, and the equations to recover the binaries."""

    model: pm.Model
    evidence: dict[str, float]  # observed measurement variables -> value (for pm.observe)
    latent: list[str]  # latent events, columns of ``configs``
    configs: np.ndarray  # (K, L)
    equations: Callable[..., tuple] = field(repr=False)  # see ``terms``
    gated: list[str] = field(default_factory=list)  # uncertain claims, columns of ``gates``
    level_ids: list[str] = field(default_factory=list)  # index levels, in the order of ``levels``
    layout: Layout = field(default_factory=Layout)  # the prior vectors and hyperparameter data
    # observation id -> (pm.Data name, value that removes it): an observed event's value (flipped, then
    # summed with the original: see Posterior.without) or a soft report's accuracy (1/2: uninformative)
    switches: dict[str, tuple[str, float]] = field(default_factory=dict)
    # the rows of the gate table: row m is one combination of the gates into the variable ``row_var[m]``,
    # ``row_on[m, j]`` = 1 where gate ``gated[j]`` is on in it (see ``terms``' row probabilities)
    row_var: list[str] = field(default_factory=list)
    row_on: np.ndarray | None = None

    def terms(self, values: dict[str, pt.TensorVariable] | None = None, lead: tuple[int, ...] = ()) -> tuple:
        """(joint, gates, levels, rows): log p(configuration, evidence, levels | parameters) (*lead, K),
        P(gate on | k, parameters, evidence) (*lead, K, C), the index levels (*lead, I), and the joint
        posterior of the gates into each variable, P(row m | k, parameters, evidence) (*lead, K, M): the
        rows of one variable (``row_var``) sum to 1.

        Without ``values``, of the model's own random variables; with ``values`` (RV name ->
        tensor (*lead, ...)), of those: e.g. every posterior draw at once (``lead = (T,)``).
        """
        return self.equations(values or {}, lead)


def build_marginal(r: Resolved, numbers: Numbers, nodes: set[str]) -> Marginal:
    """The ancestral system ``nodes`` of ``r``'s evidence, binaries summed out (see module docstring).

    Written over whole arrays (configurations K x rows M, a row per variable and combination
    of the gates into it: M = sum of 2**k_v), with any leading batch shape, so that the graph,
    and its compile time, do not grow with the model, and one graph serves the sampler and the per-draw recovery.
    """
    order = [v for v in r.order if v in nodes]
    pos = {v: i for i, v in enumerate(order)}
    N = len(order)
    observed = {o.variable: o.value for o in r.evidence if o.kind == "event" and o.variable in nodes}
    measured = {o.variable for o in r.evidence if o.kind == "index"}
    latent = [v for v in order if r.variables[v].kind == "event" and v not in observed]
    if len(latent) > MAX_LATENT:
        raise ValueError(
            f"{len(latent)} unobserved events lie upstream of the evidence; at most {MAX_LATENT} can be "
            "summed out exactly (observe some of them or drop evidence)"
        )
    configs = _table(len(latent))
    K = len(configs)
    is_event = np.array([r.variables[v].kind == "event" for v in order])
    claims = [c for v in order for c in r.variables[v].claims_in
              if r.claims[c].cause in pos and numbers.credence[c] > 0.0]
    gated = [c for c in claims if numbers.credence[c] < 1.0]
    index = [v for v in order if r.variables[v].kind == "index"]
    ev, ix = np.flatnonzero(is_event), np.flatnonzero(~is_event)  # node positions of events, of indices
    nodes_by_col = [*ev, *ix]  # the columns of ``lp``: events, then indices
    # One row per (node, combination of the gates into it): 2**k_v rows for a node with k_v gated claims.
    Cg = len(gated)
    cause = np.array([pos[r.claims[c].cause] for c in claims], dtype=int)
    sign = np.array([r.claims[c].sign for c in claims])
    gidx = {c: j for j, c in enumerate(gated)}
    row_node, row_col, row_gates = [], [], []  # per row: its node's position and column; (gated claim, on?)
    for j, n in enumerate(nodes_by_col):
        mine = [c for c in gated if pos[r.claims[c].effect] == n]
        if len(mine) > MAX_GATES:
            raise ValueError(f"{len(mine)} uncertain claims into {order[n]}; at most {MAX_GATES}")
        for g in _table(len(mine)):
            row_node.append(n)
            row_col.append(j)
            row_gates.append(list(zip(mine, g)))
    M = len(row_node)
    row_node, row_col = np.array(row_node, dtype=int), np.array(row_col, dtype=int)
    on = np.zeros((M, Cg))  # row m has gate c on
    off = np.zeros((M, Cg))  # row m belongs to c's effect, with gate c off
    for m, gates in enumerate(row_gates):
        for c, x in gates:
            (on if x else off)[m, gidx[c]] = 1.0
    # claim -> row: an always-on claim pushes every row of its effect, a gated one the rows where it is on
    effect_of = np.array([pos[r.claims[c].effect] for c in claims], dtype=int)
    push_rows = (effect_of[:, None] == row_node[None, :]).astype(float)
    for i, c in enumerate(claims):
        if c in gidx:
            push_rows[i] = on[:, gidx[c]]
    counts = np.bincount(row_col, minlength=N)  # rows of each node column, contiguous
    table = np.full((N, int(counts.max()) if M else 1), M)  # node column -> its rows, padded with M (-huge)
    for j, start in enumerate(np.cumsum(counts) - counts):
        table[j, : counts[j]] = np.arange(start, start + counts[j])
    Me = int(np.sum(is_event[row_node])) if M else 0  # event rows first, then index rows
    pinned = [v for v in index if v in measured]  # the measurement pins the level: sampled directly
    free = [v for v in index if v not in measured]  # non-centred about the base rate: no funnel
    # states (K, N) = configuration columns + observed values + index levels, by masks
    latent_cols = np.zeros((K, N))
    for j, v in enumerate(latent):
        latent_cols[:, pos[v]] = configs[:, j]
    obs_mask = np.array([v in observed for v in order], dtype=float)
    idx_mask = (~is_event).astype(float)

    model = pm.Model()
    lay = Layout()
    with model:
        vector_prior("base", [(v, numbers.base[v]) for v in order], lay)
        vector_prior("effect", [(c, numbers.effect[c]) for c in claims], lay)
        vector_prior("noise", [(v, numbers.noise[v]) for v in index], lay)
        cred = hyper_vector(lay, "hp__credence", [f"hp__credence__{c}" for c in gated],
                            [numbers.credence[c] for c in gated])
        logw = pt.dot(on, pt.log(cred)) + pt.dot(off, pt.log1p(-cred)) if Cg else pt.zeros(M)  # (M,): gate prior
        obs = pt.stack([pm.Data(f"obs__{v}", float(observed[v])) if v in observed else pt.as_tensor(0.0)
                        for v in order]) if N else pt.zeros(0)
        if pinned:
            model.add_coord("u__id", pinned)
            pm.Flat(U, dims=("u__id",))  # logit levels; their density is in the potential
        if free:
            model.add_coord("z__id", free)
            pm.Flat(Z, dims=("z__id",))
        soft = [(ob, pm.Data(f"soft__{ob.id}", ob.accuracy)) for ob in r.evidence
                if ob.kind == "soft" and ob.variable in nodes]

    def equations(values: dict, lead: tuple[int, ...]) -> tuple:
        def rv(name):
            return values.get(name, model[name])

        def mm(a, m, shape):  # (*shape, n) @ (n, m) as one matrix product -> (*shape, m)
            if not m.shape[0]:
                return pt.zeros((*shape, m.shape[1]))
            return pt.dot(a.reshape((-1, m.shape[0])), m).reshape((*shape, m.shape[1]))

        base = lay.assemble("base", values, lead)  # (*lead, N)
        beta = lay.assemble("effect", values, lead)  # (*lead, C)
        noise = lay.assemble("noise", values, lead)  # (*lead, I)
        lb = pm.math.logit(base)
        tau = noise[..., [index.index(order[n]) for n in row_node[Me:]]]  # (*lead, M - Me): index rows
        u = pt.zeros((*lead, N))
        jac = pt.zeros(lead)
        if pinned:
            u = pt.set_subtensor(u[..., [pos[v] for v in pinned]], rv(U))
        if free:
            at = [pos[v] for v in free]
            t = noise[..., [index.index(v) for v in free]]
            u = pt.set_subtensor(u[..., at], lb[..., at] + t * rv(Z))
            jac = pt.log(t).sum(axis=-1)  # log |du/dz|
        level = pm.math.sigmoid(u)
        X = latent_cols + obs_mask * obs + idx_mask * level[..., None, :]  # (*lead, K, N)
        push = X[..., cause] * (sign * beta)[..., None, :]  # (*lead, K, C): s_c beta_c x_cause(c)
        eta = lb[..., None, row_node] + mm(push, push_rows, (*lead, K))  # (*lead, K, M): every row's propensity
        # each row's density: event rows and index rows apart
        parts = []
        if Me:
            parts.append(Event.logp(eta[..., :Me], X[..., row_node[:Me]]))
        if M > Me:
            value = pt.broadcast_to(u[..., None, row_node[Me:]], (*lead, K, M - Me))
            parts.append(Index.logp(eta[..., Me:], value, tau[..., None, :]))
        lp = (parts[0] if len(parts) == 1 else pt.concatenate(parts, axis=-1)) + logw  # (*lead, K, M)
        pad = pt.concatenate([lp, pt.full((*lead, K, 1), np.asarray(HUGE_NEG))], axis=-1)
        node = pm.math.logsumexp(pad[..., table], axis=-1)  # (*lead, K, N): gates summed per node
        rows = pt.exp(lp - node[..., row_col])  # (*lead, K, M): each variable's gate combinations given k
        if gated:  # P(gate c on | k, ...): the probability of the rows of c's effect where c is on
            gates = mm(rows, on, (*lead, K))  # (*lead, K, Cg)
        else:
            gates = pt.zeros((*lead, K, 0))
        total = node.sum(axis=-1) + jac[..., None]
        for ob, q in soft:
            x = X[..., pos[ob.variable]]
            total = total + pt.log(report_prob(x, float(ob.value), q))
        levels = level[..., [pos[v] for v in index]] if index else pt.zeros((*lead, 0))
        return total, gates, levels, rows

    out = Marginal(model, {}, latent, configs, equations, list(gated), list(index), lay,
                   row_var=[order[n] for n in row_node], row_on=on)
    with model:
        joint, _, levels, _ = out.terms()
        for ob in r.evidence:
            if ob.variable not in nodes:
                continue
            if ob.kind == "event":
                out.switches[ob.id] = (f"obs__{ob.variable}", 1.0 - observed[ob.variable])
            elif ob.kind == "index":
                pm.Normal(f"meas__{ob.id}", mu=levels[index.index(ob.variable)], sigma=ob.sd)
                out.evidence[f"meas__{ob.id}"] = ob.value
            elif ob.kind == "soft":
                out.switches[ob.id] = (f"soft__{ob.id}", 0.5)
        pm.Potential("evidence__lp", pm.math.logsumexp(joint))
    return out
