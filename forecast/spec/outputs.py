"""Where results go, checked before any work starts (plain Python: the CLI calls these before PyMC loads).

Each check returns :class:`~forecast.spec.errors.Problem` s naming the option (``--out``, ``-o``, ``--png``)
and the path; nothing is created here. A folder that does not exist yet is fine when the nearest existing
folder above it is writable (the command creates it at the end); a path through a file, a file where a
folder is wanted (or the reverse), or a place the user cannot write is not.
"""

from __future__ import annotations

import os
from pathlib import Path

from forecast.spec.errors import Problem


def _nearest(path: Path) -> Path:
    """The nearest existing path at or above ``path``."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _writable_below(path: Path, flag: str, shown: str) -> list[Problem]:
    """``path`` (not existing) can be created: its nearest existing ancestor is a writable folder."""
    above = _nearest(path.parent if path.parent != path else path)
    if not above.is_dir():
        return [Problem(flag, shown, f"'{above}' is a file, not a folder: cannot create '{path}' under it")]
    if not os.access(above, os.W_OK | os.X_OK):
        return [Problem(flag, shown, f"cannot write in '{above}' (permission denied)")]
    return []


RESULT_FILES = ("result.nc", "manifest.json", "summary.json")  # what ``run --out`` writes


def check_folder(path: str | Path, flag: str, only: tuple[str, ...] | None = None) -> list[Problem]:
    """A folder results are written into (``run --out``, ``report --png``). ``only``: the file names an
    existing folder may hold (``run --out`` replaces the whole folder, so it must hold nothing else)."""
    p, shown = Path(path), str(path)
    if not shown.strip():
        return [Problem(flag, "(empty)", "expected a folder")]
    if p.exists():
        if not p.is_dir():
            return [Problem(flag, shown, "names an existing file; expected a folder (new or existing)")]
        if not os.access(p, os.W_OK | os.X_OK) or not os.access(p.parent, os.W_OK | os.X_OK):
            return [Problem(flag, shown, "cannot write here (permission denied)")]
        if only is not None:
            other = sorted(x.name for x in p.iterdir() if x.name not in only)
            if other:
                return [Problem(flag, shown, (
                    f"holds other files ({', '.join(other[:3])}{', …' if len(other) > 3 else ''}); the result "
                    f"replaces the whole folder: give a new folder, or one holding only an earlier result"))]
        return []
    return _writable_below(p, flag, shown)


def check_file(path: str | Path, flag: str, suffix: str | None = None) -> list[Problem]:
    """A file a result is written to (``report -o``), replacing an existing file of that name."""
    p, shown = Path(path), str(path)
    if suffix and p.suffix.lower() != suffix:
        return [Problem(flag, shown, f"should name a {suffix} file")]
    if p.is_dir():
        return [Problem(flag, shown, "names a folder; expected a file name")]
    if p.exists():
        if not os.access(p.parent, os.W_OK | os.X_OK):
            return [Problem(flag, shown, f"cannot write in '{p.parent}' (permission denied)")]
        return []
    return _writable_below(p, flag, shown)


def umask() -> int:
    """The process's umask (read from /proc where it can be: setting and restoring it races with threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def usual_mode(path: str | Path) -> None:
    """Give ``path`` the permissions a new file or folder gets (``mkstemp`` / ``mkdtemp`` make them private)."""
    p = Path(path)
    os.chmod(p, (0o777 if p.is_dir() else 0o666) & ~umask())


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` whole or not at all: a temporary file beside it, flushed to disk, given the
    usual permissions and renamed into place (an existing file is replaced whole; the temporary file is removed
    on every failure)."""
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        usual_mode(tmp)  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
