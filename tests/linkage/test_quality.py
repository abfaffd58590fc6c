"""The linkage quality report: precision and recall against truth, under-linkage by subgroup, small cells hidden,
no identifier anywhere; and the probabilistic links themselves checked against truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage.errors import InputError
from linkage.quality import ID_KINDS, quality_report

SUBGROUPS = {"sex", "age_group", "ensamkommande", "samordningsnummer", "kommun_size"}


@pytest.fixture(scope="module")
def report(linked_world, small_world):
    return quality_report(linked_world, small_world / "truth", k=5)


def scored(linked, truth, name: str) -> pd.DataFrame:
    records = truth["records"]
    population = records[records["dataset"] == "population"].set_index("row")["person_id"]
    pseudonym = pd.Series(linked.persons["pseudonym_id"].to_numpy(dtype=object),
                          index=population.reindex(linked.persons["row"].to_numpy()).to_numpy())
    frame = linked.registers[name]
    true = records[records["dataset"] == name].set_index("row")["person_id"]
    return pd.DataFrame({"ours": frame["pseudonym_id"].to_numpy(dtype=object, na_value=None),
                         "method": frame["link_method"].astype(str).to_numpy(),
                         "kind": frame["id_kind"].astype(str).to_numpy(),
                         "truth": pseudonym.reindex(true.reindex(frame["row"].to_numpy()).to_numpy())
                         .to_numpy(dtype=object)})


def test_probabilistic_links_are_precise_and_find_most_records_without_an_id(linked_world, truth):
    parts = [scored(linked_world, truth, name).assign(register=name)
             for name, frame in linked_world.registers.items() if "link_method" in frame]
    all_records = pd.concat(parts, ignore_index=True)
    probabilistic = all_records[all_records["method"] == "probabilistic"]
    assert len(probabilistic) > 100
    precision = (probabilistic["ours"] == probabilistic["truth"]).mean()
    assert precision >= 0.99
    without_id = all_records[all_records["kind"].isin(["interim", "reserve", "invalid"])]
    assert (without_id["method"] == "probabilistic").mean() > 0.4
    # A broken check digit: the true number is one digit away, and the event's kommun tells the neighbours apart.
    typos = without_id[(without_id["kind"] == "invalid") & without_id["register"].isin(["patient", "drugs"])]
    assert (typos["method"] == "probabilistic").mean() > 0.9
    assert linked_world.evidence_links.status_counts()["probabilistic"] > 0


def test_the_report_agrees_with_truth(report, linked_world, truth):
    table = report.table
    assert list(table.columns) == ["register", "by", "group", "measure", "value", "suppressed"]
    patient = scored(linked_world, truth, "patient")
    linked = patient["method"].isin(["deterministic", "probabilistic"])
    row = table[(table["register"] == "patient") & (table["by"] == "all")].set_index("measure")["value"]
    assert row["linked"] == linked.sum()
    assert row["true_links"] == (linked & (patient["ours"] == patient["truth"])).sum()
    assert row["precision"] >= 0.999 and 0.9 < row["recall"] <= 1
    methods = table[(table["register"] == "drugs") & (table["by"] == "link_method")]
    assert {"deterministic", "probabilistic"} <= set(methods["group"])
    kinds = table[(table["register"] == "patient") & (table["by"] == "id_kind") & (table["measure"] == "precision")]
    assert {"personnummer", "reserve number", "broken check digit"} <= set(kinds["group"])
    assert SUBGROUPS <= set(table["by"])


def test_small_cells_are_suppressed(report):
    table = report.table
    counts = table[~table["measure"].isin(["precision", "recall"])]
    shown = counts.dropna(subset=["value"])
    assert not ((shown["value"] > 0) & (shown["value"] < 5)).any()
    assert table["suppressed"].any() and table.loc[table["suppressed"], "value"].isna().all()
    assert "<5" in report.markdown
    lvm = table[(table["register"] == "lvm_application") & (table["by"] == "all")].set_index("measure")
    assert lvm.loc["records", "suppressed"] and np.isnan(lvm.loc["precision", "value"])


def test_a_group_with_no_records_is_no_row_and_a_small_one_is_shown_suppressed(report, linked_world):
    section = report.markdown.split("## Records by identifier kind and link method")[1].split("\n## ")[0]
    rows = [line.split(" | ")[:2] for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    shown = {(register.lstrip("| "), kind) for register, kind in rows[1:]}
    present = {(name, ID_KINDS[kind]) for name, frame in linked_world.registers.items()
               if "link_method" in frame for kind in frame["id_kind"].astype(str).unique()}
    present |= {("all registers", kind) for _, kind in present}
    assert shown == present  # absent kinds are not "<5" rows
    assert any("<5" in line for line in section.splitlines())  # while small groups that exist are suppressed


def test_no_identifier_in_the_report(report, truth, linked_world):
    identifiers = truth["identifiers"]["identifier"].dropna().astype(str)
    forms = set(identifiers)
    forms |= {i[2:] for i in identifiers if len(i) == 12 and i.isdigit()}
    text = report.markdown + report.table.to_csv() + linked_world.report.to_csv()
    assert not [form for form in forms if form in text]
    for heading in ("Precision and recall against truth", "By identifier kind", "Under-linkage by subgroup"):
        assert heading in report.markdown


def test_without_truth_only_counts(linked_world):
    plain = quality_report(linked_world)
    assert set(plain.table["by"]) == {"link_method", "id_kind"}
    assert "Precision" not in plain.markdown and "Records per register" in plain.markdown


def test_a_truth_folder_must_be_complete(linked_world, tmp_path):
    with pytest.raises(InputError, match="no records.parquet"):
        quality_report(linked_world, tmp_path)
    with pytest.raises(InputError, match="k"):
        quality_report(linked_world, k=0)


def test_every_identifier_kind_is_scored_across_registers(report):
    table = report.table
    kinds = table[(table["register"] == "all registers") & (table["by"] == "true_id_kind")]
    scores = kinds.pivot_table(index="group", columns="measure", values="value", aggfunc="first")
    assert {"personnummer", "samordningsnummer", "old personnummer (changed)", "temporary municipal ID",
            "reserve number", "broken check digit"} <= set(scores.index)
    assert (scores.loc["personnummer", "deterministic"] > 0.9 * scores.loc["personnummer", "records"])
    assert scores.loc["broken check digit", "probabilistic"] > 0 and scores.loc["broken check digit", "precision"] >= 0.99
    linked = scores["linked"].fillna(0)
    assert (linked <= scores["records"]).all()
    ours = table[(table["register"] == "all registers") & (table["by"] == "id_kind")]
    assert {"personnummer", "reserve number", "broken check digit"} <= set(ours["group"])
    assert "## By identifier kind, all registers (as the world made them)" in report.markdown


def test_reglink_quality_reports_from_a_data_folder(small_world, tmp_path):
    from reglink_testing import assert_one_line_error, run_cli

    from pseudonym import create_key_file

    create_key_file(tmp_path / "project.key", "test passphrase", scrypt_n=2**15)
    env = {"REGLINK_PASSPHRASE": "test passphrase"}
    out = tmp_path / "quality.md"
    args = ["quality", small_world, "--key", tmp_path / "project.key", "--project", "p1", "--secure",
            tmp_path / "secure", "--truth", small_world / "truth"]
    done = run_cli(*args, "--out", out, env=env)
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert "## By identifier kind, all registers" in text and "| temporary municipal ID |" in text
    assert (tmp_path / "secure" / "patient.rejects.csv").is_file()
    assert_one_line_error(run_cli(*args, "--out", out, env=env))  # never over an existing report
    missing = assert_one_line_error(run_cli(*args[:-1], tmp_path / "no-truth", env=env))
    assert "no-truth" in missing
