"""The notebooks in notebooks/ run top to bottom on the demo extract, and are stored without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def extract(demo_run) -> Path:
    """The extract the session's `reglink demo` wrote."""
    return demo_run.extract


def test_there_are_three_notebooks_stored_without_outputs():
    assert [path.stem for path in NOTEBOOKS] == ["gymnasiebehorighet", "halsa", "placerade_over_tid"]
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_a_notebook_runs_top_to_bottom_and_answers_with_tables_and_figures(path, extract, tmp_path, monkeypatch):
    monkeypatch.setenv("REGLINK_EXTRACT", str(extract))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    tables = [o for o in outputs if "text/html" in o.get("data", {}) and "<table" in o["data"]["text/html"]]
    assert figures, "no figure"
    assert tables, "no table"
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "reference year" in printed
