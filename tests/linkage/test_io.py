"""Reading register files as they arrive (encodings, delimiters, damage) and writing them atomically."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linkage.errors import InputError, OutputError
from linkage.io import TableBatches, read_frame, read_table, write_table

ROWS = "kommun;namn;belopp\n0180;Åsa Öberg;12,5\n1480;Märta Ek;7,0\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1", "cp1252"])
def test_csv_encodings_are_detected_and_swedish_letters_survive(tmp_path, encoding):
    path = tmp_path / "in.csv"
    path.write_bytes(ROWS.encode(encoding))
    frame = read_frame(path)
    assert list(frame.columns) == ["kommun", "namn", "belopp"]
    assert frame["namn"].tolist() == ["Åsa Öberg", "Märta Ek"]
    assert frame["kommun"].tolist() == ["0180", "1480"], "codes keep their leading zeros"
    assert frame["belopp"].tolist() == ["12,5", "7,0"], "decimal commas are left to the codebook's typing"


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_and_line_endings(tmp_path, delimiter, newline):
    path = tmp_path / "in.csv"
    path.write_text(newline.join(delimiter.join(r) for r in [["a", "b"], ["1", "x"], ["2", "y"]]) + newline)
    frame = read_frame(path)
    assert frame.to_dict("list") == {"a": ["1", "2"], "b": ["x", "y"]}


def test_mixed_line_endings(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(b"a;b\r\n1;x\n2;y\r\n")
    assert read_frame(path)["b"].tolist() == ["x", "y"]


def test_rows_with_the_wrong_number_of_fields_are_counted_not_dropped_silently(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("a;b\n1;x\n2;y;extra\n3;z\n")
    result = read_table(path)
    assert result.table.num_rows == 2
    assert result.bad_lines == [3]
    with pytest.raises(InputError, match=r"line 3: wrong number of fields"):
        read_frame(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"a;b\n", "has a header but no data rows"),
        (b"\x00\x01\x02garbage\xff", "is binary"),
        (b"a;a\n1;2\n", "duplicate column name"),
    ],
)
def test_unreadable_csv_gives_one_clear_error(tmp_path, content, message):
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_table(path)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(InputError, match="unknown file type '.xlsx'"):
        read_table(tmp_path / "data.xlsx")


def test_missing_column_lists_what_is_there(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("a;b\n1;2\n")
    with pytest.raises(InputError, match=r"no column 'c' \(columns present: a, b\)"):
        read_table(path, columns=["c"])


def test_truncated_parquet_is_reported_not_a_traceback(tmp_path):
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"a": list(range(1000))}), good)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_table(bad)


def test_write_is_atomic_reproducible_and_never_overwrites(tmp_path):
    table = pa.table({"a": ["x", "y"], "b": [1, 2]})
    first, second = tmp_path / "one.parquet", tmp_path / "two.parquet"
    write_table(table, first)
    write_table(table, second)
    assert first.read_bytes() == second.read_bytes()
    with pytest.raises(OutputError, match="exists already"):
        write_table(table, first)
    assert set(tmp_path.iterdir()) == {first, second}, "no temporary files left beside the outputs"


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    import linkage.io as io

    def explode(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io, "write_parquet", explode)
    with pytest.raises(OutputError, match="could not be written"):
        write_table(pa.table({"a": [1]}), tmp_path / "out.parquet")
    assert list(tmp_path.iterdir()) == []


def test_batches_keep_true_row_numbers_and_read_text_as_dictionaries(tmp_path):
    lines = ["a;b;c"] + [f"{i};x{i % 3};{i % 2}" if i != 7 else "7;too;many;fields" for i in range(1, 51)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    batches = TableBatches(tmp_path / "t.csv", batch_rows=1, columns=["b", "a"], dictionary=True)  # tiny blocks
    tables, numbers = zip(*batches)
    assert len(tables) > 1
    table = pa.concat_tables(tables)
    assert table.column_names == ["b", "a"] and pa.types.is_dictionary(table.schema.field("b").type)
    assert np.concatenate(numbers).tolist() == [r for r in range(1, 51) if r != 7]
    assert table["a"].cast(pa.string()).to_pylist() == [str(r) for r in range(1, 51) if r != 7]
    assert batches.bad == [(8, "7;too;many;fields")]
    pq.write_table(pa.table({"a": [1, 2, 3], "b": ["x", "y", "x"]}), tmp_path / "t.parquet")
    [(parquet, rows)] = list(TableBatches(tmp_path / "t.parquet", dictionary=True))
    assert rows.tolist() == [1, 2, 3] and pa.types.is_dictionary(parquet.schema.field("b").type)
    with pytest.raises(InputError, match="no column 'z'"):
        list(TableBatches(tmp_path / "t.parquet", columns=["z"]))
