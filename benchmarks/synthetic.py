"""Seeded synthetic scenario models for the benchmarks (a TOML model file, written in code).

``synthetic_toml(n_vars, n_claims, seed)`` returns the text of a model file with
``n_vars`` variables (about half events, half indices) and ``n_claims`` claims
forming a DAG: variable ``i`` can only cause variables ``j > i`` (so the file's
order is a topological order). Every claim draws its direction, strength word,
source (with an Admiralty grade, hence a credence strictly between 0 and 1, so
every claim has a gate) and, for about a quarter of them, an explicit credence.
Base rates are ICD 203 words, so that fitting them (PreliZ ``maxent``) hits the
on-disk cache after the first time.

Causes are drawn from a window of the preceding variables (``window``), which
keeps the graph sparse and local like a real scenario model: the ancestral set
of an early variable stays small. ``evidence`` adds observations (``{id: value}``).
"""

from __future__ import annotations

import numpy as np

WORDS = ("very unlikely", "unlikely", "roughly even chance", "likely", "very likely")
STRENGTHS = ("weak", "moderate", "strong")
SOURCES = (("s_a", "B", 2), ("s_b", "C", 3), ("s_c", "A", 2), ("s_d", "D", 4))


def var_id(i: int, width: int) -> str:
    return f"v{i:0{width}d}"


def synthetic_spec(n_vars: int, n_claims: int, seed: int = 0, window: int = 6) -> dict:
    """The variables and claims of a seeded synthetic DAG, as plain dicts."""
    rng = np.random.default_rng(seed)
    width = len(str(n_vars - 1))
    kinds = ["event" if k else "index" for k in rng.random(n_vars) < 0.5]
    kinds[0], kinds[1] = "event", "index"  # both kinds always present
    variables = [
        {"id": var_id(i, width), "kind": kinds[i], "base": WORDS[rng.integers(len(WORDS))]} for i in range(n_vars)
    ]
    # every variable but the first gets at least one cause (a connected DAG), the rest at random
    effects = list(range(1, n_vars)) + list(rng.integers(1, n_vars, size=n_claims - (n_vars - 1)))
    claims = []
    for k, j in enumerate(sorted(int(x) for x in effects)):
        i = int(rng.integers(max(0, j - window), j))
        src = SOURCES[rng.integers(len(SOURCES))]
        c = {
            "id": f"c{k:0{len(str(n_claims - 1))}d}",
            "cause": variables[i]["id"],
            "effect": variables[j]["id"],
            "direction": "raises" if rng.random() < 0.6 else "lowers",
            "strength": STRENGTHS[rng.integers(len(STRENGTHS))],
            "source": src[0],
        }
        if rng.random() < 0.25:
            c["credence"] = round(float(rng.uniform(0.3, 0.9)), 2)
        claims.append(c)
    return {"variables": variables, "claims": claims}


def synthetic_toml(
    n_vars: int, n_claims: int, seed: int = 0, *, window: int = 6, evidence: dict[str, bool | float] | None = None
) -> str:
    """A model file (TOML text) for :func:`synthetic_spec`; see the module docstring."""
    if n_claims < n_vars - 1:
        raise ValueError("need at least n_vars - 1 claims")
    spec = synthetic_spec(n_vars, n_claims, seed, window)
    q = lambda s: f'"{s}"'  # noqa: E731
    out = [
        "[model]",
        f'id = "synthetic_{n_vars}_{n_claims}"',
        f'title = "Synthetic benchmark model ({n_vars} variables, {n_claims} claims, seed {seed})"',
        "as_of = 2024-01-01",
        "",
    ]
    for sid, rel, cred in SOURCES:
        out += ["[[sources]]", f"id = {q(sid)}", f'title = "Source {sid}"', f"reliability = {q(rel)}",
                f"credibility = {cred}", f'file = "{sid}.txt"', ""]
    for v in spec["variables"]:
        out += ["[[variables]]", f"id = {q(v['id'])}", f'label = "Variable {v["id"]}"', f"kind = {q(v['kind'])}",
                f"base = {q(v['base'])}", ""]
    for c in spec["claims"]:
        out += ["[[claims]]"] + [f"{k} = {q(v) if isinstance(v, str) else v}" for k, v in c.items()]
        out += ['locator = "1"', f'paraphrase = "{c["cause"]} {c["direction"]} {c["effect"]}."', ""]
    kinds = {v["id"]: v["kind"] for v in spec["variables"]}
    for n, (vid, value) in enumerate((evidence or {}).items()):
        val = ("true" if value else "false") if kinds[vid] == "event" else f"{float(value)}\nsd = 0.05"
        out += ["[[evidence]]", f'id = "e{n}"', f"variable = {q(vid)}", "date = 2024-01-01", 'source = "s_a"',
                f"value = {val}", ""]
    return "\n".join(out)
