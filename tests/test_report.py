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
HEADINGS = ["ANALYTIC BRIEF", "Key judgments", "Question probabilities", "Causal map", "Main indices", "What-ifs",
            "Stances", "Sensitivity", "Evidence log", "Sources", "Method and diagnostics"]
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


@pytest.fixture(scope="module")
def pdf(brief, tmp_path_factory):
    from forecast.report import write_report

    out = tmp_path_factory.mktemp("report") / "brief.pdf"
    write_report(brief, out)
    return out


@pytest.fixture(scope="module")
def body(pdf) -> str:
    return pdf_text(pdf)


def test_every_part_in_order(body):
    at = [body.find(h) for h in HEADINGS]
    assert all(i >= 0 for i in at), [h for h, i in zip(HEADINGS, at, strict=True) if i < 0]
    assert at == sorted(at)
    assert "Trade talks breakdown (example)" in body and "seed 5; 300 draws" in body and "forecast 0.1.0" in body


def test_every_question_has_its_judgment_sentence(brief, body):
    assert len(brief["judgments"]) == 3
    for j in brief["judgments"]:
        assert text.judgment(j, 0.8) in body, j["id"]
        assert text.confidence(j, 0.8) in body, j["id"]
    # written out by hand for one question, so that the sentence builder is checked too
    j = next(j for j in brief["judgments"] if j["id"] == "q_tariffs")
    assert f"({round(100 * j['mean'])}%; 80% interval" in body
    assert "that a new tariff round will be announced by 31 December 2024." in body


def test_judgments_ordered_by_importance_then_probability(brief, body):
    ids = [j["id"] for j in brief["judgments"]]
    assert ids[0] == "q_tariffs"  # importance 3
    pos = [body.find(f"({i})") for i in ids]
    assert pos == sorted(pos) and min(pos) > 0


def test_likelihood_words_match_the_printed_numbers(body):
    priors = load_prior_set(None)
    words = "|".join(sorted(map(re.escape, priors.probability_words), key=len, reverse=True))
    found = re.findall(rf"(?:It is|There is a|There is) ({words}) \((\d+)%; 80% interval (\d+)–(\d+)%\)", body)
    assert len(found) == 3
    for word, p, lo, hi in found:
        assert priors.word_for(int(p) / 100) == word, (word, p)
        assert int(lo) <= int(p) <= int(hi)


def test_confidence_never_shares_a_sentence_with_a_likelihood_word(body):
    sentences = re.findall(r"We have (?:high|moderate|low) confidence in this judgment:[^.]*\.", body)
    assert len(sentences) == 3
    for s in sentences:
        assert not re.search(r"\b(likely|unlikely|chance|certain)\b", s), s
    for s in re.findall(r"(?:It is|There is)[^.]*?\([^)]*\)[^.]*\.", body):
        assert "confidence" not in s


def test_sources_appendix_quotes_the_documents(body):
    from forecast.spec import load_model

    model = load_model(EXAMPLE)
    for c in model.claims:
        assert c.paraphrase in body, c.id
    lines = (EXAMPLE_SOURCES / "memo.txt").read_text().splitlines()
    assert f"“{lines[3].strip()}”" in body  # claim m1, locator 4
    assert " ".join(" ".join(lines[7:9]).split()) in body  # claim m4, locator 8-9
    assert "memo (B2), line 4" in body and "column (C4), lines 3-4" in body


def test_whatifs_stances_and_sensitivity_are_typeset(brief, body):
    for w in brief["whatifs"]:
        assert w["label"] in body
    assert "example_skeptic" in body and "Spread" in body
    for qid in brief["sensitivity"]["questions"]:
        assert f"{qid}: " in body
    assert "The model records no evidence" in body


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
    assert all(r["id"] != "tariffs" for r in w["rows"])
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


@pytest.mark.slow
def test_hanoi_brief_with_evidence(tmp_path):
    """The showcase model, small: evidence log, posterior what-ifs and stances typeset end to end."""
    from forecast.analyses.brief import collect
    from forecast.report import write_report

    data = collect(HANOI, priors=[str(ROOT / "priors/hanoi_2019/baseline.toml"),
                                  str(ROOT / "priors/hanoi_2019/skeptic.toml")],
                   scenarios=["summit_succeeded"], sources=SEEDS if SEEDS.is_dir() else None, draws=200, seed=0,
                   session_options={"tune": 150},
                   key_judgments=1, sensitivity_top=5)
    out = write_report(data, tmp_path / "hanoi.pdf")
    body = pdf_text(out)
    for h in HEADINGS:
        assert h in body
    assert len(data["evidence"]["rows"]) == 6
    for j in data["judgments"]:
        assert text.judgment(j, 0.8) in body
    assert "Realmeter" in body or not SEEDS.is_dir()
