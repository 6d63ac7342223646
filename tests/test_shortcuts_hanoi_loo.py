"""The evidence log's shortcut on Hanoi against the direct computation it replaces: each observation left out
by reweighting the baseline's draws (or sampled anew where ``Posterior.without_untrusted`` says the draws
cannot carry it) against a fresh posterior without it (tolerances: ``test_shortcuts_hanoi._agree``). Split from
``test_shortcuts_hanoi.py`` so that the suite's workers, which take whole files, share the work.

Signposts on Hanoi are here too (this file has a Hanoi posterior): every question ranks every unobserved
variable, and the worlds' estimates (the shortcut used outside the exact set) agree with the exact ones
where both exist.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import HANOI
from test_shortcuts_hanoi import _agree

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not HANOI.is_file(), reason="no Hanoi model")]


@pytest.mark.parametrize("obs", ["e01", "e02", "e03", "e04", "e05", "e06"])
def test_leaving_one_observation_out_matches_a_fresh_posterior(hanoi, direct, obs):
    s, base = hanoi
    short = s.without(base, obs)
    r = base.resolved
    fresh = direct.run(replace(r, evidence=tuple(o for o in r.evidence if o.id != obs)))
    assert short.posterior is not base.posterior or short.weights is not None
    assert not _agree(short, fresh, f"without {obs}")


def test_the_measurement_that_dominates_its_level_is_sampled_anew(hanoi):
    """The Realmeter poll (sd 0.03) pins Moon's approval: reweighting cannot widen it again (it gave
    q09 = 0.16 against 0.27 from a fresh posterior), so the shortcut must step aside."""
    _, base = hanoi
    assert base.posterior.without_untrusted("e05")
    assert all(base.posterior.without_untrusted(e) is None for e in ("e01", "e02", "e03", "e04", "e06"))


def test_signposts_rank_every_unobserved_variable_for_every_question(hanoi):
    from forecast.analyses.indicators import indicators
    from forecast.analyses.signposts import signposts
    from forecast.analyses.summary import stat

    s, base = hanoi
    data = signposts(s, base)
    r = base.resolved
    watch = {i.variable for i in indicators(r)}
    assert len(data["questions"]) == len(r.model.questions) == 24
    for q in r.model.questions:
        d = data["questions"][q.id]
        assert {row["variable"] for row in d["indicators"]} == watch - {q.variable}, q.id
        run = stat(base, f"q:{q.id}")  # the forecast now: the run's, within its Monte Carlo error
        assert abs(d["now"] - run["mean"]) <= 4 * run["mcse"] + 1e-9, (q.id, d["now"], run)
    assert len(data["overall"]) == len(watch)


def test_signposts_from_the_worlds_match_the_exact_answers(hanoi):
    """The worlds' estimate of every pair the exact set also answers, within 4 of its Monte Carlo errors (its
    per-draw values carry the worlds' noise and the draws', so its error bounds the difference to the exact
    answer at the same draws)."""
    import numpy as np

    from forecast.analyses import indicators as ind
    from forecast.analyses.signposts import branches
    from forecast.analyses.summary import worded_questions

    s, base = hanoi
    r = base.resolved
    inds, qs = ind.indicators(r), worded_questions(r)
    ex = ind.exact(s, base)
    exact = ind.exact_pairs(ex, inds, qs, base.draws)
    worlds = ind.world_pairs(s, base, inds, qs, set())
    assert len(exact) > 200
    bad = []
    for key, (a, b, f) in exact.items():
        want, got = branches(a, b, f), branches(*worlds[key])
        for side in ("yes", "no"):
            w, g = want[side]["forecast"], got[side]["forecast"]
            if w is None or want[side]["p"] < 0.05:  # a rare branch: too few worlds to compare
                continue
            if not abs(g - w) <= 4 * got[side]["mcse"] + 1e-6:
                bad.append(f"{key} {side}: worlds {g:.4f} exact {w:.4f} mcse {got[side]['mcse']:.4f}")
        if not abs(got["p_yes"] - want["p_yes"]) <= 4 * float(np.std(worlds[key][0]) / np.sqrt(len(a))) + 1e-6:
            bad.append(f"{key} P(yes): worlds {got['p_yes']:.4f} exact {want['p_yes']:.4f}")
    assert not bad, bad[:10]
