"""Hanoi's track record: what was recorded after March 2019 leaves the March 2019 model untouched.

Issue 15 asks for outcomes and dated evidence through 2021 *without tuning the claims to the outcomes*: the
model's March 2019 numbers must not change because of that work. The numbers are a deterministic function of the
March content (its sources with texts, variables, claims, the evidence dated by the model's ``as_of``, the
questions as asked, the scenarios) and the seed, so a fingerprint of that content, taken from the file as it stood
before any outcome was recorded (commit c174c0c), pins them. Editing a claim, a base rate or a March observation
fails this test on purpose; recording outcomes, news sources and later evidence does not. To change the March model
deliberately, update MARCH_2019 and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json

from conftest import ROOT

from forecast.spec.load import load_model

HANOI = ROOT / "models" / "hanoi_2019.toml"
MARCH_2019 = "4ff0a93f6ee14c58e5500f0a6957862d4ef0a26ef4a655caf2a7a5bf83e34d51"
RECORDED = {"outcome", "resolved_on", "resolution_note", "resolution_source"}
# words for the reader, added to the brief after March 2019; they move no number
DISPLAY = {"short", "unnamed_sources", "author"}


def march_content(path=HANOI) -> dict:
    """The model as a March 2019 reader had it: later evidence, news sources and recorded outcomes left out."""
    m = load_model(path)
    cut = m.info.as_of
    dump = (lambda x, drop=frozenset(): x.model_dump(mode="json", exclude=set(drop) | DISPLAY, exclude_defaults=True))  # noqa: E731
    return {"info": dump(m.info),
            "sources": [dump(s) for s in m.sources if s.file is not None],
            "variables": [dump(v) for v in m.variables],
            "claims": [dump(c) for c in m.claims],
            "evidence": [dump(e) for e in m.evidence if e.date <= cut],
            "questions": [dump(q, RECORDED) for q in m.questions],
            "scenarios": [dump(s) for s in m.scenarios]}


def fingerprint(path=HANOI) -> str:
    return hashlib.sha256(json.dumps(march_content(path), sort_keys=True).encode()).hexdigest()


def test_the_march_2019_model_is_unchanged_by_the_record():
    assert fingerprint() == MARCH_2019, "the March 2019 content of models/hanoi_2019.toml changed (see docstring)"


def test_a_plain_run_speaks_for_march_2019_and_the_record_is_complete():
    """Without ``--as-of`` the model reads only the evidence dated by its own date (23 March 2019); every later
    entry comes from a dated source without a local text, and every recorded outcome names its source."""
    m = load_model(HANOI)
    plain = m.speaking_date()
    assert plain.cutoff == m.info.as_of and all(e.date <= m.info.as_of for e in plain.evidence)
    later = [e for e in m.evidence if e.date > m.info.as_of]
    assert later and plain.later == len(later)
    for e in later:
        s = m.source(e.source)
        assert s.file is None and s.publisher and s.date and e.note, e.id
    resolved = [q for q in m.questions if q.outcome is not None]
    assert len(resolved) >= 15
    for q in resolved:
        assert q.resolution_source and q.resolution_note and q.resolved_on <= q.resolves_by, q.id


def test_as_of_march_2019_is_the_file_without_the_later_evidence(tmp_path):
    """``--as-of 2019-03-01`` on Hanoi resolves to exactly what a copy of the file with every evidence entry
    dated later deleted resolves to (the run's numbers are a function of that and the seed; the sampled
    equality is tested on the example model in tests/test_score.py)."""
    import datetime as dt
    import re

    from forecast.spec.priorsets import load_prior_set
    from forecast.spec.resolve import resolve

    text = HANOI.read_text()
    blocks = re.split(r"(?=^\[\[)", text, flags=re.M)
    keep = [b for b in blocks if not (b.startswith("[[evidence]]")
                                      and dt.date.fromisoformat(re.search(r"^date = (\S+)", b, re.M)[1])
                                      > dt.date(2019, 3, 1))]
    copy = tmp_path / "hanoi_2019.toml"
    copy.write_text("".join(keep))
    cut = load_model(HANOI).as_of_date(dt.date(2019, 3, 1))
    direct = load_model(copy)
    assert [e.id for e in cut.evidence] == [e.id for e in direct.evidence] == ["e01"]  # the summit failed (28 February)
    ps = load_prior_set(ROOT / "priors" / "hanoi_2019" / "baseline.toml")
    a, b = resolve(cut, ps), resolve(direct, ps)
    assert a.evidence == b.evidence and a.claims == b.claims and a.variables == b.variables
