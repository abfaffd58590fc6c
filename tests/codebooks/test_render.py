"""Rendering: Markdown, HTML, Frictionless Data Package and DDI-Codebook 2.5, each checked by reading it back."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow as pa
import pytest

import codebooks
from codebooks import CodebookError

DDI = "{ddi:codebook:2_5}"
LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@pytest.fixture(scope="module")
def ddi_schema(shared: Path):
    """The official DDI-Codebook 2.5 schema, read in place from ../shared."""
    import xmlschema

    return xmlschema.XMLSchema(str(shared / "schemas" / "ddi-codebook-2.5" / "codebook.xsd"))


# ------------------------------------------------------------------------------------------------- Markdown, HTML

def test_markdown_has_every_variable_its_labels_categories_derivation_and_references():
    text = codebooks.render_markdown([codebooks.load("placement_measure"), codebooks.load("health_outcomes")])
    assert text.startswith("# Kodbok / Codebook\n")
    for name in ("lagrum", "avslutsorsak", "sjalvskada", "minst_tva_psykofarmaka_15_16"):
        assert f"`{name}`" in text
    assert "Adoption" in text and "Transfer of custody" in text                  # inline categories, both languages
    assert "`X60-X84` Avsiktlig självdestruktiv handling" in text              # the code group a derivation uses
    assert "(https://ungidag.se/indikator/" in text                              # its official reference
    assert '<a id="codelist-kommun"></a>' in text and "Upplands Väsby kommun" in text  # the shared list, once
    assert text.count("Upplands Väsby kommun") == 1


def test_html_is_one_self_contained_page_in_swedish_and_english():
    page = codebooks.render_html(codebooks.load("cohort"))
    assert page.startswith("<!DOCTYPE html>") and '<html lang="sv">' in page and "<style>" in page
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    assert not re.search(r'(src|href)="(https?:)?//[^"]*\.(css|js)', page)
    assert '<span lang="en">Country-of-birth group</span>' in page
    assert "Placerad hela årskurs 9" in page
    for tag in ("table", "dl", "h2", "h3", "h4", "p", "span", "code"):
        assert page.count(f"<{tag}>") + page.count(f"<{tag} ") == page.count(f"</{tag}>"), tag


@pytest.mark.parametrize("render", [codebooks.render_markdown, codebooks.render_html, codebooks.render_datapackage,
                                    codebooks.render_ddi])
def test_the_same_codebook_always_renders_to_the_same_bytes(render):
    parts = [codebooks.load("placement_child"), codebooks.load("cohort")]
    assert render(parts) == render([codebooks.from_dict(codebooks.to_dict(p)) for p in parts])


def test_frequencies_hide_small_cells_and_never_cover_direct_identifiers():
    codebook = codebooks.load("placement_child").select(["personnr", "kon", "vardnadshavare", "ensamkommande"])
    frame = pa.table({
        "personnr": ["771207-2391"] * 20,
        "kon": ["1"] * 17 + ["2"] * 3,
        "vardnadshavare": ["1"] * 8 + ["2"] * 6 + ["9"] * 2 + [None] * 4,
        "ensamkommande": ["0"] * 20,
    })
    text = codebooks.render_markdown(codebook, frames=frame, k=5)
    kon = text[text.index("`kon` — "):text.index("`vardnadshavare` — ")]
    assert "| `2` | Kvinna / Female | <5 |" in kon            # 3 women: below k
    assert "| `1` | Man / Male | ≥5 |" in kon                  # else 20 - 17 would give the 3 back
    assert "17" not in kon and "| 3 |" not in kon
    guardian = text[text.index("`vardnadshavare` — "):text.index("`ensamkommande` — ")]
    assert "| 8 |" in guardian and "| 6 |" in guardian and guardian.count("| <5 |") == 4  # 2, 0, 0 and the 4 missing
    personnr = text[text.index("`personnr` — "):text.index("`kon` — ")]
    assert "Frekvenser" not in personnr and "771207" not in text
    with pytest.raises(CodebookError, match="a direct identifier"):
        codebooks.frequencies(frame.column("personnr"), codebook.variable("personnr"))


def test_frequencies_need_a_frame_per_codebook_when_several_are_rendered():
    with pytest.raises(CodebookError, match="mapping from codebook name"):
        codebooks.render_markdown([codebooks.load("cohort"), codebooks.load("patient")], frames=pa.table({"kon": ["1"]}))


# ---------------------------------------------------------------------------------------------- Data Package

CSV_MEASURES = """\
redovisningsar,kommun,personnr,insats_nr,lagrum,beslutsdatum,startdatum,slutdatum,avslutsorsak
2021,0180,771207-2391,1,1,20210105,20210110,20210601,1
2022,2584,20100101-T412,2,3,20220115,20220120,,
"""
CSV_DISCHARGES = """\
personnummer,inskrivningsdatum,utskrivningsdatum,vardtid_manader,utskrivningsorsak,vard_annan_form
771207-2391,2020-01-01,2020-04-15,"3,5",1,0
930423-2383,2021-03-01,2021-05-01,2,4,1
"""
CSV_COHORT = """\
pseudonym_id,kon,fodelsear,fodelsedatum,fodelseland_grupp,kommun,lan,placerad_nagon_gang,placerad_hela_ak9,aldrig_placerad,ensamkommande
0123456789abcdef0123456789abcdef,2,2003,2003-06-25,1,0180,01,1,0,0,0
"""


def write_package(folder: Path, measures: str = CSV_MEASURES) -> Path:
    parts = [codebooks.load(n) for n in ("placement_measure", "lvm_discharge", "cohort")]
    (folder / "data").mkdir()
    for codebook, text in zip(parts, (measures, CSV_DISCHARGES, CSV_COHORT), strict=True):
        (folder / "data" / f"{codebook.name}.csv").write_text(text, encoding="utf-8")
    package = codebooks.render_datapackage(parts, name="extract",
                                           paths={c.name: f"data/{c.name}.csv" for c in parts})
    (folder / "datapackage.json").write_text(package, encoding="utf-8")
    return folder / "datapackage.json"


def test_frictionless_accepts_the_package_with_matching_data(tmp_path):
    from frictionless import validate

    report = validate(write_package(tmp_path))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


@pytest.mark.parametrize("bad_cell", ["7", "20210231"])
def test_frictionless_rejects_data_that_break_the_codebook(tmp_path, bad_cell):
    from frictionless import validate

    wrong = CSV_MEASURES.replace(",3,20220115,", f",{bad_cell},20220115,") if bad_cell == "7" else \
        CSV_MEASURES.replace("20220115", bad_cell)
    report = validate(write_package(tmp_path, wrong))
    assert not report.valid
    assert {e[1] for e in report.flatten(["rowNumber", "fieldName"])} == {"lagrum" if bad_cell == "7" else
                                                                          "beslutsdatum"}


def test_the_package_reads_back_with_the_codebooks_labels_and_categories(tmp_path):
    package = json.loads(write_package(tmp_path).read_text(encoding="utf-8"))
    resources = {r["name"]: r for r in package["resources"]}
    for name, resource in resources.items():
        codebook = codebooks.load(name)
        fields = resource["schema"]["fields"]
        assert [f["name"] for f in fields] == list(codebook.names)
        for field in fields:
            variable = codebook.variable(field["name"])
            assert field["title"] == variable.label.sv
            assert field["reglink"]["label"] == {"sv": variable.label.sv, "en": variable.label.en}
            assert field["reglink"]["role"] == variable.role
            assert [c["value"] for c in field.get("categories", [])] == list(variable.codes)
            assert [c["label"] for c in field.get("categories", [])] == [c.label.sv for c in variable.categories]
            assert [c["label"]["en"] for c in field["reglink"].get("categories", [])] == [
                c.label.en for c in variable.categories]
            assert field.get("constraints", {}).get("required", False) == variable.required
    assert resources["lvm_discharge"]["schema"]["fields"][3]["decimalChar"] == ","
    assert resources["placement_measure"]["schema"]["fields"][5]["format"] == "%Y%m%d"


# ---------------------------------------------------------------------------------------------------------- DDI

def test_ddi_validates_against_the_official_schema(ddi_schema):
    with_missing_codes = codebooks.to_dict(codebooks.load("lvm_emergency"))
    with_missing_codes["variables"][1]["missing_values"] = ["."]
    parts = [codebooks.load(n) for n in ("cohort", "lvm_discharge", "health_outcomes")]
    document = codebooks.render_ddi([*parts, codebooks.from_dict(with_missing_codes)])
    assert b'<catgry missing="Y">' in document
    errors = list(ddi_schema.iter_errors(document.decode("utf-8")))
    assert not errors, errors[0]


def test_ddi_reads_back_with_labels_categories_access_and_files():
    parts = [codebooks.load("placement_child"), codebooks.load("health_outcomes")]
    root = ET.fromstring(codebooks.render_ddi(parts, paths={"placement_child": "data/child.parquet"}))
    assert root.tag == f"{DDI}codeBook" and root.get("version") == "2.5"
    restrictions = [e.text for e in root.iter(f"{DDI}restrctn")]
    assert any("24 kap. 8 §" in r for r in restrictions) and any("chapter 24 section 8" in r for r in restrictions)
    files = {f.get("ID"): f.get("URI") for f in root.iter(f"{DDI}fileDscr")}
    assert files == {"F_placement_child": "data/child.parquet",
                     "F_health_outcomes": "data/health_outcomes.parquet"}
    variables = {v.get("name") + "@" + v.get("files"): v for v in root.iter(f"{DDI}var")}
    assert len(variables) == sum(len(p.variables) for p in parts)
    for part in parts:
        for variable in part.variables:
            element = variables[f"{variable.name}@F_{part.name}"]
            labels = {label.get(LANG): label.text for label in element.findall(f"{DDI}labl")}
            assert labels == {"sv": variable.label.sv, "en": variable.label.en}
            assert element.find(f"{DDI}security").text == variable.role
            categories = [(c.find(f"{DDI}catValu").text,
                           {label.get(LANG): label.text for label in c.findall(f"{DDI}labl")})
                          for c in element.findall(f"{DDI}catgry")]
            assert categories == [(str(c.code), {"sv": c.label.sv, "en": c.label.en}) for c in variable.categories]
            assert element.find(f"{DDI}varFormat") is not None
    derivation = variables["sjalvskada@F_health_outcomes"].find(f"{DDI}derivation/{DDI}drvdesc")
    assert "X60–X84" in derivation.text


def test_unknown_render_format_lists_the_formats():
    with pytest.raises(CodebookError, match=r"unknown format 'pdf' \(formats: md, html, datapackage, ddi\)"):
        codebooks.render(codebooks.load("cohort"), "pdf")
