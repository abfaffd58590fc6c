"""A Parquet file carries its codebook: written, read back from the file, it is the same codebook."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import codebooks
from codebooks import CodebookError


def test_the_codebook_travels_inside_the_parquet_file(tmp_path):
    codebook = codebooks.load("cohort")
    table = pa.table({"pseudonym_id": ["0123456789abcdef0123456789abcdef"], "kon": ["2"], "kommun": ["0180"]})
    described = codebooks.attach_codebook(table, codebook)
    pq.write_table(described, tmp_path / "cohort.parquet")
    back = codebooks.read_codebook(tmp_path / "cohort.parquet")
    assert back == codebook.select(["pseudonym_id", "kon", "kommun"])
    assert back.variable("kommun").categories == codebook.variable("kommun").categories
    field = pq.read_schema(tmp_path / "cohort.parquet").field("kon")
    assert field.metadata[b"reglink.label.sv"] == "Kön".encode()
    assert field.metadata[b"reglink.label.en"] == b"Sex"
    assert field.metadata[b"reglink.role"] == b"quasi_identifier"
    assert pq.read_table(tmp_path / "cohort.parquet").equals(table)


def test_a_schema_can_be_described_before_any_data_is_written():
    schema = pa.schema([("lagrum", pa.string())])
    described = codebooks.attach_codebook(schema, codebooks.load("placement_measure"))
    assert isinstance(described, pa.Schema)
    assert codebooks.read_codebook(described).names == ("lagrum",)


def test_the_embedded_codebook_is_byte_stable():
    table = pa.table({"sjalvskada": [True]})
    first = codebooks.attach_codebook(table, codebooks.load("health_outcomes")).schema.metadata
    again = codebooks.attach_codebook(table, codebooks.from_dict(codebooks.to_dict(codebooks.load("health_outcomes"))))
    assert first == again.schema.metadata


def test_a_column_without_a_codebook_entry_is_an_error():
    with pytest.raises(CodebookError, match=r"column 'secret' is not in codebook 'cohort'"):
        codebooks.attach_codebook(pa.table({"kon": ["1"], "secret": ["x"]}), codebooks.load("cohort"))


def test_a_file_without_a_codebook_says_so(tmp_path):
    pq.write_table(pa.table({"a": [1]}), tmp_path / "plain.parquet")
    with pytest.raises(CodebookError, match="plain.parquet: carries no reglink codebook"):
        codebooks.read_codebook(tmp_path / "plain.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(CodebookError, match="junk.parquet: is not a readable Parquet file"):
        codebooks.read_codebook(tmp_path / "junk.parquet")
