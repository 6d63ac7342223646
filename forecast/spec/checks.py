"""Cross-reference checks of a shape-valid model: ids, references, cycles, locators."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from forecast.spec.errors import Problem, SpecError, did_you_mean
from forecast.spec.locate import prior_set_path
from forecast.spec.schema import ScenarioModel

if TYPE_CHECKING:  # resolve imports this module
    from forecast.spec.resolve import Resolved


def topological_order(variables: list[str], edges: list[tuple[str, str]]) -> tuple[list[str], list[str] | None]:
    """Kahn's order of ``variables``; on a cycle, also return one loop (first node repeated last)."""
    children: dict[str, list[str]] = {v: [] for v in variables}
    indeg = Counter({v: 0 for v in variables})
    for a, b in edges:
        children[a].append(b)
        indeg[b] += 1
    order, ready = [], [v for v in variables if indeg[v] == 0]
    while ready:
        v = ready.pop(0)
        order.append(v)
        for c in children[v]:
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    if len(order) == len(variables):
        return order, None
    # every remaining node has a parent among them (else Kahn would have freed it): walk
    # up the parents until a node repeats, then read that loop forwards
    left = {v for v in variables if v not in order}
    node, path = next(iter(sorted(left))), []
    while node not in path:
        path.append(node)
        node = next(a for a, b in edges if b == node and a in left)
    loop = path[path.index(node):][::-1]
    first = min(range(len(loop)), key=lambda i: variables.index(loop[i]))
    loop = loop[first:] + loop[:first]
    return order, loop + [loop[0]]


def parse_locator(text: str) -> tuple[int, int] | None:
    parts = text.strip().split("-")
    if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
        return None
    lo, hi = int(parts[0]), int(parts[-1])
    return (lo, hi) if 1 <= lo <= hi else None


def check_model(
    model: ScenarioModel, sources_dir: str | Path | None = None, broken: set[str] | frozenset = frozenset()
) -> list[Problem]:
    """Every reference problem in ``model``; an empty list when it is sound.

    ``broken`` holds ids of entries that already failed validation: references to
    them are not reported again.
    """
    f, problems = model.path, []
    add = lambda entry, msg: problems.append(Problem(f, entry, msg))  # noqa: E731

    for section in ("sources", "variables", "claims", "evidence", "questions", "scenarios"):
        for vid, n in Counter(x.id for x in getattr(model, section)).items():
            if n > 1:
                add(f"{section}.{vid}", f"duplicate id '{vid}' ({n} entries)")
    var_ids = [v.id for v in model.variables]
    kinds = {v.id: v.kind for v in model.variables}
    source_ids = [s.id for s in model.sources]

    def ref(entry: str, field: str, value: str, options: list[str], what: str) -> bool:
        if value in options or value in broken:
            return value in options
        add(entry, f"{field} '{value}' is not a known {what}" + did_you_mean(value, options))
        return False

    edges = []
    for c in model.claims:
        e = f"claims.{c.id}"
        ok = ref(e, "cause", c.cause, var_ids, "variable") & ref(e, "effect", c.effect, var_ids, "variable")
        ref(e, "source", c.source, source_ids, "source")
        if c.cause == c.effect:
            add(e, f"a claim cannot run from '{c.cause}' to itself")
        elif ok:
            edges.append((c.cause, c.effect))
        local = c.source in source_ids and model.source(c.source).file is not None
        if (c.locator or local) and parse_locator(c.locator) is None:
            add(e, f"locator '{c.locator}' is not a line range such as '12-14'" if c.locator else
                "locator missing: give the line range in the source's file, such as '12-14'")
    _, loop = topological_order(var_ids, edges)
    if loop:
        add("claims", "the claims form a cycle: " + " -> ".join(loop))

    for ev in model.evidence:
        e = f"evidence.{ev.id}"
        ref(e, "source", ev.source, source_ids, "source")
        if ref(e, "variable", ev.variable, var_ids, "variable"):
            problems.extend(Problem(f, e, m) for m in _value_problems(kinds[ev.variable], ev.value, "value"))
            if kinds[ev.variable] == "index" and ev.sd is None:
                add(e, "an index measurement needs 'sd' (its uncertainty)")
            if kinds[ev.variable] == "index" and ev.soft:
                add(e, "soft evidence is for events; give an index measurement an 'sd' instead")
    for vid, n in Counter(ev.variable for ev in model.evidence if not ev.soft).items():
        if n > 1:
            add(f"evidence.{vid}", f"variable '{vid}' is observed {n} times; keep one observation")

    for q in model.questions:
        e = f"questions.{q.id}"
        if ref(e, "variable", q.variable, var_ids, "variable"):
            if kinds[q.variable] == "index" and q.threshold is None:
                add(e, f"'{q.variable}' is an index: the question needs a threshold in [0, 1]")
            if kinds[q.variable] == "event" and q.threshold is not None:
                add(e, f"'{q.variable}' is an event: a threshold applies only to an index")
        problems.extend(Problem(f, e, m) for m in _resolution_problems(q, kinds.get(q.variable)))
        if q.resolution_source is not None:
            ref(e, "resolution_source", q.resolution_source, source_ids, "source")

    problems += _horizon_problems(model)

    for s in model.scenarios:
        e = f"scenarios.{s.id}"
        for field in ("do", "observe"):
            for vid, value in getattr(s, field).items():
                if ref(e, f"{field} target", vid, var_ids, "variable"):
                    problems.extend(Problem(f, e, m) for m in _value_problems(kinds[vid], value, f"{field}.{vid}"))
        if s.priors:
            try:
                prior_set_path(s.priors, f, model.info.id, relative_to=Path(f).parent, origin=f)
            except SpecError as err:
                add(e, f"priors: {err.problems[0].message}")

    for s in model.sources:
        if s.file is None:
            missing = [k for k in ("publisher", "date") if not getattr(s, k)]
            if len(missing) == 2 and not s.url:
                add(f"sources.{s.id}", "give 'file' (its text in the sources folder) or, for a source without a "
                                       "local text such as a news report, 'publisher' and 'date' (and 'url' where "
                                       "there is one)")
            elif missing:
                add(f"sources.{s.id}", f"a source without a local text needs {' and '.join(missing)} (a reader "
                                       "finds it by title, publisher and date)")
            continue
        if source_path(sources_dir, s.file) is None:
            add(f"sources.{s.id}", f"source file '{s.file}' leaves the sources folder (give a name relative to "
                                   "it, without '..')")
    if sources_dir is not None:
        problems += _check_sources(model, Path(sources_dir))
    return problems


def _horizon_problems(model: ScenarioModel) -> list[Problem]:
    """What is wrong with the events' windows (``by``, ``start``: forecast.spec.horizons): only an event has one
    (an index is a level at a date), it must have a start (its own or the model's ``as_of``) before its end, and a
    question on it must be dated after that start (nothing can happen in an empty window)."""
    f, out, starts = model.path, [], {}
    for v in model.variables:
        e = f"variables.{v.id}"
        if v.by is None and v.start is None:
            continue
        if v.kind != "event":
            out.append(Problem(f, e, "'by' and 'start' give an event's window; an index is a level at a date (its "
                                     "questions name their own dates)"))
            continue
        if v.by is None:
            out.append(Problem(f, e, "'start' opens a window: give 'by', the date it closes"))
            continue
        start = v.start or model.info.as_of
        if start is None:
            out.append(Problem(f, e, "'by' needs the window's start: give 'start' or the model's as_of"))
        elif v.by <= start:
            whose = "start" if v.start else "the model's as_of"
            out.append(Problem(f, e, f"by {v.by} is not after the window's start {start} ({whose})"))
        else:
            starts[v.id] = start
    for q in model.questions:
        if q.variable in starts and q.threshold is None and q.resolves_by <= starts[q.variable]:
            out.append(Problem(f, f"questions.{q.id}", f"resolves_by {q.resolves_by} is not after the start of "
                                                       f"the window of '{q.variable}' ({starts[q.variable]}): nothing "
                                                       "can happen in it"))
    return out


def _resolution_problems(q, kind: str | None) -> list[str]:
    """What is wrong with a question's recorded outcome: it comes with the date it was known, by the question's
    deadline (after it the question resolved as it stood), as true/false or (an index question) a level."""
    out = []
    if q.outcome is None:
        if q.resolved_on is not None or q.resolution_source is not None:
            out.append("resolved_on and resolution_source record an outcome: give 'outcome' too")
        return out
    if q.resolved_on is None:
        out.append("an outcome needs 'resolved_on' (the date it was known)")
    elif q.resolved_on > q.resolves_by:
        out.append(f"resolved_on {q.resolved_on} is after resolves_by {q.resolves_by}: an outcome is known by the "
                   "question's deadline (record what stood then)")
    if kind == "event" and not isinstance(q.outcome, bool):
        out.append(f"outcome: the question is about an event: true or false, not {q.outcome!r}")
    if kind == "index" and not isinstance(q.outcome, bool) and not 0.0 <= q.outcome <= 1.0:
        out.append(f"outcome: an index level must lie in [0, 1], not {q.outcome!r} (or give true/false: whether it "
                   "exceeded the threshold)")
    return out


def _value_message(kind: str, value: bool | float) -> str | None:
    """What is wrong with ``value`` as the state of a variable of ``kind`` (None: nothing)."""
    if kind == "event" and not (isinstance(value, bool) or value in (0, 1)):
        return f"an event takes true or false, not {value!r}"
    if kind == "index" and (isinstance(value, bool) or not 0.0 <= value <= 1.0):
        return f"an index level must lie in [0, 1], not {value!r}"
    return None


def _value_problems(kind: str, value: bool | float, where: str) -> list[str]:
    msg = _value_message(kind, value)
    return [f"{where}: {msg}"] if msg else []


def assignment_problems(r: Resolved, values: dict[str, float], origin: str) -> list[Problem]:
    """``--do`` / ``--observe`` values (``origin``): known variables, with values their kind can take."""
    out = []
    for vid, value in values.items():
        if vid not in r.variables:
            out.append(Problem(origin, vid, "not a variable of the model" + did_you_mean(vid, r.variables)))
        elif msg := _value_message(r.variables[vid].kind, value):
            out.append(Problem(origin, vid, msg))
    return out


def raise_assignments(r: Resolved, values: dict[str, float], origin: str) -> None:
    """:func:`assignment_problems` as a SpecError (exit 2), if any."""
    problems = assignment_problems(r, values, origin)
    if problems:
        raise SpecError(problems)


def source_path(folder: str | Path | None, file: str) -> Path | None:
    """The source text ``file`` inside ``folder``, or None when the name leaves the folder (an absolute path,
    ``..``, or a link to somewhere else): a model file cannot make the tool read outside ``--sources``.
    Without a folder the name alone is judged (absolute or with ``..``: None)."""
    if Path(file).is_absolute() or (folder is None and ".." in Path(file).parts):
        return None
    if folder is None:
        return Path(file)
    root = Path(folder).resolve()
    path = (root / file).resolve()
    return path if path.is_relative_to(root) else None


def _check_sources(model: ScenarioModel, folder: Path) -> list[Problem]:
    problems, lengths = [], {}
    for s in model.sources:
        path = None if s.file is None else source_path(folder, s.file)
        if path is None:  # no local text, or reported by check_model
            continue
        if not path.is_file():
            problems.append(Problem(model.path, f"sources.{s.id}", f"source file '{s.file}' not found in {folder}"))
            continue
        lengths[s.id] = len(path.read_text(encoding="utf-8", errors="replace").splitlines())
    for c in model.claims:
        span = parse_locator(c.locator)
        n = lengths.get(c.source)
        if span and n is not None and span[1] > n:
            problems.append(
                Problem(model.path, f"claims.{c.id}", f"locator '{c.locator}' is outside '{c.source}' ({n} lines)")
            )
    return problems
