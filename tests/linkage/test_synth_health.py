"""The synthetic patient, prescribed-drug and LVM registers: contract columns, windows, effect sizes, determinism."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from linkage.synth import health, lvm
from pseudonym.luhn import check_digits

END = date(2025, 12, 31)
KOMMUNER = ["0180", "1480", "1280", "0380", "2480", "1880", "0580", "2584", "0428", "1060"]


def make_persons(n: int, seed: int) -> pd.DataFrame:
    """A plausible `persons` frame (the world's contract): cohorts 1998-2008, ~5% placed, more often with high `risk`.

    Shaped like the world's own: the placed have a mean risk of about 0.8, ~1.2% are placed the whole of year 9
    (mostly boys, with a lower risk, most of them in HVB or SiS at some time), ~0.7% have had LVU 3 § care.
    """
    rng = np.random.default_rng(seed)
    birth = np.datetime64("1998-01-01") + rng.integers(0, 11 * 365, n).astype("timedelta64[D]")
    risk = rng.standard_normal(n)
    boy = rng.random(n) < 0.5
    placed = rng.random(n) < 1 / (1 + np.exp(-(-3.5 + 0.9 * risk + 0.35 * boy)))
    first_age = rng.uniform(0, 18, n)
    whole9 = placed & (first_age < 14.5) & (rng.random(n) < 0.3 * np.exp(-0.35 * risk) * np.where(boy, 1.6, 0.9))
    lvu3 = placed & (first_age >= 12) & (rng.random(n) < 0.45)
    hvb_sis = placed & (rng.random(n) < np.where(whole9 | lvu3, 0.75, 0.45))
    immigrant = rng.random(n) < 0.1
    invandring = np.where(immigrant, birth + (rng.uniform(0, 17, n) * 365.25).astype("timedelta64[D]"),
                          np.datetime64("NaT"))
    ensam = immigrant & placed & (rng.random(n) < 0.3)
    start = np.where(immigrant, invandring, birth)
    end = np.datetime64(END)
    span = (end - start).astype(np.int64)
    utvandring = np.where(rng.random(n) < 0.02, start + (rng.random(n) * span).astype("timedelta64[D]"),
                          np.datetime64("NaT"))
    dod = np.where(rng.random(n) < 0.004, start + (rng.random(n) * span).astype("timedelta64[D]"),
                   np.datetime64("NaT"))
    ymd = pd.DatetimeIndex(birth)
    digits = np.stack([ymd.year // 10 % 10, ymd.year % 10, ymd.month // 10, ymd.month % 10, ymd.day // 10,
                       ymd.day % 10, *rng.integers(0, 10, (3, n))], axis=1)
    digits[:, 8] = np.where(boy, digits[:, 8] | 1, digits[:, 8] & ~1)  # odd birth number for men
    pnr = [f"{y}{''.join(map(str, d))}{c}" for y, d, c in zip(ymd.year // 100, digits, check_digits(digits))]
    first_date = np.where(placed, birth + (first_age * 365.25).astype("timedelta64[D]"), np.datetime64("NaT"))
    return pd.DataFrame({
        "person_id": np.arange(n, dtype=np.int64),
        "pnr": pnr,
        "kon": np.where(boy, 1, 2).astype(np.int8),
        "fodelsedatum": pd.to_datetime(birth),
        "kommun": np.array(KOMMUNER, dtype=object)[rng.integers(0, len(KOMMUNER), n)],
        "invandringsdatum": pd.to_datetime(invandring),
        "utvandringsdatum": pd.to_datetime(utvandring),
        "dodsdatum": pd.to_datetime(dod),
        "risk": risk,
        "placed_ever": placed,
        "first_placement_date": pd.to_datetime(first_date),
        "placed_whole_year9": whole9,
        "ever_lvu3": lvu3,
        "ever_hvb_sis": hvb_sis,
        "ensamkommande": ensam,
        "year9_year": (ymd.year + 16).astype(np.int16),
    })


@pytest.fixture(scope="module")
def world():
    """60,000 persons (~5% placed, ~1.2% placed the whole of year 9) and their patient and drug registers."""
    persons = make_persons(60_000, seed=1)
    rng = np.random.default_rng(20251231)
    patient = health.generate_patient(rng, persons, end_date=END)
    return persons, patient, health.generate_drugs(rng, persons, end_date=END)


def _calibrated(rows: list[dict]) -> dict[str, float]:
    return {row["name"]: row["achieved"] for row in rows}


def _strings(series: pd.Series, *, nullable: bool = False) -> bool:
    """An object column of str (None allowed where `nullable`)."""
    values = pd.unique(series)
    return series.dtype == object and all(type(v) is str or (nullable and v is None) for v in values)


def _distinct(series: pd.Series) -> pd.Series:
    """The distinct non-missing values of a code column (checks on codes run on these)."""
    return pd.Series(series.dropna().unique(), dtype=object)


def _windows(persons: pd.DataFrame, person_id: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's first and last possible day: birth/immigration to death/emigration/end of observation."""
    first = persons[["fodelsedatum", "invandringsdatum"]].max(axis=1).to_numpy()
    last = persons[["dodsdatum", "utvandringsdatum"]].min(axis=1).fillna(pd.Timestamp(END)).clip(
        upper=pd.Timestamp(END)).to_numpy()
    return first[person_id], last[person_id]  # person_id is the row position in `persons`


# ------------------------------------------------------------------------------------------------------------ patient
def test_patient_has_the_contract_columns_and_codes(world):
    persons, patient, _ = world
    assert list(patient.columns) == health.PATIENT_COLUMNS  # the contract's columns; `pnr` is the world's to add
    assert 5 * len(persons) < len(patient) < 15 * len(persons)
    assert patient["person_id"].dtype == np.int64
    for column in ("vardform", "indatum", "hdia", "pvard", "mvo", "kommun"):
        assert _strings(patient[column]), column
    for column in ("utdatum", "dia1", "dia2", "ekod1"):
        assert _strings(patient[column], nullable=True), column
    assert set(patient["vardform"]) == {"1", "2"} and set(patient["pvard"]) == {"1", "2"}
    assert set(patient["mvo"]) <= {"101", "301", "331", "441", "901", "931", "941"}
    psychiatric_mvo = patient["mvo"].isin(["901", "931", "941"])
    assert (psychiatric_mvo == (patient["pvard"] == "2")).all()
    for column in ("hdia", "dia1", "dia2"):
        assert _distinct(patient[column]).str.fullmatch(r"[A-Z]\d{2}[0-9]?").all(), column
    assert _distinct(patient["ekod1"]).str.fullmatch(r"[V-Y]\d{3}").all()
    assert (patient["hdia"] != patient["dia1"]).all()
    assert (patient["kommun"].to_numpy() == persons["kommun"].to_numpy()[patient["person_id"]]).all()


def test_patient_dates_respect_care_form_and_life(world):
    persons, patient, _ = world
    indatum = pd.to_datetime(patient["indatum"], format="%Y%m%d")
    utdatum = pd.to_datetime(patient["utdatum"], format="%Y%m%d")
    inpatient = patient["vardform"] == "1"
    assert utdatum.notna().eq(inpatient).all()  # utdatum for inpatient stays only
    assert (utdatum[inpatient] >= indatum[inpatient]).all()
    assert indatum.min() >= pd.Timestamp("1998-01-01")  # ICD-10-SE from 1998
    assert indatum[~inpatient].min() >= pd.Timestamp("2001-01-01")  # specialised outpatient care from 2001
    first, last = _windows(persons, patient["person_id"])
    assert (indatum.to_numpy() >= first).all()
    assert (indatum.to_numpy() <= last).all() and (utdatum[inpatient].to_numpy() <= last[inpatient.to_numpy()]).all()


def test_patient_has_psychiatric_substance_and_self_harm_care(world):
    _, patient, _ = world
    hdia = patient["hdia"]
    assert hdia.str.startswith("F").mean() > 0.1
    assert hdia.str.match(r"F1\d").sum() > 500
    self_harm = patient["ekod1"].fillna("").str.match(r"X(6\d|7\d|8[0-4])")
    assert self_harm.sum() > 200
    assert hdia[self_harm].str.match(r"[ST]").all()  # self-harm carries the injury or poisoning as hdia
    assert patient["ekod1"].fillna("").str.match(r"Y[1-3]\d").any()  # undetermined intent sometimes


def test_placed_children_have_several_fold_more_psychiatric_care_self_harm_and_substance_use(world):
    persons, patient, drugs = world
    achieved = _calibrated(health.calibration(persons, patient, drugs, end_date=END))
    assert 2.5 < achieved["psychiatric_care_by_18_ratio"] < 6
    assert 0.05 < achieved["psychiatric_care_by_18_never_placed"] < 0.3
    assert 2.5 < achieved["self_harm_inpatient_13_19_ratio"] < 8
    assert 2.5 < achieved["substance_related_care_by_20_ratio"] < 8


def test_psychiatric_events_mostly_from_age_12_and_substance_from_15(world):
    persons, patient, _ = world
    born = persons["fodelsedatum"].to_numpy()[patient["person_id"]]
    age = (pd.to_datetime(patient["indatum"], format="%Y%m%d").to_numpy() - born) / np.timedelta64(1, "D") / 365.25
    hdia = patient["hdia"]
    psychiatric = hdia.str.startswith("F") & ~hdia.str.match(r"F1\d")
    assert (age[psychiatric] >= 12).mean() > 0.6
    assert (age[hdia.str.match(r"F1\d").to_numpy()] >= 15).mean() > 0.85


# -------------------------------------------------------------------------------------------------------------- drugs
def test_drugs_have_the_contract_columns_and_atc_codes(world):
    persons, _, drugs = world
    assert list(drugs.columns) == health.DRUGS_COLUMNS
    assert 10 * len(persons) < len(drugs) < 25 * len(persons)
    assert _strings(drugs["atc"]) and _strings(drugs["kommun"])
    assert _distinct(drugs["atc"]).str.fullmatch(r"[A-Z]\d{2}[A-Z]{2}\d{2}").all()
    assert drugs["fdatum"].dtype == "datetime64[ns]" and drugs["edatum"].dtype == "datetime64[ns]"
    assert drugs["antal_ddd"].dtype == np.float64 and (drugs["antal_ddd"] > 0).all()
    assert (drugs["antal_ddd"] % 1 != 0).mean() > 0.05  # fractional DDD sometimes
    assert drugs["atc"].str[:4].isin(health.PSYCHOTROPIC_GROUPS).sum() > 10_000


def test_dispensings_fall_between_july_2005_birth_and_the_end_of_life(world):
    persons, _, drugs = world
    assert (drugs["fdatum"] <= drugs["edatum"]).all()
    assert drugs["edatum"].min() >= pd.Timestamp("2005-07-01")
    first, last = _windows(persons, drugs["person_id"])
    assert (drugs["fdatum"].to_numpy() >= first).all()
    assert (drugs["edatum"].to_numpy() <= last).all()


def test_concurrent_psychotropics_at_16_reach_oj_levels(world):
    """ÖJ (domain.md §4.3): 7% of those placed the whole of year 9 against 1% of peers never placed."""
    persons, patient, drugs = world
    rows = {row["name"]: row for row in health.calibration(persons, patient, drugs, end_date=END)}
    placed = rows["psychotropic_polypharmacy_age16_placed_whole_year9"]
    never = rows["psychotropic_polypharmacy_age16_never_placed"]
    assert placed["target"] == 0.07 and never["target"] == 0.01
    assert placed["denominator"] > 500
    assert 0.045 < placed["achieved"] < 0.10
    assert 0.006 < never["achieved"] < 0.015


def test_psychotropic_polypharmacy_follows_its_definition():
    persons = make_persons(6, seed=2).assign(fodelsedatum=pd.Timestamp("2004-05-05"))  # turns 16 in 2020

    def dispensed(person, atc, *days):
        return [{"person_id": person, "atc": atc, "edatum": pd.Timestamp(d)} for d in days]

    drugs = pd.DataFrame(
        dispensed(0, "N06BA04", "2020-01-10", "2020-02-10", "2020-03-10")  # overlapping groups: counts
        + dispensed(0, "N05CH01", "2020-02-20", "2020-04-20", "2020-06-20")
        + dispensed(1, "N06BA04", "2020-01-10", "2020-02-10", "2020-03-10")  # periods apart: no
        + dispensed(1, "N06AB06", "2020-05-10", "2020-06-10", "2020-07-10")
        + dispensed(2, "N06BA04", "2020-01-10", "2020-02-10", "2020-03-10")  # second group only twice: no
        + dispensed(2, "N06AB06", "2020-01-15", "2020-02-15")
        + dispensed(3, "N06BA04", "2019-01-10", "2019-02-10", "2019-03-10")  # the wrong year: no
        + dispensed(3, "N06AB06", "2019-01-15", "2019-02-15", "2019-03-15")
        + dispensed(4, "N06AB06", "2020-01-10", "2020-02-10", "2020-03-10")  # one group, two substances: no
        + dispensed(4, "N06AB10", "2020-01-15", "2020-02-15", "2020-03-15")
        + dispensed(5, "N05AH04", "2020-03-01", "2020-03-01", "2020-03-01", "2020-09-01")  # 2 distinct days: no
        + dispensed(5, "N05BB01", "2020-01-15", "2020-05-15", "2020-12-15")
    )
    assert health.psychotropic_polypharmacy(persons, drugs).tolist() == [True, False, False, False, False, False]


# ---------------------------------------------------------------------------------------------------------------- LVM
@pytest.fixture(scope="module")
def lvu3_world(world):
    """The world's persons with LVU 3 § care for a random tenth, whatever their risk: many LVM cases to look at."""
    persons = world[0]
    rng = np.random.default_rng(4)
    persons = persons.assign(ever_lvu3=rng.random(len(persons)) < 0.1)
    return persons, lvm.generate_lvm(rng, persons, end_date=END)


def test_lvm_registers_have_the_contract_columns(lvu3_world):
    _, registers = lvu3_world
    assert list(registers) == ["lvm_application", "lvm_emergency", "lvm_discharge"]
    app, emg, dis = registers.values()
    assert min(len(app), len(emg), len(dis)) > 20
    assert list(app.columns) == lvm.APPLICATION_COLUMNS and list(emg.columns) == lvm.EMERGENCY_COLUMNS
    assert list(dis.columns) == lvm.DISCHARGE_COLUMNS
    assert set(app["utfall"]) == {"1", "2"} and set(app["grund"]) <= {"1", "2", "3"}
    assert set(app["missbruk"]) <= {"1", "2", "3", "4"} and set(dis["utskrivningsorsak"]) <= {"1", "2", "3", "4"}
    assert set(emg["faststallt"]) <= {0, 1} and set(dis["vard_annan_form"]) <= {0, 1}
    assert (app["utfall"] == "1").mean() > 0.75  # most applications granted
    assert all(f["beslutsdatum"].dtype == "datetime64[ns]" for f in (app, emg))
    assert dis["vardtid_manader"].dtype == np.float64


def test_a_world_too_young_for_lvm_gets_empty_lvm_registers():
    persons = make_persons(2000, seed=5)
    registers = lvm.generate_lvm(np.random.default_rng(1), persons, end_date=date(2012, 6, 30))
    assert [len(frame) for frame in registers.values()] == [0, 0, 0]
    assert list(registers["lvm_application"].columns) == lvm.APPLICATION_COLUMNS


def test_lvm_is_for_adults_within_life_and_care_lasts_at_most_six_months(lvu3_world):
    persons, registers = lvu3_world
    for frame, column in ((registers["lvm_application"], "beslutsdatum"), (registers["lvm_emergency"], "beslutsdatum"),
                          (registers["lvm_discharge"], "utskrivningsdatum")):
        born = persons["fodelsedatum"].to_numpy()[frame["person_id"]]
        assert (frame[column].to_numpy() >= born + np.timedelta64(18 * 365, "D")).all()
        _, last = _windows(persons, frame["person_id"])
        assert (frame[column].to_numpy() <= last).all()
    dis = registers["lvm_discharge"]
    days = (dis["utskrivningsdatum"] - dis["inskrivningsdatum"]).dt.days
    assert (days > 0).all() and (dis["vardtid_manader"] <= 6.0).all()
    assert np.allclose(dis["vardtid_manader"], days / 30.4375, atol=0.051)
    stays = dis.sort_values(["person_id", "inskrivningsdatum"])
    again = stays["person_id"].eq(stays["person_id"].shift())
    assert (stays["inskrivningsdatum"] > stays["utskrivningsdatum"].shift())[again].all()  # one LVM care at a time


def test_lvm_is_far_more_common_after_lvu_3(lvu3_world):
    persons, registers = lvu3_world
    ever = np.zeros(len(persons), dtype=bool)
    ever[pd.concat([f["person_id"] for f in registers.values()])] = True
    lvu3 = persons["ever_lvu3"].to_numpy()
    assert ever[lvu3].sum() > 15
    assert ever[lvu3].mean() > 8 * ever[~lvu3].mean()


# -------------------------------------------------------------------------------------------------------- determinism
def test_same_rng_state_gives_identical_registers_and_another_does_not():
    persons = make_persons(2_000, seed=3)

    def registers(seed):
        rng = np.random.default_rng(seed)
        return [health.generate_patient(rng, persons, end_date=END), health.generate_drugs(rng, persons, end_date=END),
                *lvm.generate_lvm(rng, persons, end_date=END).values()]

    first, again, other = registers(7), registers(7), registers(8)
    for a, b in zip(first, again):
        pd.testing.assert_frame_equal(a, b)
    assert not first[0].equals(other[0]) and not first[1].equals(other[1])
