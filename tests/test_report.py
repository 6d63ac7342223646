"""`forecast report`: the PDF read back as a reader would (pypdf text), its data, its figures and its CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLE, EXAMPLE_SOURCES, ROOT
from pypdf import PdfReader

from forecast.report import text
from forecast.spec import load_prior_set

SKEPTIC = ROOT / "priors" / "example_skeptic.toml"
HANOI = ROOT / "models" / "hanoi_2019.toml"
SEEDS = ROOT.parent / "shared" / "seeds"
HEADINGS = ["ANALYTIC BRIEF", "Bottom line", "Key judgments", "The key judgments and why", "What to watch",
            "What would change our mind", "What-ifs", "Competing views", "Key assumptions check", "Outlook",
            "Annex A. Method, run and glossary", "Glossary", "Annex B. Sources", "Annex C. Claims",
            "Annex D. Questions and evidence", "Evidence log", "Annex E. Sensitivity and stances", "Annex F. Charts",
            "Annex G. The full causal map"]
ARGS = dict(priors=[None, str(SKEPTIC)], sources=EXAMPLE_SOURCES, draws=300, seed=5)


def pdf_text(path: Path) -> str:
    """The PDF's text, every run of whitespace folded to one space.

    Hyphenation is off in the template, so a line that ends in a hyphen ends in a real one
    ("ICBM-" / "class"): the line break is dropped there, not turned into a space.
    """
    raw = "\n".join(p.extract_text() for p in PdfReader(path).pages)
    return " ".join(re.sub(r"-[ \t]*\n\s*", "-", raw).split())


@pytest.fixture(scope="module")
def brief(example_no_evidence):
    from forecast.analyses.brief import collect

    return collect(example_no_evidence, **ARGS)


def build(data: dict, folder: Path) -> tuple[Path, Path, list[str]]:
    """The PDF, its page PNGs and the page rules' breaches (read from Typst's layout and the images)."""
    from forecast.report.typeset import compile_pdf

    problems: list[str] = []
    out = compile_pdf(data, folder / "brief.pdf", png_dir=folder / "pages", problems=problems)
    return out, folder / "pages", problems


@pytest.fixture(scope="module")
def built(brief, tmp_path_factory):
    return build(brief, tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def pdf(built):
    return built[0]


@pytest.fixture(scope="module")
def body(pdf) -> str:
    return pdf_text(pdf)


def page_texts(path: Path) -> list[str]:
    return [" ".join(re.sub(r"-[ \t]*\n\s*", "-", p.extract_text()).split()) for p in PdfReader(path).pages]


def before_annexes(body: str) -> str:
    return body[: body.index("Annex A. Method")]


def test_every_part_in_order(body):
    at = [body.find(h) for h in HEADINGS]
    assert all(i >= 0 for i in at), [h for h, i in zip(HEADINGS, at, strict=True) if i < 0]
    assert at == sorted(at)
    assert "Trade talks breakdown (example)" in body and "forecast 0.1.0" in body
    # the run's metadata is in the method annex, not on page 1
    assert body.index("Seed") > body.index("Annex A.") and "seed 5" not in before_annexes(body).lower()


def test_page_one_leads_with_the_bottom_line_and_the_key_judgments(brief, pdf):
    from forecast.report.document import prepare

    first = page_texts(pdf)[0]
    doc = prepare(brief, {}, "a4")
    assert first.index("Bottom line") < first.index("Key judgments")
    assert doc["title"]["headline"] in first and 3 <= len(doc["bottom_line"]) <= 5
    for s in doc["bottom_line"]:
        assert s in first
    assert [k["id"] for k in doc["keys"]] == brief["key"] and len(brief["key"]) == 3  # all three questions
    for k in doc["keys"]:
        assert k["sentence"] in first and k["because"] in first and k["confidence"] in first
        assert f"({k['ref']})" in first
        ids = [d["id"] for d in brief["judgments"][[j["id"] for j in brief["judgments"]].index(k["id"])]["drivers"]
               if d["kind"] == "claim"]
        assert ids and all(f"({i};" in k["because"] for i in ids), k["because"]  # the because names its claims


def test_key_judgments_by_importance_then_stake(brief):
    assert brief["key"][0] == "q_tariffs"  # the one question of importance 3


def test_every_question_id_appears_with_its_short_title(brief, body):
    short = {j["id"]: j["short"] for j in brief["judgments"]}
    seen = 0
    for m in re.finditer(r"\b(q_[a-z]+): ", body):
        assert body[m.end():].startswith(short[m.group(1)]), body[m.start(): m.end() + 60]
        seen += 1
    assert seen >= 10


def test_likelihood_words_match_the_printed_numbers(body):
    priors = load_prior_set(None)
    words = "|".join(sorted(map(re.escape, priors.probability_words), key=len, reverse=True))
    found = re.findall(rf"(?:It is|There is a|There is) ({words}) \((\d+)%; 80% interval (\d+)–(\d+)%\)", body)
    assert len(found) >= 3
    for word, p, lo, hi in found:
        assert priors.word_for(int(p) / 100) == word, (word, p)
        assert int(lo) <= int(p) <= int(hi)


def test_confidence_says_why_and_never_how_likely(brief, body):
    from forecast.report.document import prepare

    for k in prepare(brief, {}, "a4")["keys"]:
        c = k["confidence"]
        assert re.match(r"(High|Moderate|Low) confidence: ", c) and c in body, c
        assert not re.search(r"\b(likely|unlikely|chance|certain)\b", c), c


def test_no_jargon_before_the_method_annex(body):
    from forecast.report.document import JARGON

    head = before_annexes(body).lower()
    found = [w for w in JARGON if re.search(rf"\b{re.escape(w)}\b", head)]
    assert not found, found
    assert "Glossary" in body and "Pareto k" in body[body.index("Annex A."):]


def test_every_whatif_row_over_the_threshold_is_listed(brief, body):
    from forecast.report import text as words
    from forecast.report.document import prepare

    head = before_annexes(body)
    headers = [x["header"] for x in prepare(brief, {}, "a4")["whatifs"]]
    assert "If tariffs are imposed" in headers  # a label opening with a common word is lowered in the sentence
    for w, header in zip(brief["whatifs"], headers, strict=True):
        start = head.index(header)
        section = head[start: head.index("Competing views")]
        for r in w["rows"]:
            assert abs(r["diff"]["mean"]) >= brief["moved"]
            assert f"{r['id']}: {r['short']} {words.pct(r['baseline']['mean'])} {words.pct(r['whatif']['mean'])}" \
                in section, (w["id"], r["id"])


def test_bibliography_lists_every_source_with_title_publisher_and_date(brief, body):
    from forecast.spec import load_model

    annex = body[body.index("Annex B. Sources"): body.index("Annex C.")]
    m = load_model(EXAMPLE)
    for s in m.sources:
        assert s.title in annex and s.publisher in annex and str(s.date.year) in annex, s.id
    assert "Reliability of the source" in annex and "Credibility of the information" in annex


def test_sources_annex_quotes_the_documents_once(body):
    from forecast.spec import load_model

    model = load_model(EXAMPLE)
    annex = body[body.index("Annex C."): body.index("Annex D.")]
    for c in model.claims:
        assert c.paraphrase in annex, c.id
    quotes = re.findall(r"“([^”]+)”", annex)
    assert quotes and len(quotes) == len(set(quotes))  # each passage once, referred to after
    assert "Passage quoted under" in annex


def test_pages_are_200_ppi_and_keep_the_page_rules(built):
    from forecast.report.pagecheck import ppi

    pdf, pages, problems = built
    assert not problems, problems
    pngs = sorted(pages.glob("*.png"))
    assert len(pngs) == len(PdfReader(pdf).pages)
    heights = [float(p.mediabox.height) for p in PdfReader(pdf).pages]
    assert all(round(ppi(p, h)) == 200 for p, h in zip(pngs, heights, strict=True))


def test_fonts_embedded_and_paper_sizes(brief, pdf, tmp_path):
    from forecast.report import write_report

    reader = PdfReader(pdf)
    fonts = {}
    for page in reader.pages:
        for f in page["/Resources"].get("/Font", {}).values():
            f = f.get_object()
            desc = f.get("/FontDescriptor") or f["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            fonts[f["/BaseFont"]] = any(k.startswith("/FontFile") for k in desc.get_object())
    assert fonts and all(fonts.values()), fonts
    a4 = reader.pages[0].mediabox
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)
    assert any(float(p.mediabox.width) > float(p.mediabox.height) for p in reader.pages)  # the map's landscape page
    letter = PdfReader(write_report(brief, tmp_path / "letter.pdf", paper="us-letter")).pages[0].mediabox
    assert (round(float(letter.width)), round(float(letter.height))) == (612, 792)


def test_sensitivity_moves_the_right_way(brief):
    """More credence in a claim that raises tariffs raises P(tariffs); in one that lowers them, lowers it."""
    bars = {b["id"]: b for b in brief["sensitivity"]["questions"]["q_tariffs"]["bars"]}
    assert bars["m1"]["high"] > bars["m1"]["low"] + 0.05
    assert bars["k2"]["high"] < bars["k2"]["low"]
    assert bars["tariffs"]["high"] > bars["tariffs"]["low"] + 0.05  # its own base rate
    assert "coalition_crisis" not in bars and "m3" not in bars  # not upstream of tariffs
    swings = [b["swing"] for b in brief["sensitivity"]["questions"]["q_tariffs"]["bars"]]
    assert swings == sorted(swings, reverse=True)
    compiles = brief["sensitivity"]["compiles"]  # the engine's compile count after each setting
    assert len(compiles) == 2 * brief["sensitivity"]["settings"] and len(set(compiles)) == 1


def test_whatif_rows_are_paired_and_leave_out_the_intervened_variable(brief):
    w = next(w for w in brief["whatifs"] if w["id"] == "tariffs_imposed")
    assert all(r["id"] != "q_tariffs" for r in w["rows"])  # its variable is the one set
    crisis = next(r for r in w["rows"] if r["id"] == "q_crisis")
    assert crisis["diff"]["mean"] > 0 and crisis["diff"]["lo"] <= crisis["diff"]["mean"] <= crisis["diff"]["hi"]


def test_same_inputs_and_seed_give_the_same_text(example_no_evidence, body, tmp_path):
    """The command line, in a fresh process, writes the same text as the Python API."""
    out = tmp_path / "again.pdf"
    cmd = [sys.executable, "-m", "forecast", "report", str(example_no_evidence), "--priors", "default",
           "--priors", str(SKEPTIC), "--sources", str(EXAMPLE_SOURCES), "--draws", "300", "--seed", "5", "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert pdf_text(out) == body
    assert [p.name for p in tmp_path.iterdir()] == ["again.pdf"]  # no temporary file left behind


@pytest.mark.parametrize("extra, message", [
    (["--scenario", "talks_resum"], "no such scenario (did you mean 'talks_resume'?)"),
    (["--priors", "no_such_priors"], "--priors: no_such_priors: no such prior set (looked for "),
    (["--sources", "no_such_folder"], "--sources: not a folder"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, extra, message):
    out = tmp_path / "out" / "brief.pdf"
    proc = subprocess.run([sys.executable, "-m", "forecast", "report", str(EXAMPLE), *extra, "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not out.parent.exists()


def test_causal_map_of_hanoi_has_no_overlapping_labels():
    """Drawn from the spec alone (no sampling): every box inside the figure, no two boxes touching."""
    from forecast.report.causal_map import draw, label_boxes, layout
    from forecast.spec import load_model, resolve

    m = load_model(HANOI)
    r = resolve(m, load_prior_set(None))
    data = {"nodes": [{"id": v.id, "label": v.label, "kind": v.kind, "observed": False, "asked": False}
                      for v in m.variables],
            "edges": [{"id": c.id, "cause": c.cause, "effect": c.effect, "source": c.source, "sign": 1,
                       "strength": 1.0, "credence": 0.6} for c in m.claims],
            "order": list(r.order), "sources": [{"id": s.id, "grade": s.grade} for s in m.sources]}
    lay = layout(data)
    assert all(lay["layer"][c.cause] < lay["layer"][c.effect] for c in m.claims)  # arrows point right
    fig = draw(data)
    boxes = label_boxes(fig)
    assert len(boxes) == len(m.variables)
    w, h = fig.bbox.width, fig.bbox.height
    assert all(0 <= x0 and x1 <= w and 0 <= y0 and y1 <= h for x0, y0, x1, y1 in boxes)
    gap = 2.0  # pixels
    for i, a in enumerate(boxes):
        for b in boxes[:i]:
            apart = a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1]
            assert apart, (a, b)


@pytest.mark.parametrize("question, clause", [
    ("Will Trump and Kim meet in person again before 2020?", "Trump and Kim will meet in person again before 2020"),
    ("Will any sanctions on North Korea be formally eased by the end of 2020?",
     "any sanctions on North Korea will be formally eased by the end of 2020"),
    ("Will Seoul's drift toward Beijing exceed 0.5 on our index by the end of 2021?",
     "Seoul's drift toward Beijing will exceed 0.5 on our index by the end of 2021"),
    ("Will Kim Jong-Un's government officially step back from talks?",
     "Kim Jong-Un's government will officially step back from talks"),
    ("Is the summit a failure?", None),
])
def test_questions_become_clauses(question, clause):
    assert text.clause(question) == clause


def test_sentence_grammar_for_every_band():
    j = {"mean": 0.5, "lo": 0.4, "hi": 0.6, "text": "Is it?", "word": "roughly even chance"}
    assert text.judgment(j, 0.8) == ("There is a roughly even chance (50%; 80% interval 40–60%) that the answer to "
                                     "“Is it?” is yes.")
    assert text.likelihood_phrase("almost no chance") == "There is almost no chance"
    assert text.likelihood_phrase("very likely") == "It is very likely"
