"""Every shipped codebook loads and follows the data contract (registers.md); shared code lists match the reference."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import codebooks
from codebooks import CodebookError

#: The data contract: dataset → columns in file order (registers.md).
CONTRACT = {
    "population": ["personnummer", "kon", "fodelsedatum", "fornamn", "efternamn", "fodelseland", "fodelseland_mor",
                   "fodelseland_far", "folkbokford", "invandringsdatum", "utvandringsdatum", "dodsdatum"],
    "residence": ["personnummer", "kommun", "fran_datum", "till_datum"],
    "pnr_changes": ["gammalt_personnr", "nytt_personnr", "andringsdatum"],
    "placement_child": ["redovisningsar", "kommun", "personnr", "kon", "fodelseland", "fodelseland_mor",
                        "fodelseland_far", "ensamkommande", "vardnadshavare"],
    "placement_measure": ["redovisningsar", "kommun", "personnr", "insats_nr", "lagrum", "beslutsdatum", "startdatum",
                          "slutdatum", "avslutsorsak"],
    "placement_placement": ["redovisningsar", "kommun", "personnr", "insats_nr", "placering_nr", "placeringsform",
                            "startdatum", "slutdatum", "enhet_id"],
    "grades_year9": ["personnr", "skolenhetskod", "avgangsar", "amne", "betyg"],
    "upper_secondary": ["personnr", "program", "startar", "examensar", "examen"],
    "patient": ["pnr", "vardform", "indatum", "utdatum", "hdia", "dia1", "dia2", "ekod1", "pvard", "mvo", "kommun"],
    "drugs": ["pnr", "atc", "fdatum", "edatum", "antal_ddd", "kommun"],
    "lvm_application": ["personnummer", "kommun", "beslutsdatum", "utfall", "grund", "missbruk"],
    "lvm_emergency": ["personnummer", "kommun", "beslutsdatum", "faststallt"],
    "lvm_discharge": ["personnummer", "inskrivningsdatum", "utskrivningsdatum", "vardtid_manader",
                      "utskrivningsorsak", "vard_annan_form"],
    "providers": ["enhet_id", "enhetsnamn", "enhetstyp", "huvudman", "orgnr", "enskild_naringsidkare", "kommun",
                  "startdatum", "slutdatum"],
    "provider_inspections": ["enhet_id", "beslutsdatum", "beslutstyp"],
}
DIRECT_IDENTIFIERS = {
    "population": {"personnummer", "fornamn", "efternamn"}, "residence": {"personnummer"},
    "pnr_changes": {"gammalt_personnr", "nytt_personnr"}, "placement_child": {"personnr"},
    "placement_measure": {"personnr"}, "placement_placement": {"personnr"}, "grades_year9": {"personnr"},
    "upper_secondary": {"personnr"}, "patient": {"pnr"}, "drugs": {"pnr"}, "lvm_application": {"personnummer"},
    "lvm_emergency": {"personnummer"}, "lvm_discharge": {"personnummer"}, "providers": {"orgnr"},
    "provider_inspections": set(),
}
#: Derived variables other engineers use by name.
DERIVED = {
    "cohort": ["pseudonym_id", "kon", "fodelsear", "fodelsedatum", "fodelseland_grupp", "kommun", "lan",
               "placerad_nagon_gang", "placerad_hela_ak9", "aldrig_placerad", "ensamkommande"],
    "placement_history": ["alder_forsta_placering", "antal_insatser", "antal_placeringar", "antal_omplaceringar",
                          "dagar_i_vard", "nagon_gang_lvu", "nagon_gang_hvb_sis", "forsta_placeringsform",
                          "forsta_lagrum", "ny_placering_inom_12_man", "placering_efter_ivo_anmarkning"],
    "education_outcomes": ["behorig_yrkesprogram", "behorig_ekonomi_humanistiska_samhall",
                           "behorig_naturvetenskap_teknik", "behorig_estetiska", "meritvarde",
                           "fullfoljt_grundskolan_17", "saknas_i_betygsregistret", "gymnasieexamen_20",
                           "avgangsar_ak9"],
    "health_outcomes": ["psykiatrisk_vard", "sjalvskada", "substansrelaterad_vard", "psykofarmaka_n05a",
                        "psykofarmaka_n05b", "psykofarmaka_n05c", "psykofarmaka_n06a", "psykofarmaka_n06b",
                        "minst_tva_psykofarmaka_15_16"],
    "social_outcomes": ["lvm_fore_25"],
}


def test_every_dataset_of_the_contract_and_every_derived_codebook_is_shipped():
    assert set(codebooks.available()) == set(CONTRACT) | set(DERIVED)


@pytest.mark.parametrize("name", sorted(set(CONTRACT) | set(DERIVED)))
def test_every_shipped_definition_loads_with_labels_in_both_languages(name):
    codebook = codebooks.load(name)
    assert codebook.name == name
    for variable in codebook.variables:
        assert variable.label.sv and variable.label.en
        for category in variable.categories:
            assert category.label.sv and category.label.en


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_source_codebooks_have_the_contract_columns_and_identifier_roles(name):
    codebook = codebooks.load(name)
    assert list(codebook.names) == CONTRACT[name]
    assert {v.name for v in codebook.with_role("direct_identifier")} == DIRECT_IDENTIFIERS[name]


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_derived_variables_have_their_agreed_names_a_rule_and_an_official_reference(name):
    codebook = codebooks.load(name)
    assert set(DERIVED[name]) <= set(codebook.names)
    for variable in codebook.variables:
        assert variable.derivation is not None, variable.name
        assert variable.derivation.rule.sv and variable.derivation.rule.en
        assert variable.derivation.references, variable.name
        assert all(r.url.startswith(("https://", "http://")) for r in variable.derivation.references)


def test_quasi_identifiers_and_sensitive_variables_are_marked_as_the_contract_says():
    population = codebooks.load("population")
    assert {"kon", "fodelsedatum", "fodelseland", "fodelseland_mor", "fodelseland_far"} <= {
        v.name for v in population.with_role("quasi_identifier")}
    assert codebooks.load("patient").variable("hdia").role == "sensitive"
    assert codebooks.load("drugs").variable("atc").role == "sensitive"
    assert codebooks.load("placement_placement").variable("placeringsform").role == "sensitive"
    assert codebooks.load("lvm_application").variable("utfall").role == "sensitive"
    assert codebooks.load("providers").variable("enhet_id").role == "other"
    assert codebooks.load("cohort").variable("pseudonym_id").role == "other"


def test_the_kommun_list_is_defined_once_and_shared_by_every_codebook_that_uses_it():
    users = [codebooks.load(n).variable(v.name) for n in codebooks.available()
             for v in codebooks.load(n).variables if v.codelist == "kommun"]
    assert len(users) >= 8
    assert all(v.categories is codebooks.codelist("kommun").categories for v in users)


def test_kommun_codes_and_names_match_the_official_reference(shared: Path):
    with open(shared / "reference" / "kommuner.csv", encoding="utf-8") as handle:
        reference = {row["municipality_code"]: row for row in csv.DictReader(handle)}
    kommun = codebooks.codelist("kommun")
    assert len(kommun.categories) == 290 == len(reference)
    assert {c.code: (c.label.sv, c.group) for c in kommun.categories} == {
        code: (row["municipality_name"], row["county_code"]) for code, row in reference.items()}
    assert all(c.group == c.code[:2] for c in kommun.categories)


def test_lan_codes_and_names_match_the_official_reference(shared: Path):
    with open(shared / "reference" / "lan.csv", encoding="utf-8") as handle:
        reference = {row["county_code"]: row["county_name"] for row in csv.DictReader(handle)}
    lan = codebooks.codelist("lan")
    assert {c.code: c.label.sv for c in lan.categories} == reference
    assert len(reference) == 21
    assert set(codebooks.codelist("kommun").group_map().values()) == set(reference)


def test_every_country_maps_to_a_country_of_birth_group():
    groups = codebooks.codelist("land").group_map()
    assert groups["SE"] == "1" and groups["NO"] == "2" and groups["PL"] == "3" and groups["SY"] == "4"
    assert groups["XX"] == "9"
    assert len(groups) == 26


def test_derivations_name_codes_that_exist_in_their_code_lists():
    health = codebooks.load("health_outcomes")
    assert dict(health.variable("substansrelaterad_vard").derivation.codes) == {"icd10_grupp": ("F10-F19",)}
    assert dict(health.variable("psykiatrisk_vard").derivation.codes) == {"icd10_kapitel": ("F00-F99",)}
    assert dict(health.variable("psykofarmaka_n06b").derivation.codes) == {"atc_grupp": ("N06B",)}
    assert {c.name for c in health.codelists} == {"atc_grupp", "icd10_grupp", "icd10_kapitel"}


def test_unknown_names_are_one_clear_error_listing_what_exists():
    with pytest.raises(CodebookError, match=r"unknown codebook 'nosuch' \(available: cohort, drugs"):
        codebooks.load("nosuch")
    with pytest.raises(CodebookError, match="unknown code list 'nosuch'"):
        codebooks.codelist("nosuch")


def test_every_shipped_codebook_survives_the_dict_round_trip():
    for name in codebooks.available():
        codebook = codebooks.load(name)
        assert codebooks.from_dict(codebooks.to_dict(codebook)) == codebook


def test_every_shipped_file_is_package_data():
    """pyproject.toml's package-data patterns must ship every definition (else installed copies lose them)."""
    import tomllib

    root = Path(codebooks.__file__).parent
    patterns = tomllib.loads((root.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "codebooks"]
    shipped = {p for pattern in patterns for p in root.glob(pattern)}
    assert set((root / "definitions").rglob("*.yaml")) <= shipped
