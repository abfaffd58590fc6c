"""Linking two register files: read both, run the linkage, write pairs, review pairs and model atomically.

The pairs name records by 0-based row position in each input (data rows, header not counted), the
index labels `read_frame` gives; they carry no identifier, so the pairs file is safe to pass on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from linkage.atomic import atomic_file
from linkage.errors import OutputError
from linkage.io import WRITABLE, read_frame, write_table
from linkage.probabilistic.config import load_config
from linkage.probabilistic.model import Model
from linkage.probabilistic.pipeline import ConfigLike, LinkResult, run


@dataclass(frozen=True)
class LinkedFiles:
    """What `link_files` wrote, and the run behind it."""

    out: Path
    review: Path | None
    model: Path | None  # the trained model used instead of EM, if one was given
    model_out: Path | None
    result: LinkResult


def link_files(left: Path | str, right: Path | str, *, config: ConfigLike, out: Path | str,
               review: Path | str | None = None, model: Path | str | None = None,
               model_out: Path | str | None = None, overwrite: bool = False) -> LinkedFiles:
    """Link LEFT and RIGHT (CSV/Parquet/…) by `config`; with `model` (JSON) its m/u are used instead of EM."""
    cfg = load_config(config)
    out = Path(out)
    review_path = None if review is None else Path(review)
    model_path = None if model_out is None else Path(model_out)
    trained = None if model is None else Model.load(model)
    for path, suffixes in ((out, WRITABLE), (review_path, WRITABLE), (model_path, {".json"})):
        _check_output(path, suffixes, overwrite)  # before the work, not after it
    result = run(read_frame(left), read_frame(right), cfg, model=trained)
    write_table(result.links, out, overwrite=overwrite)
    if review_path is not None:
        write_table(result.review, review_path, overwrite=overwrite)
    if model_path is not None:
        with atomic_file(model_path) as tmp:
            tmp.write_text(result.model.to_json(), encoding="utf-8")
    return LinkedFiles(out, review_path, None if model is None else Path(model), model_path, result)


def _check_output(path: Path | None, suffixes: set[str], overwrite: bool) -> None:
    if path is None:
        return
    if path.suffix.lower() not in suffixes:
        allowed = " or ".join(sorted(suffixes))
        raise OutputError(f"{path.name}: cannot write '{path.suffix or '(none)'}' (use {allowed})")
    if path.exists() and not overwrite:
        raise OutputError(f"{path.name}: exists already; choose a new output path (or --overwrite)")
