"""``forecast export``: the network written for other Bayesian-network tools, checked against exact answers.

* Oracle models (events only, every parameter fixed, ``tests/oracle_models/``): each file is read here with
  ``tomllib`` and every CPT is computed independently, the claims' gates summed out term by term; the
  exported files, read back by pgmpy (``BIFReader``, ``XMLBIFReader``) and by pyAgrum (``loadBN``), must
  hold those CPTs (1e-9), and their exact inference with evidence must equal that of a reference network
  with each gate as a root node (pgmpy ``VariableElimination``; pyAgrum ``LazyPropagation``; 1e-9, except
  1e-6 where pyAgrum reads BIF or UAI: its parsers of those read numbers in single precision).
* The engine's own exact answer (fixed parameters: the latent events upstream of the evidence are
  enumerated exactly in every draw) must equal exact inference in the exported network with the evidence
  entered, a soft report through its report node included.
* The UAI file is read by a parser written here from the format's rule (the scope's last variable, the
  child, changes fastest).
* Hanoi (indices, gates, a soft report, a measurement): all three formats load in pgmpy and pyAgrum, the
  two agree on exact inference, an index's CPT equals the logit-normal's mass per bin computed here, and
  the prior means equal PreliZ's.
* The command line: bad ``--at`` and a path through a file exit 2 with a message and write nothing.
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
import tomllib
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest

with warnings.catch_warnings():  # pgmpy's own import-time deprecation notices
    warnings.simplefilter("ignore")
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import VariableElimination
    from pgmpy.models import DiscreteBayesianNetwork
    from pgmpy.readwrite import BIFReader, UAIReader, XDSLReader, XMLBIFReader

import pyagrum as gum  # a test dependency (pyproject.toml): a missing install fails, never skips

from forecast.analyses import export as ex

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "tests" / "oracle_models"
ORACLES = sorted(p.stem for p in MODELS.glob("*.toml"))
HANOI, SEEDS = ROOT / "models" / "hanoi_2019.toml", Path("/work/shared/seeds")
TOL = 1e-9
# pyAgrum 3.3's BIF and UAI parsers read numbers in single precision (0.35 comes back as 0.3499999940395355);
# its XMLBIF parser in double precision
AGRUM_TOL = {"bif": 1e-6, "xmlbif": TOL, "xdsl": 1e-6, "uai": 1e-6}
T, F = "true", "false"


# --------------------------------------------------------------------------- the oracle, from the TOML


@cache
def oracle(name: str) -> dict:
    """Bases, claims (cause, effect, signed strength, credence) and evidence of an oracle model file."""
    doc = tomllib.loads((MODELS / f"{name}.toml").read_text())
    base = {}
    for v in doc["variables"]:
        b = v["base"]
        if isinstance(b, dict):  # a Beta base rate (roots only): its mean
            b = b["kwargs"]["alpha"] / (b["kwargs"]["alpha"] + b["kwargs"]["beta"])
        base[v["id"]] = float(b)
    claims = [(c["id"], c["cause"], c["effect"], (1.0 if c["direction"] == "raises" else -1.0)
               * float(c["strength"]["kwargs"]["c"]), float(c["credence"])) for c in doc.get("claims", [])]
    evidence = {e["variable"]: int(e["value"]) for e in doc.get("evidence", [])}
    return {"base": base, "claims": claims, "evidence": evidence}


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def exact_p1(name: str, v: str, x: dict[str, int]) -> float:
    """P(v = 1 | causes = x): every combination of the gates of the uncertain claims into v, written out."""
    net = oracle(name)
    into = [c for c in net["claims"] if c[2] == v and c[4] > 0.0]
    uncertain = [c for c in into if c[4] < 1.0]
    total = 0.0
    for gates in itertools.product((0, 1), repeat=len(uncertain)):
        on = dict(zip((c[0] for c in uncertain), gates))
        weight = 1.0
        for c in uncertain:
            weight *= c[4] if on[c[0]] else 1.0 - c[4]
        eta = logit(net["base"][v]) + sum(w * x[cause] * on.get(cid, 1) for cid, cause, _, w, _ in into)
        total += weight * sigmoid(eta)
    return total


def parents_of(name: str, v: str) -> list[str]:
    return sorted({c[1] for c in oracle(name)["claims"] if c[2] == v and c[4] > 0.0})


def reference(name: str) -> DiscreteBayesianNetwork:
    """The oracle as a pgmpy network with each uncertain claim's gate a root node ``gate_<claim>``."""
    net = oracle(name)
    parents: dict[str, list[str]] = {v: [] for v in net["base"]}
    terms: dict[str, list] = {v: [] for v in net["base"]}
    prob = dict(net["base"])
    for cid, cause, effect, w, cred in net["claims"]:
        gate = None
        if cred < 1.0:
            gate = f"gate_{cid}"
            parents[gate], terms[gate], prob[gate] = [], [], cred
            parents[effect].append(gate)
        parents[effect].append(cause)
        terms[effect].append((cause, gate, w))
    bn = DiscreteBayesianNetwork([(p, v) for v, ps in parents.items() for p in ps])
    bn.add_nodes_from(parents)
    for v, ps in parents.items():
        p1 = []
        for xs in itertools.product((0, 1), repeat=len(ps)):
            x = dict(zip(ps, xs))
            if v.startswith("gate_"):
                p1.append(prob[v])
            else:
                p1.append(sigmoid(logit(prob[v]) + sum(w * x[c] * (x[g] if g else 1) for c, g, w in terms[v])))
        p1 = np.array([p1])
        bn.add_cpds(TabularCPD(v, 2, np.vstack([1.0 - p1, p1]), evidence=ps or None,
                               evidence_card=[2] * len(ps) or None, state_names={u: [F, T] for u in (v, *ps)}))
    assert bn.check_model()
    return bn


def ve(bn: DiscreteBayesianNetwork, v: str, evidence: dict[str, str]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = VariableElimination(bn).query([v], evidence=evidence or None, show_progress=False)
    return float(q.get_value(**{v: T}))


def agrum(bn, v: str, evidence: dict[str, str]) -> float:
    ie = gum.LazyPropagation(bn)
    ie.setEvidence(evidence)
    ie.makeInference()
    post = ie.posterior(v)
    return float(post[{v: T}])


# --------------------------------------------------------------------------- helpers


def read(path: Path) -> DiscreteBayesianNetwork:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path.suffix == ".bif":
            return BIFReader(str(path)).get_model()
        if path.suffix == ".xdsl":
            return XDSLReader(str(path)).get_model()
        return XMLBIFReader(str(path)).get_model()


def cpt_value(bn: DiscreteBayesianNetwork, v: str, state: str, parents: dict[str, str]) -> float:
    return float(bn.get_cpds(v).get_value(**{v: state}, **parents))


def uai_tables(path: Path) -> tuple[list[int], list[list[int]], list[np.ndarray]]:
    """A UAI file read by the format's rule: one scope per function (child last), then each table with
    the scope's last variable changing fastest (C order over the scope)."""
    tok = path.read_text().split()
    assert tok[0] == "BAYES"
    n = int(tok[1])
    card = [int(t) for t in tok[2:2 + n]]
    k, i = int(tok[2 + n]), 3 + n
    scopes = []
    for _ in range(k):
        m = int(tok[i])
        scopes.append([int(t) for t in tok[i + 1:i + 1 + m]])
        i += 1 + m
    tables = []
    for s in scopes:
        size = int(tok[i])
        tables.append(np.array([float(t) for t in tok[i + 1:i + 1 + size]]).reshape([card[j] for j in s]))
        i += 1 + size
    return card, scopes, tables


def uai_names(e: ex.Exported) -> list[str]:
    """Variable order of the UAI file: by number of states, then name (pgmpy's UAIWriter)."""
    bn = e.network
    return sorted(bn.nodes, key=lambda v: (str(bn.get_cpds(v).variable_card), v))


@pytest.fixture(scope="module")
def oracle_files(tmp_path_factory):
    out = {}
    for name in ORACLES:
        e = ex.export(MODELS / f"{name}.toml")
        folder = tmp_path_factory.mktemp(name)
        files = {fmt: ex.write(e, folder / f"{name}.{suffix}", fmt)
                 for fmt, suffix in (("bif", "bif"), ("xmlbif", "bifxml"), ("xdsl", "xdsl"), ("uai", "uai"))}
        pgmpy_read = {fmt: read(files[fmt]) for fmt in ("bif", "xmlbif", "xdsl")}
        agrum_read = {fmt: gum.loadBN(str(files[fmt])) for fmt in ("bif", "xmlbif", "xdsl")}
        out[name] = (e, files, pgmpy_read, agrum_read)
    return out


def queries(name: str) -> list[dict[str, str]]:
    """Evidence sets to query with: the file's, and the file's plus each other variable observed true."""
    ev = {v: (T if x else F) for v, x in oracle(name)["evidence"].items()}
    more = [{**ev, v: T} for v in oracle(name)["base"] if v not in ev]
    return [ev, *more, {**ev, **{v: F for v in list(oracle(name)["base"])[-1:] if v not in ev}}]


# --------------------------------------------------------------------------- (1), (2) oracle models


@pytest.mark.parametrize("name", ORACLES)
def test_oracle_cpts_read_back_exact(oracle_files, name):
    """Every CPT, read back from BIF, XMLBIF and XDSL (GeNIe's format) by pgmpy and by pyAgrum, equals the one
    computed here."""
    e, files, pgmpy_read, agrum_read = oracle_files[name]
    assert not e.approximate and e.notes[0].startswith("exact")
    for fmt in ("bif", "xmlbif", "xdsl"):
        bn, g = pgmpy_read[fmt], agrum_read[fmt]
        assert sorted(bn.nodes) == sorted(oracle(name)["base"]) == sorted(g.names())
        for v in oracle(name)["base"]:
            ps = parents_of(name, v)
            assert sorted(bn.get_cpds(v).variables[1:]) == ps, (name, fmt, v)
            assert sorted(g.cpt(v).names[1:]) == ps, (name, fmt, v)
            for xs in itertools.product((0, 1), repeat=len(ps)):
                x = dict(zip(ps, xs))
                states = {p: (T if x[p] else F) for p in ps}
                want = exact_p1(name, v, x)
                assert abs(cpt_value(bn, v, T, states) - want) <= TOL, (name, fmt, v, x)
                assert abs(cpt_value(bn, v, F, states) - (1.0 - want)) <= TOL, (name, fmt, v, x)
                if fmt != "xdsl" or len(ps) < 2:  # pyAgrum 3.3 reads XDSL tables of 2+ parents in another order
                    assert abs(float(g.cpt(v)[{**states, v: T}]) - want) <= AGRUM_TOL[fmt], (name, fmt, v, x)


@pytest.mark.parametrize("name", ORACLES)
def test_oracle_inference_agrees(oracle_files, name):
    """Exact inference with evidence: pgmpy and pyAgrum on the exported files equal pgmpy on the reference
    network whose gates are root nodes (the gates summed out in the CPTs is exact)."""
    _, _, models, bns = oracle_files[name]
    ref = reference(name)
    checked = 0
    for evidence in queries(name):
        for v in oracle(name)["base"]:
            if v in evidence:
                continue
            want = ve(ref, v, evidence)
            for fmt in ("bif", "xmlbif", "xdsl"):
                assert abs(ve(models[fmt], v, evidence) - want) <= TOL, (name, fmt, v, evidence)
                if fmt != "xdsl":  # pyAgrum 3.3's XDSL reader: see test_oracle_cpts_read_back_exact
                    assert abs(agrum(bns[fmt], v, evidence) - want) <= AGRUM_TOL[fmt], (name, fmt, v, evidence)
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("name", ORACLES)
def test_oracle_uai_follows_the_format(oracle_files, name):
    """The UAI file, read by the format's own rule, holds the exact CPTs; pgmpy and pyAgrum load it."""
    e, files, _, _ = oracle_files[name]
    names = uai_names(e)
    card, scopes, tables = uai_tables(files["uai"])
    assert card == [2] * len(names) and [names[s[-1]] for s in scopes] == names  # one table per variable, in order
    for s, table in zip(scopes, tables):
        v, ps = names[s[-1]], [names[j] for j in s[:-1]]
        assert sorted(ps) == parents_of(name, v)
        for xs in itertools.product((0, 1), repeat=len(ps)):
            assert abs(table[(*xs, 1)] - exact_p1(name, v, dict(zip(ps, xs)))) <= TOL, (name, v, xs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(UAIReader(str(files["uai"])).get_model().nodes) == len(names)
    assert gum.loadBN(str(files["uai"])).size() == len(names)


def test_engine_exact_answer_equals_the_exported_network(tmp_path):
    """Fixed parameters: the engine enumerates the latent events upstream of the evidence exactly in every
    draw; exact inference in the exported network, the evidence entered, must give the same numbers. The
    chain gets a soft report on C (its report node) besides B's observation in ``gated``."""
    from forecast.analyses.session import Session

    soft = tmp_path / "chain_soft.toml"
    soft.write_text((MODELS / "chain.toml").read_text() + (
        '\n[[evidence]]\nid = "rep_C"\nvariable = "C"\ndate = 2024-01-01\nsource = "src"\nvalue = true\n'
        'soft = true\ngrade = "B2"\n'))
    for path, latent in ((MODELS / "gated.toml", "A"), (MODELS / "branch.toml", "L"), (soft, "AB")):
        s = Session(path, draws=20, seed=3)
        res = s.run()
        e = ex.network(s.baseline, ex.parameter_values(s, "prior-mean"))
        evidence = {o.variable: (T if o.value else F) for o in s.baseline.evidence if o.kind == "event"}
        for o in s.baseline.evidence:
            if o.kind == "soft":
                q = o.accuracy
                node = f"report__{o.id}"
                assert np.allclose(e.network.get_cpds(node).get_values(), [[q, 1 - q], [1 - q, q]], atol=0, rtol=0)
                evidence[node] = T
        assert evidence, path
        f = ex.write(e, tmp_path / f"{path.stem}.bifxml", "xmlbif")
        bn = gum.loadBN(str(f))
        for v in latent:
            engine = np.asarray(res.outcomes[v], dtype=float)
            assert np.ptp(engine) < 1e-12, (path.stem, v)  # exact, the same in every draw
            assert abs(ve(e.network, v, evidence) - engine[0]) <= TOL, (path.stem, v)
            assert abs(agrum(bn, v, evidence) - engine[0]) <= TOL, (path.stem, v)


def test_posterior_mean_and_a_draw_at_fixed_parameters():
    """Every parameter fixed: the posterior mean (``gated`` has evidence) and any draw are the fixed values."""
    want = ex.export(MODELS / "gated.toml").network
    for at in ("posterior-mean", "draw:7"):
        got = ex.export(MODELS / "gated.toml", at=at, draws=10, seed=1).network
        for v in want.nodes:
            assert np.allclose(got.get_cpds(v).get_values(), want.get_cpds(v).get_values(), rtol=0, atol=TOL), (at, v)


def test_posterior_mean_of_a_sampled_base_rate():
    """branch_beta: b_L ~ Beta(3.5, 6.5), X = 1 observed, P(X = 1 | b_L) = 0.2 + b_L (s - 0.2) with
    s = sigmoid(logit(0.2) + 2), linear in b_L, so E[b_L | X = 1] = (0.2 m1 + (s - 0.2) m2) / (0.2 + (s - 0.2) m1)
    with the Beta's first two moments m1, m2. ``posterior-mean`` puts L's table at the mean of the NUTS
    draws, which must match that within 4 Monte Carlo errors; ``draw:N`` at the N-th draw."""
    import arviz as az

    from forecast.analyses.session import Session

    s = Session(MODELS / "branch_beta.toml", draws=1000, seed=2, tune=300)
    r = s.baseline
    kind, _ = ex.parse_at("posterior-mean")
    got = ex.parameter_values(s, kind)["base__L"]
    draws = s.run().posterior.theta["base__L"]
    mcse = float(np.std(draws)) / math.sqrt(float(az.ess(draws.reshape(2, -1), method="bulk")))
    sig = sigmoid(logit(0.2) + 2.0)
    m1, m2 = 0.35, 3.5 * 4.5 / (10.0 * 11.0)
    want = (0.2 * m1 + (sig - 0.2) * m2) / (0.2 + (sig - 0.2) * m1)
    assert abs(got - float(np.mean(draws))) <= 1e-12
    assert abs(got - want) <= 4 * mcse + 1e-3, (got, want, mcse)
    e = ex.network(r, ex.parameter_values(s, kind))
    assert abs(cpt_value(e.network, "L", T, {}) - got) <= 1e-12
    assert abs(ex.parameter_values(s, "draw", 5)["base__L"] - float(draws[5])) <= 1e-12
    assert ex.parameter_values(s, "prior-mean")["base__L"] == pytest.approx(0.35, abs=1e-15)


@pytest.mark.slow
def test_hanoi_posterior_mean_export(tmp_path):
    """Hanoi at posterior means (200 draws, 200 tuning steps: about 50 s): the file loads in both libraries,
    and the roots the evidence informs moved from their prior means (the evidence was used)."""
    e = ex.export(HANOI, sources=SEEDS, at="posterior-mean", draws=200, tune=200, seed=0)
    prior = ex.export(HANOI, sources=SEEDS)
    f = ex.write(e, tmp_path / "hanoi.bifxml", "xmlbif")
    assert gum.loadBN(str(f)).size() == len(e.network.nodes) == len(read(f).nodes)
    moved = [k for k in e.values if abs(e.values[k] - prior.values[k]) > 0.02]
    assert moved, "no parameter moved from its prior mean"


# --------------------------------------------------------------------------- (3) Hanoi


@pytest.fixture(scope="module")
def hanoi(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hanoi")
    e = ex.export(HANOI, sources=SEEDS)
    files = {fmt: ex.write(e, folder / f"hanoi.{suffix}", fmt)
             for fmt, suffix in (("bif", "bif"), ("xmlbif", "bifxml"), ("xdsl", "xdsl"), ("uai", "uai"))}
    return e, files


def test_hanoi_prior_means_are_preliz_means(hanoi):
    """``prior-mean``: every parameter at its prior's mean, checked against PreliZ's."""
    import preliz as pz

    from forecast.analyses.session import Session
    from forecast.compile import Numbers

    e, _ = hanoi
    numbers = Numbers.of(Session(HANOI, sources=SEEDS).baseline)
    checked = 0
    for kind, table in (("base", numbers.base), ("effect", numbers.effect), ("noise", numbers.noise)):
        for ident, prior in table.items():
            kw = {k: float(x) for k, x in prior["kwargs"].items()}
            want = kw["c"] if prior["dist"] == "DiracDelta" else float(getattr(pz, prior["dist"])(**kw).mean())
            assert abs(e.values[f"{kind}__{ident}"] - want) <= 1e-9 * max(1.0, abs(want)), (kind, ident, prior)
            checked += 1
    assert checked > 60


def test_hanoi_index_cpt_is_the_logit_normal_mass_per_bin(hanoi):
    """An index's CPT given its parents' states: the logit-normal's mass in each of the 5 bins, computed
    here with scipy's normal CDF, the gates summed out term by term, index parents at their bins' midpoints."""
    from scipy.stats import norm

    e, _ = hanoi
    r = _hanoi_resolved()
    mids = [0.1, 0.3, 0.5, 0.7, 0.9]
    cuts = [-math.inf] + [logit(x) for x in (0.2, 0.4, 0.6, 0.8)] + [math.inf]
    done = 0
    for v in r.order:
        if r.variables[v].kind != "index" or not r.variables[v].claims_in:
            continue
        cpd = e.network.get_cpds(v)
        parents = cpd.variables[1:]
        claims = [c for c in r.variables[v].claims_in if e.credence[c] > 0]
        unsure = [c for c in claims if e.credence[c] < 1]
        rows = list(itertools.product(*(range(cpd.cardinality[1 + i]) for i in range(len(parents)))))
        for states in rows[:: max(1, len(rows) // 7)]:
            level = {p: (mids[s] if r.variables[p].kind == "index" else float(s)) for p, s in zip(parents, states)}
            mass = np.zeros(5)
            for gates in itertools.product((0, 1), repeat=len(unsure)):
                on = dict(zip(unsure, gates))
                w = math.prod(e.credence[c] if on[c] else 1 - e.credence[c] for c in unsure)
                eta = logit(e.values[f"base__{v}"]) + sum(
                    on.get(c, 1) * r.claims[c].sign * e.values[f"effect__{c}"] * level[r.claims[c].cause]
                    for c in claims)
                sd = e.values[f"noise__{v}"]
                mass += w * np.diff([norm.cdf((u - eta) / sd) for u in cuts])
            got = [cpd.get_value(**{v: s}, **{p: cpd.state_names[p][x] for p, x in zip(parents, states)})
                   for s in cpd.state_names[v]]
            assert np.allclose(got, mass, rtol=0, atol=TOL), (v, states)
            done += 1
    assert done >= 10


@cache
def _hanoi_resolved():
    from forecast.analyses.session import Session

    return Session(HANOI, sources=SEEDS).baseline


def test_hanoi_files_load_in_pgmpy_and_pyagrum(hanoi):
    """All three formats load in both libraries; BIF and XMLBIF hold the network's CPTs; the UAI file holds
    them in the format's order; both libraries' exact inference agrees with the evidence entered."""
    e, files = hanoi
    bn = e.network
    assert e.approximate and e.notes[0].startswith("APPROXIMATE")
    assert any("report__e06" in n for n in e.notes) and any("likelihood (virtual) evidence" in n for n in e.notes)
    assert all("APPROXIMATE" in files[fmt].read_text() for fmt in ("bif", "xmlbif", "xdsl"))
    again = ex.write(e, files["xdsl"].with_name("again.xdsl"), "xdsl")  # the same model, the same file
    assert again.read_text() == files["xdsl"].read_text()
    for fmt in ("bif", "xmlbif", "xdsl"):
        back = read(files[fmt])
        assert sorted(back.nodes) == sorted(bn.nodes) and sorted(back.edges) == sorted(bn.edges)
        for v in bn.nodes:
            a, b = bn.get_cpds(v), back.get_cpds(v)
            if len(a.variables) > 1:
                b = b.copy()
                b.reorder_parents(a.variables[1:])
            assert a.state_names == b.state_names and np.allclose(a.get_values(), b.get_values(), rtol=0, atol=1e-12), v
    names = uai_names(e)
    card, scopes, tables = uai_tables(files["uai"])
    for s, table in zip(scopes, tables):
        cpd = bn.get_cpds(names[s[-1]])
        assert card[s[-1]] == cpd.variable_card
        want = np.transpose(cpd.values, [[names[s[-1]], *cpd.variables[1:]].index(names[j]) for j in s])
        assert np.allclose(table, want, rtol=0, atol=1e-12), names[s[-1]]
    loaded = {fmt: gum.loadBN(str(f)) for fmt, f in files.items()}
    assert all(g.size() == len(bn.nodes) and g.sizeArcs() == len(bn.edges) for g in loaded.values())
    if os.environ.get("FORECAST_SLOW_UAI"):  # pgmpy's UAIReader takes ~15 s on this file
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert len(UAIReader(str(files["uai"])).get_model().nodes) == len(bn.nodes)
    evidence = {"summit_failed": T, "kim_beijing_stop": F, "beijing_sessions": T, "nk_media_dialogue": T,
                "report__e06": T}
    back = read(files["bif"])
    for v in ("kim_health_decline", "third_summit", "nk_resumes_tests", "kim_curtails_talks"):
        p = ve(back, v, evidence)
        assert 0.0 < p < 1.0
        assert abs(agrum(loaded["bif"], v, evidence) - p) <= AGRUM_TOL["bif"], v
        assert abs(agrum(loaded["xmlbif"], v, evidence) - p) <= TOL, v


# --------------------------------------------------------------------------- (4) the command line and the file


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "forecast", "export", *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


@pytest.mark.parametrize("at, draws, said", [("draw:-1", "10", "--at"), ("draw:10", "10", "draw:0 to draw:9"),
                                             ("mean", "10", "--at"), ("draw:x", "10", "--at")])
def test_cli_bad_at_exits_2_and_writes_nothing(tmp_path, at, draws, said):
    out = tmp_path / "net.bif"
    proc = cli(str(MODELS / "gated.toml"), "--format", "bif", "--at", at, "--draws", draws, "-o", str(out))
    assert proc.returncode == 2 and said in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_cli_bad_output_and_format_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = cli(str(MODELS / "gated.toml"), "--format", "bif", "-o", str(blocker / "net.bif"))
    assert proc.returncode == 2 and "is a file, not a folder" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli(str(MODELS / "gated.toml"), "--format", "dne", "-o", str(tmp_path / "net.dne"))
    assert proc.returncode == 2 and "--format" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"] and blocker.read_text() == "x"


def test_cli_writes_the_file_and_the_notes(tmp_path):
    out = tmp_path / "new" / "gated.bifxml"
    proc = cli(str(MODELS / "gated.toml"), "--format", "xmlbif", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "note: exact" in proc.stderr and "enter B = true" in proc.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["gated.bifxml"]  # no temporary file left
    bn = read(out)
    assert abs(cpt_value(bn, "B", T, {"A": T}) - exact_p1("gated", "B", {"A": 1})) <= TOL


def test_write_leaves_no_partial_file(tmp_path, monkeypatch, oracle_files):
    """A failure while writing leaves the earlier file whole and no temporary file."""
    e = oracle_files["chain"][0]
    target = tmp_path / "net.bif"
    target.write_text("earlier")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)  # spec.outputs.write_atomic renames with it
    with pytest.raises(OSError, match="disk full"):
        ex.write(e, target, "bif")
    assert target.read_text() == "earlier" and [p.name for p in tmp_path.iterdir()] == ["net.bif"]
