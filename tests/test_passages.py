"""The passages a brief quotes: whole sentences, abbreviations kept whole, cut at the cap, never outside the
sources folder, and each passage of a model quoted once (the others refer to it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import EXAMPLE, EXAMPLE_SOURCES, HANOI, ROOT

from forecast.analyses.passages import QUOTE_CHARS, Quoted, passage, passages
from forecast.spec.load import load_model

SEEDS = ROOT.parent / "shared" / "seeds"
START = re.compile(r"^[A-Z0-9\"“‘'(\[]")
END = re.compile(r"([.!?][\"”’')\]]*|…|\[…\])$")

# A source as extracted from a PDF: sentences wrapped across lines, blank lines between them.
PAPER = """\
Talks in Hanoi

The meeting in the U.S. capital was planned for weeks. Mr. Smith and Dr. Lee met on Jan. 5 at
9 a.m. to discuss the draft, i.e. the text agreed in Singapore, and
its annex No. 3. The envoys then left.

Officials said the deal was “dead.” Others disagreed (see the annex.) The markets fell sharply

that week, e.g. in Seoul and Tokyo. A third paragraph follows here.
"""


def write(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text, encoding="utf-8")
    return name


@pytest.fixture
def paper(tmp_path) -> tuple[Path, str]:
    return tmp_path, write(tmp_path, "paper.txt", PAPER)


def test_widened_to_the_sentences_the_span_begins_and_ends_in(paper):
    folder, name = paper
    # line 4 starts inside the second sentence ("9 a.m. ...") and ends inside it ("and")
    assert passage(folder, name, "4") == ("Mr. Smith and Dr. Lee met on Jan. 5 at 9 a.m. to discuss the draft, i.e. "
                                          "the text agreed in Singapore, and its annex No. 3.")
    # lines 3-5: three whole sentences, the first from the line's start
    assert passage(folder, name, "3-5").startswith("The meeting in the U.S. capital was planned for weeks. Mr. Smith")
    assert passage(folder, name, "3-5").endswith("its annex No. 3. The envoys then left.")


def test_quotes_and_brackets_after_a_full_stop(paper):
    folder, name = paper
    assert passage(folder, name, "7") == ("Officials said the deal was “dead.” Others disagreed (see the annex.) The "
                                          "markets fell sharply that week, e.g. in Seoul and Tokyo.")
    # the closing quote stays with its sentence; the sentence after the bracket stands alone
    assert passage(folder, name, "9") == ("The markets fell sharply that week, e.g. in Seoul and Tokyo. A third "
                                          "paragraph follows here.")


def test_the_heading_is_not_quoted(paper):
    folder, name = paper
    got = passage(folder, name, "1-3")
    assert got.startswith("The meeting in the U.S. capital was planned for weeks. Mr. Smith") and "Talks" not in got


def test_cut_at_whole_sentences(tmp_path):
    sentences = [f"Sentence number {i} says something fairly long about the talks." for i in range(40)]
    name = write(tmp_path, "long.txt", " ".join(sentences) + "\n")
    got = passage(tmp_path, name, "1", max_chars=200)
    assert got.endswith(" […]") and len(got) <= 200
    body = got.removesuffix(" […]")
    k = body.count("Sentence number")  # as many whole sentences as fit with the marker
    assert body == " ".join(sentences[:k]) and len(" ".join(sentences[: k + 1]) + " […]") > 200
    whole = passage(tmp_path, name, "1", max_chars=5000)
    assert whole == " ".join(sentences)
    # a span longer than the cap is read only that far, and still marked as cut
    assert passage(tmp_path, name, "1", max_chars=300).endswith(" […]")


def test_one_sentence_longer_than_the_cap_is_cut_at_a_word(tmp_path):
    sentence = "The " + " ".join(["negotiators"] * 120) + " agreed."
    name = write(tmp_path, "one.txt", sentence + " Short one.\n")
    got = passage(tmp_path, name, "1", max_chars=100)
    assert got.endswith(" …") and len(got) <= 100
    assert got.removesuffix(" …").split(" ")[-1] == "negotiators"  # a whole word


def test_the_look_back_is_bounded(tmp_path):
    # one "sentence" of 3,000 characters over 60 lines (a table, say): the quote starts at the span, marked
    lines = [" ".join(f"w{i}x{j}" for j in range(8)) for i in range(60)] + ["The end."]
    name = write(tmp_path, "table.txt", "\n".join(lines) + "\n")
    got = passage(tmp_path, name, "50")
    assert got.startswith("… w49x0 ")
    assert len(got) <= QUOTE_CHARS


def test_hyphens_bullets_and_note_numbers(tmp_path):
    name = write(tmp_path, "pdf.txt", "Summary\n\n* Beijing gains from a Chinese-\n\ndominated order.1\n\n"
                                      "* Seoul loses\n•\nTokyo waits.\n")
    assert passage(tmp_path, name, "3") == "Beijing gains from a Chinese-dominated order."
    assert passage(tmp_path, name, "7") == "Seoul loses"  # a bullet item ends where the next begins
    assert passage(tmp_path, name, "9") == "Tokyo waits."


@pytest.mark.parametrize("file", ["../outside.txt", "/etc/hostname", "sub/../../outside.txt"])
def test_never_outside_the_sources_folder(tmp_path, file):
    folder = tmp_path / "sources"
    folder.mkdir()
    write(tmp_path, "outside.txt", "A secret sentence.\n")
    assert passage(folder, file, "1") is None


def test_nothing_to_quote(paper):
    folder, name = paper
    assert passage(None, name, "3") is None
    assert passage(folder, None, "3") is None
    assert passage(folder, "missing.txt", "3") is None
    assert passage(folder, name, "") is None
    assert passage(folder, name, "5-3") is None
    assert passage(folder, name, "2") is None  # a blank line
    assert passage(folder, name, "400") is None  # past the end


MODEL = """\
[model]
id = "tiny"
title = "Tiny"

[[sources]]
id = "paper"
title = "A paper"
publisher = "A publisher"
date = 2024-01-02
reliability = "B"
credibility = 2
file = "paper.txt"

[[sources]]
id = "news"
title = "A news report"
publisher = "A daily"
date = 2024-01-03
reliability = "C"
credibility = 3
url = "https://example.org/news"

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


def claim(cid: str, source: str, locator: str) -> str:
    return (f'\n[[claims]]\nid = "{cid}"\ncause = "a"\neffect = "b"\ndirection = "raises"\nsource = "{source}"\n'
            f'locator = "{locator}"\nparaphrase = "p"\n')


def model_with(tmp_path: Path, claims: list[tuple[str, str, str]], text: str = PAPER):
    (tmp_path / "sources").mkdir()
    write(tmp_path / "sources", "paper.txt", text)
    path = tmp_path / "tiny.toml"
    path.write_text(MODEL + "".join(claim(*c) for c in claims))
    return load_model(path), tmp_path / "sources"


def test_each_passage_quoted_once(tmp_path):
    m, folder = model_with(tmp_path, [("c1", "paper", "4"), ("c2", "news", ""), ("c3", "paper", "4"),
                                      ("c4", "paper", "3"), ("c5", "paper", "7-9")])
    got = passages(m, folder)
    assert list(got) == ["c1", "c2", "c3", "c4", "c5"]
    assert got["c2"] == Quoted(None, None)  # no local text
    assert got["c3"] == Quoted(None, "c1")  # the same lines
    # c4's sentences overlap c1's: c1's quote grows to hold both (they fit), c4 refers to it
    assert got["c4"] == Quoted(None, "c1")
    assert got["c1"].text.startswith("The meeting in the U.S. capital") and got["c1"].text.endswith("No. 3.")
    assert got["c5"].text.startswith("Officials said") and got["c5"].same_as is None


def test_an_overlap_too_long_to_merge_quotes_only_the_new_sentences(tmp_path):
    text = "".join(f"Line {i} has one sentence of some length about the summit in Hanoi.\n" for i in range(1, 21))
    m, folder = model_with(tmp_path, [("c1", "paper", "1-5"), ("c2", "paper", "4-8"), ("c3", "paper", "2-3")],
                           text)
    got = passages(m, folder, max_chars=400)
    assert got["c1"].text.startswith("Line 1 ") and got["c1"].text.endswith("Line 5 has one sentence of some length "
                                                                                "about the summit in Hanoi.")
    assert got["c2"] == Quoted(got["c2"].text, None, "c1")
    assert got["c2"].text.startswith("Line 6 ") and "Line 5 " not in got["c2"].text
    assert got["c3"] == Quoted(None, "c1")


def test_example_model():
    got = passages(load_model(EXAMPLE), EXAMPLE_SOURCES)
    assert got["m3"] == Quoted(None, "m2") and got["k2"] == Quoted(None, "k1")  # lines 5 (twice) and 3-4 / 5
    # the column's title line (a heading) is not quoted; its claim starts at the sentence line 3 begins
    assert got["k1"].text.startswith("The columnist doubts that the breakdown matters much. In her view")
    assert got["m1"].text == "Officials on both sides say the breakdown makes new tariffs more likely."


def test_hanoi_quotes_a_reader_can_check():
    if not HANOI.is_file() or not SEEDS.is_dir():
        pytest.skip("the Hanoi model or its sources are not here")
    m = load_model(HANOI)
    got = passages(m, SEEDS)
    assert list(got) == [c.id for c in m.claims]
    texts = [q.text for q in got.values() if q.text is not None]
    assert len(texts) >= 20
    for t in texts:
        assert START.match(t), t[:80]
        assert END.search(t), t[-80:]
        assert len(t) <= QUOTE_CHARS
        assert "  " not in t and "* " not in t
    assert len(set(texts)) == len(texts)
    # no sentence shown twice either (a passage that overlaps one shown is referred to, not repeated)
    sentences = [s for t in texts for s in re.split(r"(?<=[.!?”])\s+", t.removesuffix(" […]")) if len(s) > 40]
    assert len(set(sentences)) == len(sentences)
    files = {s.id: s.file for s in m.sources}
    for c in m.claims:
        q = got[c.id]
        if c.locator and files[c.source] and (SEEDS / files[c.source]).is_file():
            assert (q.text is None) != (q.same_as is None), c.id
        if q.same_as:
            assert got[q.same_as].text is not None and m.claims[[x.id for x in m.claims].index(q.same_as)].source \
                == c.source
            assert [x.id for x in m.claims].index(q.same_as) < [x.id for x in m.claims].index(c.id)
        if q.text:  # the quote holds the claim's own lines (some of them, when the quote is cut)
            assert passage(SEEDS, files[c.source], c.locator)[:40] in q.text or q.follows
