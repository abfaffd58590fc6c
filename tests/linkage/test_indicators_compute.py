"""compute_indicators: Kolada's shape, values checked against direct counts, suppression that holds on the output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_indicators_data import REFERENCE_YEAR, event_frames, persons_frame
from test_indicators_suppression import rank_oracle

import codebooks
from linkage.errors import InputError
from linkage.indicators import (
    COLUMNS,
    Rules,
    compute_indicators,
    definitions,
    kpis,
    partial_indicators,
    skipped_indicators,
    wilson_interval,
)
from linkage.indicators.compute import GENDER_AXIS, _area_axis, _people, _population_leaf
from linkage.indicators.cube import Axis, build_cube

RULES = Rules(reference_year=REFERENCE_YEAR)


@pytest.fixture(scope="module")
def persons() -> pd.DataFrame:
    return persons_frame(4000, missing_kon=0.01)


@pytest.fixture(scope="module")
def events(persons) -> tuple[pd.DataFrame, pd.DataFrame]:
    return event_frames(persons)


@pytest.fixture(scope="module")
def indicators(persons, events) -> pd.DataFrame:
    return compute_indicators(persons, *events, rules=RULES)


def test_the_output_has_koladas_shape(indicators, persons, events):
    assert list(indicators.columns) == COLUMNS
    assert set(indicators["gender"]) == {"T", "K", "M"}
    assert set(indicators["status"]) <= {"ok", "bortfall", "suppressed"}
    codes = indicators["municipality"]
    assert codes.str.fullmatch(r"\d{4}").all()
    lan = {c.code for c in codebooks.codelist("lan").categories}
    kommun = {c.code for c in codebooks.codelist("kommun").categories}
    assert set(codes[codes.str.startswith("00") & (codes != "0000")].str[2:]) <= lan  # Kolada: 00 + länskod
    assert set(codes[~codes.str.startswith("00")]) <= kommun
    assert "0000" in set(codes)
    assert indicators["period"].dtype == np.int64
    assert set(indicators["kpi"]) <= set(kpis()["id"])
    assert not indicators.duplicated(["kpi", "municipality", "period", "gender"]).any()
    again = compute_indicators(persons, *events, rules=RULES)
    pd.testing.assert_frame_equal(indicators, again)


def test_suppressed_cells_are_blank_and_shown_cells_are_not_small(indicators):
    hidden = indicators["status"] == "suppressed"
    assert hidden.any() and (~hidden).any()
    for column in ("value", "count", "denominator", "lower", "upper"):
        assert indicators.loc[hidden, column].isna().all(), column
    shown = indicators[~hidden]
    shares = shown[shown["denominator"].notna()]
    assert (shares["count"] >= 5).all() and (shares["denominator"] >= 5).all()
    assert (shares["denominator"] - shares["count"] >= 5).all()
    counts = shown[shown["denominator"].isna()]
    assert (counts["count"] >= 5).all()
    assert (counts["value"] == counts["count"]).all()


def direct_share(persons: pd.DataFrame, share_id: str, population: str, period: int, *, area: str = "0000",
                 gender: str = "T") -> tuple[int, int]:
    """Count and denominator of a share cell, counted straight from the persons frame."""
    share = next(s for s in definitions().shares if s.id == share_id)
    pop = next(p for p in definitions().populations if p.code == population)
    frame = persons[persons[pop.column].fillna(False).astype(bool) & (persons["fodelsear"] + share.age == period)]
    if area != "0000":
        frame = frame[frame["kommun"] == area] if not area.startswith("00") else frame[frame["lan"] == area[2:]]
    if gender != "T":
        frame = frame[frame["kon"] == {"K": "2", "M": "1"}[gender]]
    values = frame[[c for c in share.outcome if c in frame.columns]]
    known = values.notna().any(axis=1) & (values.fillna(False).astype(bool).any(axis=1) | values.notna().all(axis=1))
    if share.exclude:
        known &= ~frame[share.exclude].fillna(False).astype(bool)
    positive = values.fillna(False).astype(bool).any(axis=1)
    if share.lacking:
        positive = ~positive
    return int((known & positive).sum()), int(known.sum())


def test_shown_shares_match_direct_counts(indicators, persons):
    shown = indicators[(indicators["status"] != "suppressed") & indicators["denominator"].notna()]
    checked = 0
    for row in shown.sample(min(len(shown), 150), random_state=1).itertuples():
        count, denominator = direct_share(persons, row.kpi[:5], row.kpi[5], row.period, area=row.municipality,
                                          gender=row.gender)
        assert (row.count, row.denominator) == (count, denominator), row
        assert row.value == round(100 * count / denominator, 1)
        checked += 1
    assert checked > 50


def test_the_wilson_interval():
    lower, upper = wilson_interval(np.array([5, 0, 10]), np.array([10, 10, 10]))
    np.testing.assert_allclose(lower, [0.2366, 0.0, 0.7225], atol=5e-5)
    np.testing.assert_allclose(upper, [0.7634, 0.2775, 1.0], atol=5e-5)


def test_no_suppressed_cell_can_be_worked_out_from_the_output(indicators, persons):
    """An outsider with the output and the public cohort sizes per kommun and sex solves every sum: nothing small."""
    people = _people(persons)
    population, pop_axis = _population_leaf(persons)
    area, area_axis = _area_axis(people, kommun_level=True)
    for share_id, period in (("RLU01", 2017), ("RLU03", 2019), ("RLH02", 2025)):
        share = next(s for s in definitions().shares if s.id == share_id)
        rows = pd.DataFrame({"population": population, "area": area, "gender": people["gender"],
                             "period": (people["fodelsear"] + share.age).astype(str)})
        rows = rows[rows["period"] == str(period)]
        # the true counts, by the same definition the direct test above checks
        one = compute_truth(persons.loc[rows.index], rows, share)
        cube = build_cube(one, [pop_axis, area_axis, GENDER_AXIS], ["persons", "denominator", "count"],
                          size="persons", complete="population")
        cells = cube.cells
        output = indicators[indicators["period"] == period].assign(
            population=lambda f: f["kpi"].str[5:], group=lambda f: f["kpi"].str[:5])
        output = output[output["group"] == share.id]
        status = cells.merge(output, left_on=["population", "area", "gender"],
                             right_on=["population", "municipality", "gender"], how="left")["status"]
        shown = (status.isin(["ok", "bortfall"])).to_numpy()
        identifiable = ((~cells["area"].str.startswith("?")) & (cells["gender"] != "?")
                        & (cells["population"] != "_all?")).to_numpy()
        small_count = ((cells["count"] < 5) | (cells["denominator"] < 5)
                       | (cells["denominator"] - cells["count"] < 5)).to_numpy()
        assert not (shown & small_count).any()
        recoverable = rank_oracle(cube.relations, ~shown)
        assert not (recoverable & ~shown & small_count & identifiable).any(), (share.id, period)
        public = (cells["population"] == "_all").to_numpy() & identifiable
        sizes = rank_oracle(cube.relations, ~shown & ~public)
        small_size = (cells["persons"] < 5).to_numpy()
        assert not (sizes & ~shown & ~public & small_size & identifiable).any(), (share.id, period)


def compute_truth(persons: pd.DataFrame, rows: pd.DataFrame, share) -> pd.DataFrame:
    """Per person: in the population (1), in the denominator, counted — as `direct_share` defines them."""
    values = persons[[c for c in share.outcome if c in persons.columns]]
    known = values.notna().any(axis=1) & (values.fillna(False).astype(bool).any(axis=1) | values.notna().all(axis=1))
    if share.exclude:
        known &= ~persons[share.exclude].fillna(False).astype(bool)
    positive = values.fillna(False).astype(bool).any(axis=1)
    if share.lacking:
        positive = ~positive
    return rows.assign(persons=1, denominator=known.astype(int).to_numpy(),
                       count=(known & positive).astype(int).to_numpy())


TREND_COLUMNS = ["pseudonym_id", "kon", "fodelsear", "lan", "kommun"]  # no populations: the shares are skipped


def test_dates_of_any_precision_give_the_same_trend(persons):
    counts = {}
    for precision in ("day", "month", "year"):
        placements, measures = event_frames(persons, precision=precision)
        counts[precision] = compute_indicators(persons[TREND_COLUMNS], placements, measures, rules=RULES)
    assert counts["day"]["kpi"].str.startswith("RLP").all() and len(counts["day"])
    pd.testing.assert_frame_equal(counts["day"], counts["month"])
    pd.testing.assert_frame_equal(counts["day"], counts["year"])


def test_a_placement_reported_in_several_yearly_snapshots_counts_once(persons, events):
    placements, measures = events
    snapshots = pd.concat([placements.assign(redovisningsar=2019), placements.assign(redovisningsar=2020)])
    once = compute_indicators(persons[TREND_COLUMNS], placements, measures, rules=RULES)
    twice = compute_indicators(persons[TREND_COLUMNS], snapshots, measures, rules=RULES)
    pd.testing.assert_frame_equal(once, twice)


def test_the_trend_counts_children_placed_and_placements_started(persons):
    people = persons.iloc[:3].assign(kon=["1", "2", "1"], kommun=["0180", "0180", "1280"], lan=["01", "01", "12"])
    ids = people["pseudonym_id"].tolist()
    placements = pd.DataFrame({"pseudonym_id": [ids[0], ids[0], ids[1], ids[2]],
                               "startdatum": ["2019-03", "2020-11", "2020-01", "2021-06"],
                               "slutdatum": ["2020-02", None, "2020-05", "2021-07"],
                               "placeringsform": ["1", "5", "1", "3"]})
    result = compute_indicators(people, placements, None, rules=Rules(reference_year=2022, min_count=1))
    riket = result[(result["municipality"] == "0000") & (result["gender"] == "T")].set_index(["kpi", "period"])
    assert riket.loc[("RLP01", 2019), "count"] == 1
    assert riket.loc[("RLP01", 2020), "count"] == 2  # one child twice in 2020 counts once
    assert riket.loc[("RLP01", 2022), "count"] == 1  # ongoing to the reference year
    assert riket.loc[("RLP02", 2020), "count"] == 2
    assert riket.loc[("RLP02F1", 2020), "count"] == 1 and riket.loc[("RLP02F5", 2020), "count"] == 1
    assert ("RLP01", 2023) not in riket.index
    assert not result["kpi"].str.startswith("RLP03").any()  # no measures table


def test_periods_after_the_reference_year_are_left_out(persons, events):
    result = compute_indicators(persons, *events, rules=Rules(reference_year=2018))
    assert result["period"].max() <= 2018
    shares = result[result["kpi"].str.startswith("RLU03")]
    assert set(shares["period"]) == {2017, 2018}  # born 2000 and 2001 have turned 17


def test_persons_of_unknown_sex_or_kommun_count_in_the_totals_only():
    people = persons_frame(3000, seed=5, missing_kon=0.1)
    people.loc[people.index[:300], "kommun"] = pd.NA
    result = compute_indicators(people, rules=Rules(reference_year=REFERENCE_YEAR, min_count=1, complement=False))
    riket = result[(result["kpi"] == "RLU03A") & (result["municipality"] == "0000")]
    for period, cells in riket.groupby("period"):
        by = cells.set_index("gender")["denominator"]
        assert by["T"] > by["K"] + by["M"]
        assert by["T"] == direct_share(people, "RLU03", "A", period)[1]
    assert not result["municipality"].str.contains(r"\?").any()


def test_a_share_with_much_missing_from_the_grade_register_is_flagged():
    people = persons_frame(3000, seed=3)
    people["saknas_i_betygsregistret"] = pd.array(np.arange(len(people)) % 4 == 0, dtype="boolean")
    result = compute_indicators(people, rules=Rules(reference_year=REFERENCE_YEAR, bortfall=0.2))
    riket = result[(result["municipality"] == "0000") & (result["kpi"] == "RLU01A") & (result["gender"] == "T")]
    assert (riket["status"] == "bortfall").all()  # 25% missing > 20%
    assert riket["value"].notna().all()
    relaxed = compute_indicators(people, rules=Rules(reference_year=REFERENCE_YEAR, bortfall=0.3))
    riket = relaxed[(relaxed["municipality"] == "0000") & (relaxed["kpi"] == "RLU01A") & (relaxed["gender"] == "T")]
    assert (riket["status"] == "ok").all()


def test_what_the_frames_lack_is_skipped_with_a_reason(persons):
    partial = persons.drop(columns=["gymnasieexamen_20", "sjalvskada"])
    skipped = skipped_indicators(partial)
    assert skipped["RLU04"] == "persons has no column gymnasieexamen_20"
    assert skipped["RLH02"] == "persons has no column sjalvskada"
    assert skipped["RLP01"] == "the extract has no table placement_placement"
    result = compute_indicators(partial, rules=RULES)
    assert not result["kpi"].str.startswith(("RLU04", "RLH02", "RLP")).any()
    assert result["kpi"].str.startswith("RLU01").any()


@pytest.mark.parametrize(("column", "value", "message"), [
    ("kon", "3", "column 'kon' has 1 value(s) outside the code list kon"),
    ("kommun", "12", "column 'kommun' has 1 value(s) that are not 4-digit kommunkoder"),
    ("fodelsear", "nineteen", "column 'fodelsear' must hold whole years"),
    ("placerad_nagon_gang", "maybe", "column 'placerad_nagon_gang' is not a boolean"),
])
def test_bad_values_are_errors_that_name_the_column_not_the_value(persons, column, value, message):
    bad = persons.copy()
    bad[column] = bad[column].astype(object)
    bad.loc[bad.index[0], column] = value
    with pytest.raises(InputError) as error:
        compute_indicators(bad, rules=RULES)
    assert message in str(error.value)
    assert value not in str(error.value).replace(message, "")


def test_an_event_date_that_is_not_a_date_is_an_error(persons, events):
    placements, measures = events
    bad = placements.copy()
    bad["startdatum"] = bad["startdatum"].astype(object)
    bad.loc[bad.index[0], "startdatum"] = "igår"
    with pytest.raises(InputError, match="placement_placement: column 'startdatum' holds values that are not dates"):
        compute_indicators(persons, bad, measures, rules=RULES)


def test_the_definitions_name_real_codebook_variables_and_cite_sources():
    variables = {v.name for name in ("cohort", "education_outcomes", "health_outcomes")
                 for v in codebooks.load(name).variables}
    defs = definitions()
    for population in defs.populations:
        assert population.column in variables
    for share in defs.shares:
        assert set(share.outcome) <= variables, share.id
        assert {share.exclude, share.bortfall} - {None} <= variables
        assert share.sources and all(s.url.startswith("http") for s in share.sources)
        assert share.title.sv and share.title.en
    registers = {"placement_placement": codebooks.load("placement_placement"),
                 "placement_measure": codebooks.load("placement_measure")}
    for count in defs.counts:
        names = {v.name for v in registers[count.table].variables}
        assert {"startdatum", "slutdatum", count.breakdown.column} <= names
    table = kpis()
    assert table["id"].is_unique
    assert len(table) == len(defs.shares) * len(defs.populations) + (1 + 8) + (1 + 8) + 5 + (1 + 5)  # RLP01–04
    assert table["title_sv"].str.len().gt(0).all() and table["title_en"].str.len().gt(0).all()


def test_a_hierarchical_axis_gives_the_sums_of_its_children():
    rows = pd.DataFrame({"area": ["0180", "0184", "?01"], "gender": ["K", "M", "K"], "n": [3, 4, 5]})
    area = Axis("area", {"0180": "0001", "0184": "0001", "?01": "0001", "0001": "0000"})
    cube = build_cube(rows, [area, GENDER_AXIS], ["n"], size="n")
    cells = cube.cells.set_index(["area", "gender"])["n"]
    assert cells[("0000", "T")] == 12 and cells[("0001", "K")] == 8 and cells[("0180", "T")] == 3
    ids = {key: i for i, key in enumerate(cube.cells.set_index(["area", "gender"]).index)}
    sums = {}
    for rel, cell, total in zip(cube.relations.relation, cube.relations.cell, cube.relations.total):
        sums.setdefault(rel, [None, set()])
        if total:
            sums[rel][0] = cell
        else:
            sums[rel][1].add(cell)
    found = {(total, frozenset(parts)) for total, parts in sums.values()}
    assert (ids["0001", "T"], frozenset({ids["0001", "K"], ids["0001", "M"]})) in found
    assert (ids["0001", "K"], frozenset({ids["0180", "K"], ids["?01", "K"]})) in found
    assert (ids["0000", "T"], frozenset({ids["0001", "T"]})) in found


def test_a_subset_of_groups_gives_the_same_cells(indicators, persons, events):
    subset = compute_indicators(persons, *events, rules=RULES, groups=["RLU03", "RLP02"])
    assert set(subset["kpi"].str[:5]) == {"RLU03", "RLP02"}
    expected = indicators[indicators["kpi"].str[:5].isin(["RLU03", "RLP02"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(subset, expected)
    with pytest.raises(ValueError, match="unknown indicator group"):
        compute_indicators(persons, rules=RULES, groups=["RLX99"])


def test_a_share_missing_some_of_its_columns_is_computed_from_the_rest_and_says_so(persons):
    partial = persons.drop(columns=["behorig_estetiska"])
    assert partial_indicators(partial) == {
        "RLU02": "computed from behorig_ekonomi_humanistiska_samhall, behorig_naturvetenskap_teknik only "
                 "(the extract has no behorig_estetiska)"}
    assert partial_indicators(persons) == {}
    assert compute_indicators(partial, rules=RULES, groups=["RLU02"])["kpi"].str.startswith("RLU02").all()
