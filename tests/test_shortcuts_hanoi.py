"""Every shortcut of the brief on Hanoi against the direct computation it replaces: a fresh posterior.

The evidence log leaves each observation out by reweighting the baseline's draws (or, where
``Posterior.without_untrusted`` says the draws cannot carry it, by sampling anew); the stances reweight the
baseline's draws under another prior set. Each answer must agree with a fresh posterior sampled without the
observation (or under the prior set) within 3 Monte Carlo standard errors (ESS-based, both sides) or 0.02.
The fresh posteriors are sampled in a session of their own with fewer draws (the ``direct`` fixture of
``conftest.py``, another seed):
their larger Monte Carlo error widens the tolerance a little, and the suite stays within its time. The
evidence log's leave-one-out checks are in ``test_shortcuts_hanoi_loo.py`` (a file of their own, so that the
suite's two workers, which take whole files, share the work).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import HANOI, PRIORS

from forecast.analyses.summary import stat

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not HANOI.is_file(), reason="no Hanoi model")]


def _agree(short, fresh, what: str) -> list[str]:
    bad = []
    for q in fresh.resolved.model.questions:
        a, b = stat(short, f"q:{q.id}"), stat(fresh, f"q:{q.id}")
        tol = max(3 * float(np.hypot(a["mcse"], b["mcse"])), 0.02)
        if abs(a["mean"] - b["mean"]) > tol:
            bad.append(f"{what} {q.id}: shortcut {a['mean']:.3f}, fresh {b['mean']:.3f}, tolerance {tol:.3f}")
    return bad


@pytest.mark.parametrize("stance", ["baseline", "icas", "ispsw", "nam", "skeptic"])
def test_every_shipped_prior_set_samples_healthily(hanoi, stance):
    """At ``make demo``'s settings (1000 draws, the defaults otherwise) the sampler is healthy under every
    shipped prior set: R-hat <= 1.01, bulk and tail ESS >= 400, no divergent transition."""
    from forecast.analyses.summary import ESS_MIN, RHAT_MAX

    s, base = hanoi
    res = base if stance == "baseline" else s.run(s.resolve(priors=PRIORS / f"{stance}.toml"))
    d = res.diagnostics
    assert d["r_hat_max"] <= RHAT_MAX and d["divergences"] == 0, d
    assert min(d["ess_bulk_min"], d["ess_tail_min"]) >= ESS_MIN, d
    assert not d["warnings"], d["warnings"]


@pytest.mark.parametrize("stance", ["ispsw", "nam"])
def test_stance_by_reweighting_matches_a_fresh_posterior(hanoi, stance):
    s, base = hanoi
    r = s.resolve(priors=PRIORS / f"{stance}.toml")
    short = s.variant(base, r)
    fresh = s.run(r)
    assert short.weights is not None or short.posterior is not base.posterior
    assert not _agree(short, fresh, f"stance {stance}")


def _settings_sample(s, base):
    """The sensitivity settings inside the evidence's ancestral set (only those are reweighted, the others
    re-simulate with the baseline's draws): the one with the largest Pareto k and one more drawn with a fixed
    seed, as (label, --set settings, Pareto k). When the draws carry even the largest-k setting (k <= 0.7: it
    depends on the draws), a setting beyond it is added, the same base rate or credence pushed to its extreme
    ('almost no chance', credence 0.01), so that a fall-back to a fresh posterior is always exercised."""
    from forecast.analyses.posterior import PARETO_K_MAX, psis
    from forecast.analyses.sensitivity import candidates
    from forecast.compile import Numbers, ancestral_set

    r = base.resolved
    anc = ancestral_set(r, {o.variable for o in r.evidence})
    inside = [x for x in candidates(s, set(r.order))
              if (x.ident if x.kind == "base" else r.claims[x.ident].effect) in anc]

    def k_of(sets):  # Pareto k as Session.variant computes it (PSIS of the reweighting's log weights)
        return psis(base.posterior.reweighted(Numbers.of(r), Numbers.of(s.resolve(sets=sets)))[1])[1]

    ends = [(f"{x.kind}:{x.ident} {end}", getattr(x, end)) for x in inside for end in ("low", "high")]
    k = [k_of(sets) for _, sets in ends]
    order = np.argsort(k)[::-1]
    rest = np.random.default_rng(0).choice(order[1:], 1, replace=False)
    out = [(*ends[i], k[i]) for i in [*order[:1], *rest]]
    if k[order[0]] <= PARETO_K_MAX:
        x = next(x for x in inside if ends[order[0]][0].startswith(f"{x.kind}:{x.ident} "))
        sets = ({f"variables.{x.ident}.base": "almost no chance"} if x.kind == "base"
                else {f"claims.{x.ident}.credence": "0.01"})
        out.append((f"{x.kind}:{x.ident} extreme", sets, k_of(sets)))
    return out


def test_sensitivity_settings_match_fresh_posteriors(hanoi, direct):
    """The tornado's settings (``Session.variant``: reweighting, or a fresh posterior where Pareto k says the
    draws cannot carry it) against a fresh posterior under the same setting, on a sample of settings. A fall-back
    starts its chains where the baseline's ended (``nuts.Warm``, a shorter warm-up): it is checked against a
    posterior sampled from scratch in a session of its own, and must be as healthy."""

    s, base = hanoi
    bad, fell_back = [], 0
    for label, sets, k in _settings_sample(s, base):
        r = s.resolve(sets=sets)
        short = s.variant(base, r)
        what = f"{label} (k {k:.2f})"
        if "sampled anew" in short.diagnostics["method"]:
            fell_back += 1
            assert k > 0.7
            assert short.posterior.idata.posterior.attrs["warm_start"] == 1
            assert not short.diagnostics["warnings"], short.diagnostics["warnings"]
            fresh = direct.run(r)
            assert fresh.posterior.idata.posterior.attrs["warm_start"] == 0
        else:
            fresh = direct.run(r)
        bad += _agree(short, fresh, what)
    assert fell_back, "no setting of the sample fell back to a fresh posterior"
    assert not bad, "\n".join(bad)


def test_a_background_posterior_is_the_same_as_one_sampled_in_turn(hanoi):
    """The report samples the evidence log's fresh posteriors in a background thread
    (``Session.prefetch_without``): the draws must be the ones ``without`` would sample in turn."""
    from forecast.compile import Numbers

    s, base = hanoi
    direct = s.without(base, "e05")
    s.posteriors.done.pop(s.posteriors.key(direct.resolved, Numbers.of(direct.resolved)))  # sample it again
    s.prefetch_without(base)
    assert s.posteriors.pending  # the fresh posterior is being sampled in the background
    bg = s.without(base, "e05")
    assert bg.posterior is not direct.posterior
    for key in direct.outcomes:
        assert np.array_equal(direct.outcomes[key], bg.outcomes[key]), key
