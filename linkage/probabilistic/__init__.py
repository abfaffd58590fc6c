"""Probabilistic record linkage (Fellegi–Sunter, m/u by EM without labels) behind a small interface.

    pairs = link(left, right, config)          # left, right (index labels), probability, weight
    result = run(left, right, config)          # .links .review .model .stats .blocking_recall .explain()
    link_files(left_path, right_path, config=..., out=...)   # what `reglink link` does

`config` is a dict or a YAML file (see `load_config`); a trained `Model` round-trips through JSON.
recordlinkage is imported only here, lazily, for its q-gram and cosine similarities.
"""

from linkage.probabilistic.compare import METHODS
from linkage.probabilistic.config import Comparison, LinkConfig, LinkConfigError, load_config
from linkage.probabilistic.files import LinkedFiles, link_files
from linkage.probabilistic.model import FieldModel, Model
from linkage.probabilistic.pipeline import (LinkResult, LinkStats, PassStats, blocking_recall, evaluate, link,
                                            run)

__all__ = [
    "METHODS", "Comparison", "FieldModel", "LinkConfig", "LinkConfigError", "LinkResult", "LinkStats", "LinkedFiles",
    "Model", "PassStats", "blocking_recall", "evaluate", "link", "link_files", "load_config", "run",
]
