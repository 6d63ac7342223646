"""The evidence log's shortcut on Hanoi against the direct computation it replaces: each observation left out
by reweighting the baseline's draws (or sampled anew where ``Posterior.without_untrusted`` says the draws
cannot carry it) against a fresh posterior without it (tolerances: ``test_shortcuts_hanoi._agree``). Split from
``test_shortcuts_hanoi.py`` so that the suite's workers, which take whole files, share the work.
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
