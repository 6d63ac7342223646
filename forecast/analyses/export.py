r"""The model as a discrete Bayesian network for other tools (``forecast export``).

Every variable gets a conditional probability table (CPT) at one set of
parameter values (:func:`parameter_values`: the prior means, the posterior
means, or one draw), from the model's equations (the state equations and densities of
:mod:`forecast.compile.kinds`, as the builder and the marginal model use them):

.. math::

    \eta_v = \operatorname{logit}(b_v) + \sum_{c \in C(v)} g_c \, s_c \, \beta_c \, x_{\mathrm{cause}(c)}

* **gates** :math:`g_c \sim \operatorname{Bernoulli}(\kappa_c)` (the claims' prior credences) are summed out
  inside the CPT of the one variable each enters: :math:`P(x_v \mid \text{parents}) = \sum_g w(g)\,
  P(x_v \mid \eta_v(g))`, :math:`w(g) = \prod_j \kappa_j^{g_j} (1-\kappa_j)^{1-g_j}` (:math:`2^k` terms for
  :math:`k` uncertain claims into :math:`v`). This is exact: a gate is a root with one child. A claim of
  credence 1 has no gate; one of credence 0 is left out, as in the builder. Beyond ``MAX_GATES`` uncertain
  claims into one variable the gates are summed on a grid, as the engine does
  (:mod:`forecast.compile.convolution`), and the notes give the most any entry of that table can be off;
* an **event**: two states ``false``, ``true``; :math:`P(\text{true} \mid \cdot) = \sigma(\eta_v)`;
* an **index** :math:`x_v = \sigma(\eta_v + \tau_v z)` on (0, 1) is cut into ``bins`` equal-width bins
  (default 5: (0, 0.2], ..., (0.8, 1)); its CPT is the logit-normal's exact mass in each bin,
  :math:`\Phi((\operatorname{logit} e_{j+1} - \eta_v)/\tau_v) - \Phi((\operatorname{logit} e_j - \eta_v)/\tau_v)`.
  As a **parent**, an index enters its child's :math:`\eta` through its bin's **midpoint**
  (0.1, 0.3, ... with 5 bins): an approximation (the level within a bin is not one number, and its
  spread within the bin depends on the index's own parents). A network with an index says so in
  :attr:`Exported.notes`, printed on stderr and written into the file where the format has room
  (BIF: ``//`` comments; XMLBIF: the network's and each variable's ``PROPERTY``; UAI: none).
  A network of events only is exact.

**Evidence** is not built into the tables: the exported network is the prior network at those parameter
values, and the receiving tool enters the evidence. Observed events are listed in the notes; a soft
report on an event (accuracy :math:`q`) becomes a node ``report__<observation id>``, child of its event,
with CPT :math:`P(\text{report} = x \mid \text{event} = x) = q`, to be set to the reported value; an index
measurement :math:`m \sim \operatorname{Normal}(x_v, \mathrm{sd})` has no exact discrete form: the notes
give its likelihood at each bin's midpoint, to enter as likelihood ("virtual") evidence on the index.

**Formats** (pgmpy's writers): BIF (``BIFWriter``), XMLBIF (``XMLBIFWriter``; pyAgrum reads it from a file
named ``*.bifxml``), XDSL (``XDSLWriter``: GeNIe's own format; the node boxes laid out by depth here instead
of pgmpy's random positions, so the same model gives the same file; pgmpy reads it back exactly, pyAgrum 3.3
reads tables of two or more parents in another order) and UAI. pgmpy's ``UAIWriter`` lists each table with
the child's state changing slowest, and pyAgrum's UAI reader with the first parent changing fastest after
the child; the UAI format's own rule is "the last variable of the scope changes fastest" (the child, last in the scope).
The UAI file written here follows the format's rule (pgmpy's ``UAIWriter``, tables in that order, one
table per variable in variable order), for UAI solvers; pgmpy's ``UAIReader`` and pyAgrum's UAI reader
read its tables with more than one parent in their own orders: read BIF or XMLBIF into those.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
from scipy.stats import truncnorm

with warnings.catch_warnings():  # pgmpy's own import-time notices
    warnings.simplefilter("ignore")
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork
    from pgmpy.readwrite import BIFWriter, UAIWriter, XDSLWriter, XMLBIFWriter

from forecast.compile import Numbers, convolution
from forecast.compile.kinds import Event, Index, measurement_logp
from forecast.spec import limits
from forecast.spec.errors import Problem, SpecError
from forecast.spec.outputs import write_atomic
from forecast.spec.resolve import Resolved

FORMATS = limits.EXPORT_FORMATS
DEFAULT_BINS, MAX_BINS = 5, limits.EXPORT_BINS[1]
EVENT_STATES = ("false", "true")
MAX_ENTRIES = 2**22  # the most numbers one table may hold (about 4 million: a 32 MB table, a few seconds)


@dataclass
class Exported:
    """A model as a pgmpy network at fixed parameter values, and what a reader must know about it."""

    network: DiscreteBayesianNetwork
    notes: list[str]  # what is approximate, how to enter the evidence
    values: dict[str, float]  # the parameters used: base__v, effect__c (magnitude), noise__v
    credence: dict[str, float]  # the claims' gate probabilities
    edges: dict[str, np.ndarray] = field(default_factory=dict)  # index -> its bins' edges (bins + 1)
    approximate: bool = False  # an index exists: its bins' midpoints stand in for its level as a parent


# --------------------------------------------------------------------------- parameter values


def parse_at(text: str, draws: int | None = None) -> tuple[str, int | None]:
    """``--at`` (:func:`forecast.spec.limits.parse_at`); a bad one is a SpecError naming it."""
    try:
        return limits.parse_at(text, draws)
    except ValueError as err:
        raise SpecError([Problem("--at", str(text).strip() or "(empty)", str(err))]) from None


def prior_mean(prior: dict) -> float:
    """The mean of a Prior dict (``{"dist": ..., "kwargs": ...}``, the registry of :mod:`forecast.spec.resolve`)."""
    dist, kw = prior["dist"], {k: float(x) for k, x in prior["kwargs"].items()}
    if dist == "DiracDelta":
        return kw["c"]
    if dist == "Beta":
        return kw["mu"] if "mu" in kw else kw["alpha"] / (kw["alpha"] + kw["beta"])
    if dist == "Gamma":
        return kw["mu"] if "mu" in kw else kw["alpha"] / kw["beta"]
    sigma = kw.get("sigma", 1.0 / math.sqrt(kw["tau"]) if "tau" in kw else 1.0)
    if dist == "HalfNormal":
        return sigma * math.sqrt(2.0 / math.pi)
    if dist == "LogNormal":
        return math.exp(kw.get("mu", 0.0) + sigma**2 / 2.0)
    if dist == "Normal":
        return kw.get("mu", 0.0)
    if dist == "TruncatedNormal":
        mu, lo, hi = kw.get("mu", 0.0), kw.get("lower", -np.inf), kw.get("upper", np.inf)
        return float(truncnorm.mean((lo - mu) / sigma, (hi - mu) / sigma, loc=mu, scale=sigma))
    if dist == "Uniform":
        return (kw["lower"] + kw["upper"]) / 2.0
    raise ValueError(f"no mean for a {dist} prior")


def prior_means(numbers: Numbers) -> dict[str, float]:
    """Every parameter's prior mean as ``kind__ident``: base rates, strengths (magnitudes), index noise."""
    out = {f"base__{v}": prior_mean(p) for v, p in numbers.base.items()}
    out.update({f"effect__{c}": prior_mean(p) for c, p in numbers.effect.items()})
    out.update({f"noise__{v}": prior_mean(p) for v, p in numbers.noise.items()})
    return out


def parameter_values(session, at: str, draw: int | None = None, r: Resolved | None = None) -> dict[str, float]:
    """The parameters at ``at`` (see :func:`parse_at`) for ``session`` (a :class:`~forecast.analyses.session.Session`).

    ``prior-mean``: the prior means (exact, nothing sampled). ``posterior-mean``: the mean over the
    session's draws: the posterior's where the model has evidence (the continuous parameters of the
    evidence's ancestral set, sampled by NUTS), the prior's elsewhere (the same draws a run simulates
    from); without evidence the prior draws' mean. ``draw``: draw number ``draw`` (from 0) of those.
    A fixed parameter (a number, a ``DiracDelta``) is its value in every case.
    """
    r = r or session.baseline
    numbers = Numbers.of(r)
    values = prior_means(numbers)
    if at == "prior-mean":
        return values
    if at == "draw":
        parse_at(f"draw:{draw}", session.draws)  # one of the session's draws, or a SpecError naming it
    theta = session.engine(numbers, r).sample_theta(numbers, session.seed)
    if r.evidence:
        theta.update(session.runs.posterior(r, numbers).theta)
    pick = (lambda x: float(np.mean(x))) if at == "posterior-mean" else (lambda x: float(x[draw]))  # noqa: E731
    values.update({k: pick(np.asarray(x, dtype=float)) for k, x in theta.items() if k in values})
    return values


# --------------------------------------------------------------------------- the network


def bin_edges(bins: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, int(bins) + 1)


def bin_states(edges: np.ndarray) -> list[str]:
    """``b1_00_20``, ...: the bin's number and its ends in hundredths (identifiers: GeNIe, XMLBIF)."""
    ends = zip(edges[:-1], edges[1:])
    return [f"b{j + 1}_{round(100 * lo):02d}_{round(100 * hi):02d}" for j, (lo, hi) in enumerate(ends)]


def _logit(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


def cpt(r: Resolved, v: str, values: dict[str, float], credence: dict[str, float], reps: dict[str, np.ndarray],
        edges: np.ndarray) -> tuple[np.ndarray, list[str], float | None]:
    """The CPT of ``v`` (states x parent configurations, last parent fastest, as pgmpy's ``TabularCPD``),
    its parents, and the most any entry can be off where its gates are summed on a grid (None: exact);
    ``reps[p]``: the value each state of parent ``p``
    stands for (events 0, 1; an index its bins' midpoints). Gates summed out exactly up to ``MAX_GATES`` of
    them, beyond that on a grid (module docstring)."""
    claims, parents = _claims_parents(r, v, credence)
    rows = list(itertools.product(*(reps[p] for p in parents)))  # parent configurations, last parent fastest
    x = np.array(rows, dtype=float).reshape(len(rows), len(parents))
    gated = [c for c in claims if credence[c] < 1.0]
    kappa = np.array([credence[c] for c in gated], dtype=float)

    def push(c):  # (configs,): the claim's push at each parent configuration
        return r.claims[c].sign * values[f"effect__{c}"] * x[:, parents.index(r.claims[c].cause)]

    eta0 = np.full(len(x), float(_logit(np.float64(values[f"base__{v}"])))) + sum(
        (push(c) for c in claims if c not in gated), np.zeros(len(x)))
    ch = None
    if len(gated) > limits.MAX_GATES:  # the gated sum on a grid: eta (configs, points), weight of each point
        ch = convolution.chain(np, np.stack([push(c) for c in gated], axis=1), kappa)
        w = convolution.messages(np, ch)
        eta = eta0[:, None] + convolution.values(np, ch)
    else:  # every combination of the gates: eta (configs, G), its prior weight
        g = np.array(list(itertools.product((0.0, 1.0), repeat=len(gated))), dtype=float).reshape(2**len(gated),
                                                                                          len(gated))
        w = np.prod(np.where(g == 1.0, kappa, 1.0 - kappa), axis=1)[None, :]
        eta = eta0[:, None] + sum((push(c)[:, None] * g[None, :, j] for j, c in enumerate(gated)), 0.0)
    if r.variables[v].kind == "event":
        p1 = (Event.p1(eta) * w).sum(axis=-1)
        table = np.vstack([1.0 - p1, p1])
        curvature = Event.PEAK
    else:
        tau, cuts = values[f"noise__{v}"], _logit(edges)  # cuts: -inf ... +inf
        cdf = Index.below(cuts[:, None, None], eta[None], tau)  # (bins + 1, configs, G)
        table = (np.diff(cdf, axis=0) * w[None]).sum(axis=-1)
        table = table / table.sum(axis=0, keepdims=True)
        curvature = Index.bin_curvature(tau)
    off = None if ch is None else float(np.max(convolution.bound(np, ch, curvature), initial=0.0))
    return table, parents, off


def _claims_parents(r: Resolved, v: str, credence: dict[str, float]) -> tuple[list[str], list[str]]:
    """The claims into ``v`` that are in the network (credence above 0) and their causes, its parents."""
    claims = [c for c in r.variables[v].claims_in if credence[c] > 0.0]
    return claims, list(dict.fromkeys(r.claims[c].cause for c in claims))


def _too_large(r: Resolved, credence: dict[str, float], states: dict[str, list[str]]) -> list[Problem]:
    """A Problem per variable whose table (or its enumeration of gates) would exceed ``MAX_ENTRIES``."""
    out = []
    for v in r.order:
        claims, parents = _claims_parents(r, v, credence)
        k = sum(credence[c] < 1.0 for c in claims)
        n = len(states[v]) * int(np.prod([len(states[p]) for p in parents], dtype=float))
        work = n * (2**k if k <= limits.MAX_GATES else convolution.GRID + k)
        if n > MAX_ENTRIES or work > 16 * MAX_ENTRIES:
            out.append(Problem(str(r.model.path), f"variables.{v}", (
                f"its table would hold {n:,} numbers ({len(parents)} parents: {', '.join(parents[:8])}"
                f"{', …' if len(parents) > 8 else ''}); a table may hold at most {MAX_ENTRIES:,} (use fewer "
                "index bins, --bins, or fewer claims into it)")))
    return out


def network(r: Resolved, values: dict[str, float], bins: int = DEFAULT_BINS) -> Exported:
    """``r`` as a pgmpy ``DiscreteBayesianNetwork`` at the parameters ``values`` (:func:`parameter_values`),
    gates at the claims' credences, indices in ``bins`` equal-width bins; with report nodes for soft
    reports and notes on what is approximate and how to enter the evidence."""
    if not limits.EXPORT_BINS[0] <= int(bins) <= MAX_BINS:
        raise SpecError([Problem("--bins", str(bins), f"expected a whole number from {limits.EXPORT_BINS[0]} to "
                                                      f"{MAX_BINS}")])
    credence = {c: float(k) for c, k in Numbers.of(r).credence.items()}
    edges = bin_edges(bins)
    mids = (edges[:-1] + edges[1:]) / 2.0
    index = [v for v in r.order if r.variables[v].kind == "index"]
    states = {v: list(bin_states(edges)) if v in index else list(EVENT_STATES) for v in r.order}
    reps = {v: mids if v in index else np.array([0.0, 1.0]) for v in r.order}
    if problems := _too_large(r, credence, states):
        raise SpecError(problems)
    bn = DiscreteBayesianNetwork()
    bn.add_nodes_from(r.order)
    bn.name = r.model.info.id
    cpds, gridded = [], []
    for v in r.order:
        table, parents, off = cpt(r, v, values, credence, reps, edges)
        if off is not None:
            gridded.append((v, off))
        bn.add_edges_from((p, v) for p in parents)
        cpds.append(TabularCPD(v, len(states[v]), table, evidence=parents or None,
                               evidence_card=[len(states[p]) for p in parents] or None,
                               state_names={u: states[u] for u in (v, *parents)}))
        if v in index:
            bn.nodes[v]["note"] = (f"index on (0 1) in {bins} equal-width bins (edges "
                                   f"{' '.join(f'{e:g}' for e in edges)}); as a parent it counts as its bin's midpoint")
        else:
            bn.nodes[v]["note"] = "event"
    notes = []
    if index:
        notes.append(
            f"APPROXIMATE: the indices ({', '.join(index)}) are cut into {bins} equal-width bins on (0, 1); an "
            f"index's table is the exact logit-normal mass in each bin, but as a parent an index counts as its "
            f"bin's midpoint ({', '.join(f'{m:g}' for m in mids)}), so the tables of its children are approximate")
    elif not gridded:
        notes.append("exact: every variable is an event and every claim's gate is summed out in its table")
    for v, off in gridded:
        n = len(limits.gated_claims(r, v))
        notes.append(f"APPROXIMATE: the gates of the {n} uncertain claims into {v} are summed on a "
                     f"{convolution.GRID}-point grid: each entry of its table is within ±{off:.2g} of exact summation")
    for o in r.evidence:
        if o.kind == "event":
            notes.append(f"evidence {o.id}: enter {o.variable} = {EVENT_STATES[int(o.value)]}")
        elif o.kind == "soft":
            rep, q = f"report__{o.id}", float(o.accuracy)
            bn.add_node(rep)
            bn.add_edge(o.variable, rep)
            bn.nodes[rep]["note"] = f"soft report {o.id} on {o.variable}, accuracy {q:g}"
            cpds.append(TabularCPD(rep, 2, [[q, 1.0 - q], [1.0 - q, q]], evidence=[o.variable], evidence_card=[2],
                                   state_names={rep: list(EVENT_STATES), o.variable: list(EVENT_STATES)}))
            notes.append(f"evidence {o.id}: a soft report on {o.variable} (accuracy {q:g}): enter {rep} = "
                         f"{EVENT_STATES[int(o.value)]}")
        elif o.sd:
            like = np.exp(measurement_logp(mids, o.value, o.sd))  # the measurement's density at each midpoint
            notes.append(
                f"evidence {o.id}: {o.variable} measured {o.value:g} (sd {o.sd:g}): not representable exactly; "
                f"APPROXIMATE: enter as likelihood (virtual) evidence on {o.variable}'s bins, the measurement's "
                f"density at each midpoint (relative): {', '.join(f'{x:.4g}' for x in like / like.max())}")
        else:
            j = int(np.clip(np.searchsorted(edges, o.value) - 1, 0, bins - 1))
            notes.append(f"evidence {o.id}: {o.variable} = {o.value:g}: APPROXIMATE: enter {o.variable} = "
                         f"{states[o.variable][j]}")
    bn.add_cpds(*cpds)
    bn.check_model()
    return Exported(bn, notes, dict(values), credence, {v: edges for v in index}, bool(index or gridded))


# --------------------------------------------------------------------------- files


class _UAIWriter(UAIWriter):
    """pgmpy's ``UAIWriter`` with the UAI format's table order (the scope's last variable, the child,
    changing fastest) and one table per variable in variable order (pgmpy writes the child slowest,
    and its tables in name order, which pyAgrum's reader refuses)."""

    def _order(self) -> list[str]:
        return [v for v, _ in sorted(self.domain.items(), key=lambda x: (x[1], x[0]))]

    def get_functions(self):
        pos = {v: i for i, v in enumerate(self._order())}
        return [[str(pos[u]) for u in (*self.model.get_cpds(v).variables[:0:-1], v)] for v in self._order()]

    def get_tables(self):  # scope (p_k, ..., p_1, child), last fastest: the values' axes reversed, C order
        # positional notation (shortest exact digits): pgmpy's UAIReader reads no exponents
        return [[np.format_float_positional(x, unique=True, trim="-") for x in self.model.get_cpds(v).values.T.ravel()]
                for v in self._order()]


def render(exported: Exported, fmt: str) -> str:
    """The file's text in format ``fmt`` (one of :data:`FORMATS`)."""
    bn = exported.network
    if fmt == "bif":  # pyAgrum's BIF reader refuses properties with ';': notes as comments, none as properties
        plain = bn.copy()
        plain.name = bn.name
        for v in plain.nodes:
            plain.nodes[v].clear()
        head = [f"// {bn.name}: written by forecast export"] + [f"// {n}" for n in exported.notes]
        head += [f"// {v}: {bn.nodes[v]['note']}" for v in bn.nodes if bn.nodes[v].get("note", "event") != "event"]
        return "\n".join(head) + "\n" + str(BIFWriter(plain))
    if fmt == "xmlbif":
        w = XMLBIFWriter(bn)
        w.network.insert(1, etree.Comment(" written by forecast export; see the PROPERTY notes "))
        for n in exported.notes:
            etree.SubElement(w.network, "PROPERTY").text = f"note = {n}"
        return str(w)
    if fmt == "xdsl":  # GeNIe's own format
        return _xdsl(exported)
    if fmt == "uai":
        return str(_UAIWriter(bn)) + "\n"
    raise SpecError([Problem("--format", str(fmt), f"expected one of {', '.join(FORMATS)}")])


def _xdsl(exported: Exported) -> str:
    """GeNIe's XDSL (pgmpy's ``XDSLWriter``), with the node boxes laid out by depth instead of pgmpy's random
    positions (the same model gives the same file) and the notes as a comment."""
    import xml.dom.minidom as md

    bn = exported.network
    w = XDSLWriter(bn, network_id=re.sub(r"\W", "_", bn.name) or "forecast")
    depth: dict[str, int] = {}
    for v in nx.topological_sort(bn):
        depth[v] = 1 + max((depth[u] for u in bn.predecessors(v)), default=-1)
    column: dict[int, int] = {}
    for node in w.root.iter("node"):
        if node.find("position") is None:
            continue
        d = depth[node.get("id")]
        row = column[d] = column.get(d, -1) + 1
        x, y = 40 + 160 * d, 40 + 80 * row
        node.find("position").text = f"{x} {y} {x + 120} {y + 48}"
    w.root.insert(0, etree.Comment(" written by forecast export. " + " ".join(exported.notes).replace("--", "-")
                                   + " "))
    return md.parseString(etree.tostring(w.root, encoding="utf-8")).toprettyxml(indent="    ")


def write(exported: Exported, path: str | Path, fmt: str) -> Path:
    """Write ``exported`` to ``path`` atomically: a temporary file beside it, renamed into place (never a
    partial file; an existing file is replaced whole)."""
    return write_atomic(path, render(exported, fmt))


def export(model: str | Path, priors=None, sources=None, sets: dict[str, str] | None = None, *,
           at: str = "prior-mean", bins: int = DEFAULT_BINS, **session_options) -> Exported:
    """``forecast export`` without the file: the model's network at ``at`` (``--at``'s text)."""
    from forecast.analyses.session import Session

    kind, n = parse_at(at)
    s = Session(model, priors, sets, sources, **session_options)
    return network(s.baseline, parameter_values(s, kind, n), bins)


__all__ = ["DEFAULT_BINS", "FORMATS", "Exported", "export", "network", "parameter_values", "parse_at",
           "prior_mean", "render", "write"]
