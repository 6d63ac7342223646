"""Read TOML model files into :class:`ScenarioModel`, collecting every problem.

Model files are data: they are parsed with :mod:`tomllib` and validated with
pydantic; nothing in them is imported or evaluated.
"""

from __future__ import annotations

import tomllib
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from forecast.spec.errors import Problem, SpecError, did_you_mean
from forecast.spec.schema import SECTIONS, ModelInfo, ScenarioModel, Strict

MODEL_KEYS = ("model", *SECTIONS)


def find_file(name: str | Path, folder: str) -> Path:
    """Resolve a model or prior-set name: as given, with ``.toml``, or under ``folder/``."""
    p = Path(name)
    for cand in (p, p.with_name(p.name + ".toml"), Path(folder) / p, Path(folder) / f"{p}.toml"):
        if cand.is_file():
            return cand
    return p


def read_toml(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Parse one TOML file; a syntax error becomes a problem naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(str(path), "file", "no such file")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), "file", f"cannot be read: {exc}")]
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as exc:
        return None, [Problem(str(path), "syntax", f"TOML syntax error: {exc}")]
    except RecursionError:  # tomllib recurses once per level of nesting
        return None, [Problem(str(path), "syntax", "nested too deeply (arrays or tables inside each other "
                                                   "hundreds of levels down)")]


SCALAR_BRANCHES = ("str", "float", "bool", "int")


def _branches(tp: Any) -> tuple:
    """The alternatives of a union (``Annotated`` unwrapped), or ``(tp,)``."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        return tuple(b for a in get_args(tp) for b in _branches(a))
    return (tp,)


def fields_at(cls: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the table at ``loc`` inside ``cls`` (following fields, dict values, union branches)."""
    tp: Any = cls
    for part in loc:
        models = [b for b in _branches(tp) if isinstance(b, type) and issubclass(b, BaseModel)]
        dicts = [b for b in _branches(tp) if get_origin(b) is dict]
        if any(m.__name__ == part for m in models):  # pydantic names the union branch it tried
            tp = next(m for m in models if m.__name__ == part)
        elif models and part in models[0].model_fields:
            tp = models[0].model_fields[part].annotation
        elif dicts:
            tp = get_args(dicts[0])[1]
        elif not str(part).startswith(("function-", "union[")):
            return []
    models = [b for b in _branches(tp) if isinstance(b, type) and issubclass(b, BaseModel)]
    return list(models[0].model_fields) if models else []


def pydantic_problems(file: str, entry: str, err: ValidationError, fields: list[str],
                      cls: type[BaseModel] | None = None) -> list[Problem]:
    """Turn a pydantic error into one problem per mistake, with 'did you mean' hints
    (from ``fields``, or from the nested table's fields when ``cls`` is given)."""
    def where(e: dict) -> tuple[str, ...]:  # the location without pydantic's union branch names
        return tuple(str(x) for x in e["loc"] if not str(x).startswith(("function-", "union["))
                     and str(x) not in (*SCALAR_BRANCHES, "PriorSpec"))

    def table_miss(e: dict) -> bool:  # a table failing the text/number branch of a union
        return isinstance(e.get("input"), dict) and str(e["loc"][-1]) in SCALAR_BRANCHES

    errors, out = err.errors(), []
    for e in errors:
        if table_miss(e) and any(not table_miss(o) and where(o)[: len(where(e))] == where(e) for o in errors):
            continue  # the table's own problems (its branch) say more
        loc = ".".join(where(e))
        kind = e["type"]
        if kind == "extra_forbidden":
            options = fields_at(cls, e["loc"][:-1]) if cls is not None else fields
            msg = f"unknown field '{loc}'" + did_you_mean(loc.split(".")[-1], options)
        elif kind == "missing":
            msg = f"missing field '{loc}'"
        elif kind == "literal_error":
            expected = e.get("ctx", {}).get("expected", "")
            msg = f"{loc}: {e['input']!r} is not one of {expected}" + did_you_mean(
                e["input"], [x.strip(" '") for x in str(expected).replace(" or ", ",").split(",")]
            )
        elif kind == "string_pattern_mismatch":
            msg = (f"{loc}: {e['input']!r} is not a valid id or code (an id is letters, digits and single "
                   f"underscores, starting with a letter)")
        elif kind == "value_error":  # our own validators say what was wrong, with the values that matter
            msg = f"{loc}: {e['msg'].removeprefix('Value error, ')}"
        else:
            msg = f"{loc}: {e['msg'].lower()} (got {e.get('input')!r})"
        out.append(Problem(file, entry, msg))
    # a union failing on every branch reports once per branch; keep the first of each field
    seen, unique = set(), []
    for p in out:
        key = p.message.split(":")[0]
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def validate_entry(cls: type[Strict], raw: Any, file: str, entry: str) -> tuple[Strict | None, list[Problem]]:
    if not isinstance(raw, dict):
        return None, [Problem(file, entry, "must be a table of fields")]
    try:
        return cls.model_validate(raw), []
    except ValidationError as err:
        return None, pydantic_problems(file, entry, err, list(cls.model_fields), cls)


def parse_model(path: str | Path) -> tuple[ScenarioModel | None, list[Problem]]:
    """Validate a model file's shape: sections, fields, types. Returns the model or problems."""
    path = Path(path)
    data, problems = read_toml(path)
    if data is None:
        return None, problems
    file = str(path)
    for key in data:
        if key not in MODEL_KEYS:
            problems.append(Problem(file, key, f"unknown section '{key}'" + did_you_mean(key, MODEL_KEYS)))
    info, probs = validate_entry(ModelInfo, data.get("model", {}), file, "model")
    problems += probs
    sections: dict[str, list] = {}
    for name, cls in SECTIONS.items():
        raw = data.get(name, [])
        if not isinstance(raw, list):
            problems.append(Problem(file, name, f"must be an array of tables ([[{name}]])"))
            continue
        items = []
        for i, entry in enumerate(raw):
            label = f"{name}.{entry.get('id', f'#{i + 1}')}" if isinstance(entry, dict) else f"{name}.#{i + 1}"
            item, probs = validate_entry(cls, entry, file, label)
            problems += probs
            if item is not None:
                items.append(item)
        sections[name] = items
    if info is None or problems:
        return None, problems
    model = ScenarioModel(path=file, info=info, **{k: tuple(v) for k, v in sections.items()})
    return model, []


def parse_partial(path: str | Path) -> tuple[ScenarioModel | None, list[Problem], set[str]]:
    """Like :func:`parse_model`, but keep the entries that validated, so that reference
    checks can still run; also return the ids of entries that failed (references to
    them are not reported twice)."""
    path = Path(path)
    data, problems = read_toml(path)
    if data is None:
        return None, problems, set()
    model, problems = parse_model(path)
    if model is not None:
        return model, problems, set()
    broken, keep = set(), {}
    for name, cls in SECTIONS.items():
        raw = data.get(name, [])
        items = []
        for entry in raw if isinstance(raw, list) else []:
            item, probs = validate_entry(cls, entry, str(path), name)
            if item is None:
                broken.add(str(entry.get("id")) if isinstance(entry, dict) else "")
            else:
                items.append(item)
        keep[name] = tuple(items)
    info = data.get("model") if isinstance(data.get("model"), dict) else {}
    info = ModelInfo.model_construct(id=str(info.get("id", "model")), title=str(info.get("title", "")), as_of=None)
    return ScenarioModel.model_construct(path=str(path), info=info, **keep), problems, broken


def load_model(path: str | Path) -> ScenarioModel:
    """Parse and shape-check a model file; raise :class:`SpecError` with every problem."""
    model, problems = parse_model(path)
    if problems:
        raise SpecError(problems)
    return model
