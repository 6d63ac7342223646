"""The Hanoi brief as its readers use it (issue 16): bottom line and key judgments on page 1, every question under
one short title, confidence by ICD 203's factors, every source in the bibliography, every what-if row over the
threshold, no jargon before the method annex, the page rules, and a body of at most ten pages.

One brief of the showcase model with every stance, scenario, signpost, flip and the track record, small (300
draws): the properties below hold at any draw count; the numbers themselves are tested elsewhere.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT
from pypdf import PdfReader
from test_report import before_annexes, build, page_texts

HANOI = ROOT / "models" / "hanoi_2019.toml"
SEEDS = ROOT.parent / "shared" / "seeds"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not HANOI.is_file(), reason="no Hanoi model in this checkout")]


@pytest.fixture(scope="module")
def data():
    from forecast.analyses.brief import collect

    return collect(HANOI, sources=SEEDS if SEEDS.is_dir() else None, draws=300, seed=0,
                   session_options={"tune": 300})


@pytest.fixture(scope="module")
def built(data, tmp_path_factory):
    return build(data, tmp_path_factory.mktemp("hanoi"))


@pytest.fixture(scope="module")
def doc(data):
    from forecast.report.document import prepare

    return prepare(data, {}, "a4")


@pytest.fixture(scope="module")
def pages(built) -> list[str]:
    return page_texts(built[0])  # read once: pypdf takes seconds a page


@pytest.fixture(scope="module")
def body(pages) -> str:
    return " ".join(pages)


def test_page_one_has_the_bottom_line_and_five_to_seven_key_judgments_with_their_claims(data, doc, pages):
    first = pages[0]
    assert "Bottom line" in first and doc["title"]["headline"] in first
    assert 3 <= len(doc["bottom_line"]) <= 5 and all(s in first for s in doc["bottom_line"])
    assert 5 <= len(doc["keys"]) <= 7
    importance = {j["id"]: j["importance"] for j in data["judgments"]}
    assert all(importance[k["id"]] == 3 for k in doc["keys"][:5])  # Hanoi's five most important questions lead
    for k in doc["keys"][:5]:  # the page holds five; a sixth may run over
        assert k["sentence"] in first and k["because"].startswith("Because: ")
        assert re.search(r"\(c\d\d; ", k["because"]), k["because"]  # a driver claim named by id, source, grade
        assert k["claims"] != "none" and k["confidence"] in " ".join(pages[:2])
        assert f"({k['ref']})" in first  # "(q05; claims c01, c20)": the ids an editor looks up in Annex C


def test_every_question_id_carries_its_one_short_title(data, body):
    short = {j["id"]: j["short"] for j in data["judgments"]}
    hits = list(re.finditer(r"\b(q\d\d): ", body))
    assert {m.group(1) for m in hits} == set(short)  # every question appears, always under its short title
    for m in hits:
        assert body[m.end():].startswith(short[m.group(1)]), body[m.start(): m.end() + 60]


def test_confidence_is_low_where_a_judgment_rests_on_no_claim_or_one_weak_source(data):
    from forecast.spec import load_model

    m = load_model(HANOI)
    for j in data["judgments"]:
        srcs = {m.source(next(c for c in m.claims if c.id == cid).source) for cid in j["claim_ids"]}
        weak = len(srcs) == 1 and next(iter(srcs)).reliability in "CDEF"
        if not j["claim_ids"] or weak:
            assert j["confidence"]["level"] == "low", j["id"]
    q05 = next(j for j in data["judgments"] if j["id"] == "q05")  # 20 claims, most of them ispsw's (C3, unnamed)
    assert q05["confidence"]["level"] == "low"


def test_the_bibliography_lists_every_source_with_title_publisher_and_date(data, body):
    from forecast.report.bibliography import entries
    from forecast.spec import load_model

    annex = body[body.index("Annex B. Sources"): body.index("Annex C.")]
    for e in entries(load_model(HANOI), data["sources"]["used"]):
        for field in ("title", "publisher", "date_long"):
            assert " ".join(e[field].split()) in annex, (e["id"], field)
    assert "Most claims (39 of 59) come from one source" in annex


def test_every_whatif_row_over_the_threshold_appears(data, doc, body):
    head = before_annexes(body)
    assert len(doc["whatifs"]) == len(data["whatifs"]) == 8
    for w, shown in zip(data["whatifs"], doc["whatifs"], strict=True):
        start = head.index(shown["header"])
        section = head[start: head.index("Competing views")]
        assert len(shown["rows"]) == len(w["rows"])
        for r, row in zip(w["rows"], shown["rows"], strict=True):
            assert abs(r["diff"]["mean"]) >= data["moved"]
            assert " ".join(row[:4]) in section, (w["id"], row)


def test_no_jargon_before_the_method_annex_and_a_glossary_after(body):
    from forecast.report.document import JARGON

    head = before_annexes(body).lower()
    assert not [w for w in JARGON if re.search(rf"\b{re.escape(w)}\b", head)]
    assert "Glossary" in body[body.index("Annex A."):]


def test_pages_keep_the_rules_and_the_body_is_at_most_ten_pages(built, pages):
    from forecast.report.pagecheck import ppi

    pdf, folder, problems = built
    assert not problems, problems
    annex = next(i for i, t in enumerate(pages) if "Annex A. Method" in t)
    assert annex <= 10  # the body is pages 1 to 10 at most
    reader = PdfReader(pdf)
    pngs = sorted(folder.glob("*.png"))
    assert len(pngs) == len(reader.pages)
    assert all(round(ppi(p, float(pg.mediabox.height))) == 200 for p, pg in zip(pngs, reader.pages, strict=True))


def test_track_record_signposts_flips_and_views_are_in_the_body(data, body):
    head = before_annexes(body)
    assert data["record"]["resolved"] == 20 and "20 of the 24 questions have resolved" in head
    assert data["watch"] and data["watch"][0]["watch"] in head
    assert any(data["mind"].values()) and "What would change our mind" in head
    assert data["views"] and "The evidence so far favours" in head
