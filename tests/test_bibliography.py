"""The sources in words: entries and citations, the Admiralty key, grades in words, the one-source warning."""

from __future__ import annotations

import pytest
from conftest import EXAMPLE, HANOI

from forecast.report.bibliography import admiralty_key, citation, dominant_source, entries, grade_words
from forecast.spec.load import load_model

MODEL = """\
[model]
id = "tiny"
title = "Tiny"

[[sources]]
id = "memo"
title = "Briefing memo"
publisher = "A ministry"
author = "J. Doe"
date = 2024-05-08
reliability = "C"
credibility = 3
file = "memo.txt"
grade_note = "One official's account."
unnamed_sources = true

[[sources]]
id = "wire"
title = "[Wire report on the talks]"
publisher = "A wire service"
reliability = "F"
credibility = 6
url = "https://example.org/wire"

[[sources]]
id = "unused"
title = "Unused"
publisher = "Nobody"
date = 2024-01-01
reliability = "A"
credibility = 1

[[variables]]
id = "a"
label = "A"
kind = "event"
base = "unlikely"

[[variables]]
id = "b"
label = "B"
kind = "event"
base = "unlikely"
"""


def claim(cid: str, source: str) -> str:
    return (f'\n[[claims]]\nid = "{cid}"\ncause = "a"\neffect = "b"\ndirection = "raises"\nsource = "{source}"\n'
            f'paraphrase = "p"\n')


@pytest.fixture
def tiny(tmp_path):
    def make(sources: list[str]):
        path = tmp_path / "tiny.toml"
        path.write_text(MODEL + "".join(claim(f"c{i}", s) for i, s in enumerate(sources)))
        return load_model(path)
    return make


@pytest.mark.parametrize("grade, words", [
    ("A1", "completely reliable source; confirmed by other sources"),
    ("B2", "usually reliable source; probably true"),
    ("C3", "fairly reliable source; possibly true"),
    ("D4", "not usually reliable source; doubtful"),
    ("E5", "unreliable source; improbable"),
    ("F6", "source whose reliability cannot be judged; truth cannot be judged"),
])
def test_grade_words(grade, words):
    assert grade_words(grade) == words


@pytest.mark.parametrize("bad", ["", "C", "G3", "C7", "C0", "3C", "C33"])
def test_grade_words_refuses_what_is_not_a_grade(bad):
    with pytest.raises(ValueError, match="not an Admiralty grade"):
        grade_words(bad)


def test_admiralty_key_in_plain_words():
    key = admiralty_key()
    assert [r["code"] for r in key["reliability"]] == list("ABCDEF")
    assert [r["code"] for r in key["credibility"]] == list("123456")
    words = {r["code"]: r["words"] for r in key["reliability"] + key["credibility"]}
    assert words == {"A": "completely reliable", "B": "usually reliable", "C": "fairly reliable",
                     "D": "not usually reliable", "E": "unreliable", "F": "reliability cannot be judged",
                     "1": "confirmed by other sources", "2": "probably true", "3": "possibly true", "4": "doubtful",
                     "5": "improbable", "6": "truth cannot be judged"}
    for row in key["reliability"] + key["credibility"]:
        assert row["explanation"] and "\n" not in row["explanation"] and len(row["explanation"]) < 140
    assert "C3" in key["note"]


def test_entries(tiny):
    m = tiny(["memo", "memo", "wire"])
    got = entries(m)
    assert [e["id"] for e in got] == ["memo", "wire", "unused"]
    memo, wire, unused = got
    assert memo["title"] == "Briefing memo" and memo["publisher"] == "A ministry" and memo["author"] == "J. Doe"
    assert memo["date"] == "2024-05-08" and memo["url"] == ""
    assert memo["grade"] == "C3" and memo["grade_words"] == "fairly reliable source; possibly true"
    assert memo["grade_note"] == "One official's account."
    assert memo["unnamed_sources"] is True and "unnamed" in memo["unnamed_words"]
    assert (memo["claims"], wire["claims"], unused["claims"]) == (2, 1, 0)
    assert memo["citation"] == "J. Doe, “Briefing memo”, A ministry, 8 May 2024."
    assert wire["date"] == "undated" and wire["unnamed_words"] == "" and wire["unnamed_sources"] is False
    # a title in brackets is a description, not quoted
    assert wire["citation"] == "[Wire report on the talks], A wire service, undated. https://example.org/wire"
    for e in got:
        assert all(isinstance(v, str) for k, v in e.items() if k not in ("unnamed_sources", "claims", "evidence"))


def test_entries_of_the_sources_used_only(tiny):
    m = tiny(["memo", "wire"])
    assert [e["id"] for e in entries(m, used=["wire", "memo"])] == ["memo", "wire"]  # model order
    assert entries(m, used=[]) == []
    with pytest.raises(ValueError, match="nope"):
        entries(m, used=["memo", "nope"])


def test_dominant_source(tiny):
    m = tiny(["memo", "memo", "memo", "wire"])
    d = dominant_source(m)
    assert (d["id"], d["claims"], d["total"], d["grade"]) == ("memo", 3, 4, "C3")
    assert d["share"] == pytest.approx(0.75) and d["title"] == "Briefing memo"
    assert d["warning"].startswith("Most claims (3 of 4) come from one source, Briefing memo (C3")
    assert dominant_source(m, ["c0", "c3"]) is None  # half is not most
    assert dominant_source(m, ["c3"])["id"] == "wire"
    assert dominant_source(m, []) is None
    assert dominant_source(tiny(["memo", "wire"])) is None
    assert dominant_source(tiny([])) is None
    with pytest.raises(ValueError, match="c9"):
        dominant_source(m, ["c9"])


def test_example_citation():
    m = load_model(EXAMPLE)
    assert citation(m.source("memo")) == "“Briefing memo”, Example ministry, 8 May 2024."


def test_hanoi_sources_a_reader_can_find():
    if not HANOI.is_file():
        pytest.skip("the Hanoi model is not here")
    m = load_model(HANOI)
    used = {c.source for c in m.claims} | {e.source for e in m.evidence}
    got = entries(m, used)
    assert {e["id"] for e in got} == used
    for e in got:
        assert e["title"] and e["publisher"] and e["date"] != "undated", e["id"]
        assert e["grade_words"] and e["citation"].count(e["title"]) == 1
        assert e["claims"] + e["evidence"] > 0
    assert sum(e["claims"] for e in got) == len(m.claims)
    d = dominant_source(m)
    assert d is not None and d["id"] == "ispsw"
    assert d["warning"].startswith(f"Most claims ({d['claims']} of {len(m.claims)}) come from one source")
