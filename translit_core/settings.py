"""Where things are, and every environment variable the lab reads: one place.

    TRANSLIT_DATA         the shared data folder (default ../shared/data beside the repository)
    TRANSLIT_CACHE        where sample recordings are cached (default ~/.cache/translit_core)
    TRANSLIT_CHECKPOINT   the checkpoint the dashboard shows first (default checkpoints/hy)
    TRANSLIT_MODELS       more models for the dashboard's switch, "name=DIR,name=DIR" (default:
                          every other checkpoint under checkpoints/, unless TRANSLIT_CHECKPOINT is set)
    TRANSLIT_RUNS         training runs with snapshots for the dynamics page, "name=DIR,name=DIR"
                          (default: every directory under runs/ that holds snapshots/)
    TRANSLIT_TORCH_THREADS  intra-op threads per dashboard computation (default 1)
    TRANSLIT_DEBUG        1: the command line shows an error's full traceback (as its --debug does)

Nothing here imports torch, so the dashboard can read its settings before the model loads.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent
LANGUAGE_DIR = PACKAGE / "languages" / "hy"         # rules, letter counts, foreign words
DEFAULT_CHECKPOINT = REPO / "checkpoints" / "hy"


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def data_dir() -> Path:
    """The shared data: $TRANSLIT_DATA, else ../shared/data beside the repository."""
    return Path(_env("TRANSLIT_DATA") or REPO.parent / "shared" / "data")


def cache_root() -> Path:
    return Path(_env("TRANSLIT_CACHE") or Path.home() / ".cache" / "translit_core")


def checkpoint_dir() -> Path:
    """The checkpoint the dashboard shows: $TRANSLIT_CHECKPOINT, else checkpoints/hy."""
    env = _env("TRANSLIT_CHECKPOINT")
    return Path(env).expanduser().resolve() if env else DEFAULT_CHECKPOINT


def _is_checkpoint(d: Path) -> bool:
    return (d / "model.json").is_file() and (d / "model.safetensors").is_file()


def _named_dirs(value: str) -> dict[str, Path]:
    """"name=DIR,name=DIR" -> {name: resolved DIR}; an entry without a name or a directory is
    skipped, and a name given twice keeps its first directory."""
    out: dict[str, Path] = {}
    for entry in value.split(","):
        name, sep, path = entry.partition("=")
        if sep and name.strip() and path.strip():
            out.setdefault(name.strip(), Path(path.strip()).expanduser().resolve())
    return out


def model_dirs() -> dict[str, Path]:
    """The models the dashboard offers, by name (the name is the URL's `model=`): the default
    checkpoint first, then $TRANSLIT_MODELS, or every other checkpoint under checkpoints/ when
    neither variable is set. A name given twice keeps its first directory."""
    default = checkpoint_dir()
    out = {default.name: default}
    extra = _env("TRANSLIT_MODELS")
    if extra:
        for name, path in _named_dirs(extra).items():
            out.setdefault(name, path)
    elif not _env("TRANSLIT_CHECKPOINT") and DEFAULT_CHECKPOINT.parent.is_dir():
        for d in sorted(DEFAULT_CHECKPOINT.parent.iterdir()):
            if d.is_dir() and _is_checkpoint(d):
                out.setdefault(d.name, d)
    return out


def run_dirs() -> dict[str, Path]:
    """Training runs the dashboard's dynamics page can read (their snapshots, or the points
    `dynamics --save` kept: the repository ships those), by name."""
    extra = _env("TRANSLIT_RUNS")
    out: dict[str, Path] = _named_dirs(extra) if extra else {}
    if not extra and (REPO / "runs").is_dir():
        for d in sorted((REPO / "runs").iterdir()):
            if (d / "snapshots").is_dir() or (d / "dynamics.json").is_file():
                out[d.name] = d
    return out


def torch_threads(default: int = 1) -> int:
    """Intra-op threads for the dashboard's computations ($TRANSLIT_TORCH_THREADS)."""
    try:
        return max(1, int(_env("TRANSLIT_TORCH_THREADS") or default))
    except ValueError:
        return default


def debug() -> bool:
    """$TRANSLIT_DEBUG set to anything but "" or "0": the command line shows full tracebacks."""
    return _env("TRANSLIT_DEBUG") not in ("", "0")


def torchrun_env() -> tuple[int, int]:
    """(WORLD_SIZE, LOCAL_RANK) as torchrun sets them; (1, 0) for a plain process."""
    return int(_env("WORLD_SIZE") or 1), int(_env("LOCAL_RANK") or 0)
