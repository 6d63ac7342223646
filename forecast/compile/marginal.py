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
  exactly one variable's propensity; beyond ``MAX_GATES`` of them on a grid
  (:mod:`forecast.compile.convolution`: a row per grid point, the weights the
  convolved distribution of their sum), within a bound the recovery states
  (``Local.slack``);
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

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from forecast.compile import convolution
from forecast.compile.builder import Numbers
from forecast.compile.elimination import TINY, log_partition
from forecast.compile.kinds import Event, Index, report_prob
from forecast.compile.rows import combinations, row_tables
from forecast.compile.vectors import Layout, hyper_vector, vector_prior
from forecast.spec.limits import MAX_GATES, MAX_LATENT, MAX_SCOPE, MAX_WIDTH, factor_scopes  # checked up front too
from forecast.spec.order import Plan, plan
from forecast.spec.resolve import Resolved

U, Z = "u__level", "z__level"  # index levels: pinned by a measurement (logit), free (non-centred)
HUGE_NEG = -1e300  # log density of the padding rows (finite: no inf in gradients)


@dataclass
class Local:
    """The evidence's equations at each variable's local configurations (see :meth:`Marginal.local`)."""

    node: pt.TensorVariable  # (*lead, Kx, N): log factor of each variable (column: ``Marginal.columns``), gates summed
    soft: list  # [(column, (*lead, Kx) log P(report | state))]: soft reports, added to their variable's factor
    jac: pt.TensorVariable  # (*lead,): log |du/dz| of the non-centred index levels
    levels: pt.TensorVariable  # (*lead, I)
    rows: pt.TensorVariable  # (*lead, Kx, M): P(gate combination m | local configuration, parameters, evidence)
    lp: pt.TensorVariable  # (*lead, Kx, M): log p(gate combination m, the variable's state | local configuration)
    # variables whose gates are summed on a grid (Marginal.gridded; None: none are): P(gate c on | local
    # configuration, ...) of their gates (*lead, Kx, C; 0 for the other gates), and log(1 + the most the grid can
    # have moved each column's factor, relative) (*lead, Kx, N; 0 for the exact columns)
    grid_gates: pt.TensorVariable | None = None
    slack: pt.TensorVariable | None = None
    # per gridded column: (its claims' columns in ``gated``, the Chain of its gated sum) (the abduction's inputs)
    chains: dict = field(default_factory=dict)


@dataclass
class Marginal:
    """A sampling model with only continuous free variables, and the equations to recover the binaries.

    Two ways to sum the latent events out, one set of equations: up to ``MAX_LATENT`` of them every joint
    configuration is enumerated (``configs``, K = 2**L); beyond, each variable's factor is written over its own
    few latent events (``scopes``: itself and its latent causes; Kx = 2**(largest scope) local configurations)
    and the events are eliminated one at a time (``plan``; :mod:`forecast.compile.elimination`). Either way a
    variable's column of :meth:`local` holds its log factor at "local configuration" ``k``: the global one
    (enumerated), or its own scope's (eliminated), ``node_state`` saying which state each variable is in.
    """

    model: pm.Model
    evidence: dict[str, float]  # observed measurement variables -> value (for pm.observe)
    latent: list[str]  # latent events
    configs: np.ndarray | None  # (K, L) enumerated joint states of ``latent``; None when eliminated
    equations: Callable[..., Local] = field(repr=False)  # see ``local``
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
    columns: list[str] = field(default_factory=list)  # the variable of each column of ``Local.node``
    node_state: np.ndarray | None = None  # (Kx, N): a latent variable's state in its column's local configuration k
    scopes: list[tuple[int, ...]] = field(default_factory=list)  # per column: its factor's latent events (eliminated)
    plan: Plan | None = None  # the elimination order (None: enumerated)
    # column -> its uncertain claims, for the variables with more than ``max_gates`` of them: their gates are
    # summed on a grid (forecast.compile.convolution), a row per grid point (``row_grid``) instead of per
    # combination; answers are then within a stated bound (Local.slack), not exact
    gridded: dict[int, list[str]] = field(default_factory=dict)
    row_grid: np.ndarray | None = None  # (M,): a row's grid point (-1: a gate combination)
    grid: int = 0  # the grid's points (forecast.compile.convolution.GRID unless asked otherwise)
    gate_col: list[int] = field(default_factory=list)  # the column of each uncertain claim's effect (``gated``)

    @property
    def eliminated(self) -> bool:
        return self.configs is None

    def local(self, values: dict[str, pt.TensorVariable] | None = None, lead: tuple[int, ...] = ()) -> Local:
        """Each variable's factor at its local configurations (:class:`Local`): of the model's own random variables,
        or with ``values`` (RV name -> tensor (*lead, ...)) of those: e.g. every posterior draw at once."""
        return self.equations(values or {}, lead)

    def tables(self, loc: Local) -> list:
        """The eliminated path's factor tables: per column, (*lead, 2, ...) over its scope (soft reports in)."""
        node = loc.node
        for j, term in loc.soft:
            node = pt.inc_subtensor(node[..., j], term)
        return [table(node[..., j], len(s)) for j, s in enumerate(self.scopes)]

    def log_evidence(self, loc: Local, unary: pt.TensorVariable | None = None) -> pt.TensorVariable:
        """(*lead,): log p(evidence, levels | parameters), the latent events summed out; ``unary`` (L, 2): log
        weights of each latent event's states (a further observation), added as factors of their own."""
        if not self.eliminated:
            joint = self._joint(loc)
            if unary is not None:
                joint = joint + (unary[np.arange(len(self.latent)), self.configs.astype(int)].sum(axis=-1)
                                 if self.latent else 0.0)
            return pm.math.logsumexp(joint, axis=-1)
        tabs = self.tables(loc)
        if unary is not None:
            tabs += [pt.broadcast_to(unary[i], (*loc.jac.shape, 2)) for i in range(len(self.latent))]
        return log_partition(pt, self.plan_for(unary is not None), tabs) + loc.jac

    def plan_for(self, unary: bool) -> Plan:
        """The elimination order, with each latent event's unary factor appended when ``unary``."""
        if not unary:
            return self.plan
        return plan(len(self.latent), [*self.scopes, *((i,) for i in range(len(self.latent)))])

    def _joint(self, loc: Local) -> pt.TensorVariable:
        """(*lead, K): log p(configuration k, evidence, levels | parameters) (enumerated)."""
        total = loc.node.sum(axis=-1) + loc.jac[..., None]
        for _, term in loc.soft:
            total = total + term
        return total

    def terms(self, values: dict[str, pt.TensorVariable] | None = None, lead: tuple[int, ...] = ()) -> tuple:
        """(joint, gates, levels, rows) of the enumerated path: log p(configuration, evidence, levels | parameters)
        (*lead, K), P(gate on | k, parameters, evidence) (*lead, K, C), the index levels (*lead, I), and the joint
        posterior of the gates into each variable, P(row m | k, parameters, evidence) (*lead, K, M): the
        rows of one variable (``row_var``) sum to 1."""
        loc = self.local(values, lead)
        return self._joint(loc), self.gates(loc), loc.levels, loc.rows

    def gates(self, loc: Local) -> pt.TensorVariable:
        """P(gate c on | local configuration, ...) (*lead, Kx, C): the probability of the rows of c's effect where
        c is on (a gridded variable's: from its chain, ``Local.grid_gates``)."""
        if not self.gated:
            return pt.zeros((*loc.rows.shape[:-1], 0))
        out = _mm(loc.rows, self.row_on)
        return out if loc.grid_gates is None else out + loc.grid_gates



def table(column: pt.TensorVariable, k: int) -> pt.TensorVariable:
    """A column (*lead, Kx) of local configurations -> the (*lead, 2, ..., 2) table over its first 2**k."""
    lead = [column.shape[i] for i in range(column.ndim - 1)]
    return column[..., : 2**k].reshape((*lead, *([2] * k)))


def _mm(a, m):  # (*shape, n) @ (n, m) as one matrix product -> (*shape, m)
    shape = tuple(a.shape[:-1])
    if not m.shape[0]:
        return pt.zeros((*shape, m.shape[1]))
    return pt.dot(a.reshape((-1, m.shape[0])), m).reshape((*shape, m.shape[1]))


def _bits(k: int, kx: int) -> np.ndarray:
    """(kx, k): bit j of local configuration x (the first of a scope's events the most significant), for x
    beyond 2**k the pattern repeating (those rows are never read)."""
    x = np.arange(kx) % (2**k) if k else np.zeros(kx, dtype=int)
    return ((x[:, None] >> (k - 1 - np.arange(k))[None, :]) & 1).astype(float)


def build_marginal(r: Resolved, numbers: Numbers, nodes: set[str], method: str = "auto",
                   max_gates: int = MAX_GATES, grid: int = convolution.GRID) -> Marginal:
    """The ancestral system ``nodes`` of ``r``'s evidence, binaries summed out (see module docstring).

    ``method``: "enumerate" (every joint configuration of the latent events), "eliminate" (one at a time), or
    "auto": enumerate up to ``MAX_LATENT`` of them. The gates into a variable are enumerated up to
    ``max_gates`` of them, beyond that summed on a grid of ``grid`` points (:mod:`forecast.compile.convolution`).
    Written over whole arrays (local configurations Kx x rows M, a row per variable and combination of the gates
    into it, or per grid point: M = sum of 2**k_v), with any leading batch shape,
    so that one graph serves the sampler and the per-draw recovery.
    """
    order = [v for v in r.order if v in nodes]
    pos = {v: i for i, v in enumerate(order)}
    N = len(order)
    observed = {o.variable: o.value for o in r.evidence if o.kind == "event" and o.variable in nodes}
    measured = {o.variable for o in r.evidence if o.kind == "index"}
    latent = [v for v in order if r.variables[v].kind == "event" and v not in observed]
    eliminate = method == "eliminate" or (method == "auto" and len(latent) > MAX_LATENT)
    is_event = np.array([r.variables[v].kind == "event" for v in order])
    claims = [c for v in order for c in r.variables[v].claims_in
              if r.claims[c].cause in pos and numbers.credence[c] > 0.0]
    gated = [c for c in claims if numbers.credence[c] < 1.0]
    index = [v for v in order if r.variables[v].kind == "index"]
    ev, ix = np.flatnonzero(is_event), np.flatnonzero(~is_event)  # node positions of events, of indices
    nodes_by_col = [*ev, *ix]  # the columns of ``lp``: events, then indices
    columns = [order[n] for n in nodes_by_col]
    cause = np.array([pos[r.claims[c].cause] for c in claims], dtype=int)
    sign = np.array([r.claims[c].sign for c in claims])
    gidx = {c: j for j, c in enumerate(gated)}
    rt = row_tables(claims, gated, {c: pos[r.claims[c].effect] for c in claims}, nodes_by_col, is_event,
                    max_gates, grid)
    M, Me, row_node, row_col = rt.M, rt.events, rt.node, rt.col
    gridded, counts, starts = rt.gridded, rt.counts, rt.starts
    pinned = [v for v in index if v in measured]  # the measurement pins the level: sampled directly
    free = [v for v in index if v not in measured]  # non-centred about the base rate: no funnel
    # The latent states at the local configurations: ``node_state`` (Kx, N) of each variable in its own
    # column's configuration, ``cause_state`` (Kx, C) of each claim's cause in its effect's.
    configs, plan_, scopes = None, None, []
    if not eliminate:
        if len(latent) > MAX_LATENT:
            raise ValueError(f"{len(latent)} unobserved events lie upstream of the evidence; at most {MAX_LATENT} "
                             "can be enumerated (eliminate them instead)")
        configs = combinations(len(latent))
        node_state = np.zeros((len(configs), N))
        for j, v in enumerate(latent):
            node_state[:, pos[v]] = configs[:, j]
        cause_state = node_state[:, cause]
    else:
        by_var = factor_scopes(r, nodes, latent, numbers.credence)
        scopes = [by_var[v] for v in columns]  # the factors in column order
        plan_ = plan(len(latent), scopes)
        if plan_.width > MAX_WIDTH or max(map(len, scopes), default=0) > MAX_SCOPE:
            raise ValueError(f"summing the latent events out couples {plan_.width + 1} at once (at most "
                             f"{MAX_WIDTH + 1}), {max(map(len, scopes))} in one equation (at most {MAX_SCOPE})")
        Kx = 2 ** max((len(s) for s in scopes), default=0)
        node_state = np.zeros((Kx, N))
        cause_state = np.zeros((Kx, len(claims)))
        for v in order:
            s = by_var[v]
            bits = _bits(len(s), Kx)
            if v in latent:
                node_state[:, pos[v]] = bits[:, s.index(latent.index(v))]
            for i, c in enumerate(claims):
                u = r.claims[c].cause
                if r.claims[c].effect == v and u in latent:
                    cause_state[:, i] = bits[:, s.index(latent.index(u))]
    Kx = len(node_state)
    obs_mask = np.array([v in observed for v in order], dtype=float)
    idx_mask = (~is_event).astype(float)
    soft_cols = {ob.id: columns.index(ob.variable) for ob in r.evidence if ob.kind == "soft" and ob.variable in nodes}

    model = pm.Model()
    lay = Layout()
    with model:
        vector_prior("base", [(v, numbers.base[v]) for v in order], lay)
        vector_prior("effect", [(c, numbers.effect[c]) for c in claims], lay)
        vector_prior("noise", [(v, numbers.noise[v]) for v in index], lay)
        cred = hyper_vector(lay, "hp__credence", [f"hp__credence__{c}" for c in gated],
                            [numbers.credence[c] for c in gated])
        logw = pt.dot(rt.on, pt.log(cred)) + pt.dot(rt.off, pt.log1p(-cred)) if gated else pt.zeros(M)  # (M,)
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

    def equations(values: dict, lead: tuple[int, ...]) -> Local:
        def rv(name):
            return values.get(name, model[name])

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
        # (*lead, Kx, N): each variable's state in its column's configuration; (*lead, Kx, C): each claim's cause in
        # its effect's (enumerated: the one global configuration, so the same table)
        X = node_state + obs_mask * obs + idx_mask * level[..., None, :]
        Xc = cause_state + (obs_mask * obs + idx_mask * level)[..., None, cause] if eliminate else X[..., cause]
        push = Xc * (sign * beta)[..., None, :]  # (*lead, Kx, C): s_c beta_c x_cause(c)
        eta = lb[..., None, row_node] + _mm(push, rt.push)  # (*lead, Kx, M): every row's propensity
        chains, qs = {}, {}
        if gridded:  # a gridded variable's rows: the gated sum at each grid point, its probability added to lp
            shift, weight = [], []
            for j in range(len(columns)):
                if j not in gridded:
                    shift.append(pt.zeros((*lead, Kx, int(counts[j]))))
                    weight.append(pt.zeros((*lead, Kx, int(counts[j]))))
                    continue
                ids = gridded[j]
                qs[j] = pt.broadcast_to(cred[[gidx[c] for c in ids]], (*lead, Kx, len(ids)))
                ch = convolution.chain(pt, push[..., [claims.index(c) for c in ids]], qs[j], grid, len(ids))
                chains[j] = ([gidx[c] for c in ids], ch)
                shift.append(convolution.values(pt, ch))
                weight.append(pt.log(pt.maximum(convolution.messages(pt, ch), np.asarray(TINY))))
            eta = eta + pt.concatenate(shift, axis=-1)
        # each row's density: event rows and index rows apart
        parts = []
        if Me:
            parts.append(Event.logp(eta[..., :Me], X[..., row_node[:Me]]))
        if M > Me:
            value = pt.broadcast_to(u[..., None, row_node[Me:]], (*lead, Kx, M - Me))
            parts.append(Index.logp(eta[..., Me:], value, tau[..., None, :]))
        lp = (parts[0] if len(parts) == 1 else pt.concatenate(parts, axis=-1)) + logw  # (*lead, Kx, M)
        if gridded:
            lp = lp + pt.concatenate(weight, axis=-1)
        pad = pt.concatenate([lp, pt.full((*lead, Kx, 1), np.asarray(HUGE_NEG))], axis=-1)
        node = pm.math.logsumexp(pad[..., rt.table], axis=-1)  # (*lead, Kx, N): gates summed per node
        for j in gridded:
            node = pt.set_subtensor(node[..., j], pm.math.logsumexp(lp[..., starts[j]: starts[j] + counts[j]],
                                                                   axis=-1))
        grid_gates = slack = None
        if gridded:
            grid_gates, slack = pt.zeros((*lead, Kx, len(gated))), pt.zeros((*lead, Kx, N))
            for j, (cols, ch) in chains.items():
                q = qs[j]
                # the factor is linear in each gate's probability: P(on | ...) = q (1 + (1 - q) d log F / d q)
                d = pt.grad(node[..., j].sum(), q)
                grid_gates = pt.set_subtensor(grid_gates[..., cols], q * (1.0 + (1.0 - q) * d))
                # the propensities the sum and its rounding span: the column's first to last grid row
                lo, hi = eta[..., starts[j]], eta[..., starts[j] + counts[j] - 1]
                n = nodes_by_col[j]
                if is_event[n]:
                    curv = Event.curvature(lo, hi)
                else:
                    curv = Index.curvature(lo, hi, u[..., n, None], noise[..., index.index(columns[j]), None])
                delta = convolution.bound(pt, ch, curv)  # (*lead, Kx): the most the factor can have moved
                rel = delta / pt.maximum(pt.exp(node[..., j]) - delta, np.asarray(TINY))
                slack = pt.set_subtensor(slack[..., j], pt.log1p(pt.minimum(rel, np.asarray(1e300))))
        rows = pt.exp(lp - node[..., row_col])  # (*lead, Kx, M): each variable's gate combinations given k
        terms = [(soft_cols[ob.id], pt.log(report_prob(X[..., pos[ob.variable]], float(ob.value), q)))
                 for ob, q in soft]
        levels = level[..., [pos[v] for v in index]] if index else pt.zeros((*lead, 0))
        return Local(node, terms, jac, levels, rows, lp, grid_gates, slack, chains)

    out = Marginal(model, {}, latent, configs, equations, list(gated), list(index), lay,
                   row_var=[order[n] for n in row_node], row_on=rt.on, columns=columns,
                   node_state=node_state[:, nodes_by_col], scopes=scopes, plan=plan_, gridded=gridded,
                   row_grid=rt.grid, grid=grid, gate_col=[nodes_by_col.index(pos[r.claims[c].effect]) for c in gated])
    with model:
        loc = out.local()
        for ob in r.evidence:
            if ob.variable not in nodes:
                continue
            if ob.kind == "event":
                out.switches[ob.id] = (f"obs__{ob.variable}", 1.0 - observed[ob.variable])
            elif ob.kind == "index":
                pm.Normal(f"meas__{ob.id}", mu=loc.levels[index.index(ob.variable)], sigma=ob.sd)
                out.evidence[f"meas__{ob.id}"] = ob.value
            elif ob.kind == "soft":
                out.switches[ob.id] = (f"soft__{ob.id}", 0.5)
        pm.Potential("evidence__lp", out.log_evidence(loc) if eliminate else pm.math.logsumexp(out._joint(loc)))
    return out
