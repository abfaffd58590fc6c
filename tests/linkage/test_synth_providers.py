"""The synthetic IVO register of HVB, stödboenden and SiS homes, and IVO's decisions after inspections."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from linkage.synth import providers as pv
from pseudonym.luhn import check_digit

END = date(2025, 12, 31)
KOMMUNER = pd.DataFrame({
    "kommun": ["0180", "1480", "1280", "0380", "2480", "1880", "0580", "2584", "0428", "1060"],
    "lan": ["01", "14", "12", "03", "24", "18", "05", "25", "04", "10"],
    "namn": ["Stockholm", "Göteborg", "Malmö", "Uppsala", "Umeå", "Örebro", "Linköping", "Kiruna", "Vingåker",
             "Olofström"],
    "folkmangd": [980_000, 600_000, 360_000, 240_000, 130_000, 160_000, 165_000, 22_000, 9_000, 13_000],
})
REGISTER_DAY = pd.Timestamp("2022-06-30")


def generate(seed: int, scale: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pv.generate_providers(np.random.default_rng(seed), kommuner=KOMMUNER, end_date=END, scale=scale)


@pytest.fixture(scope="module")
def national():
    return generate(1, 1.0)


def _active(providers: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    open_then = providers["slutdatum"].isna() | (providers["slutdatum"] > day)
    return providers[(providers["startdatum"] <= day) & open_then]


def test_providers_have_the_contract_columns_and_codes(national):
    providers, inspections = national
    assert list(providers.columns) == pv.PROVIDER_COLUMNS
    assert list(inspections.columns) == pv.INSPECTION_COLUMNS
    assert providers["enhet_id"].str.fullmatch(r"IVO-\d{7}").all() and providers["enhet_id"].is_unique
    assert set(providers["enhetstyp"]) == {"1", "2", "3"} and set(providers["huvudman"]) == {"1", "2", "3"}
    assert ((providers["enhetstyp"] == "3") == (providers["huvudman"] == "3")).all()  # SiS homes are state-run
    assert set(providers["kommun"]) <= set(KOMMUNER["kommun"])
    assert set(providers["enskild_naringsidkare"]) == {0, 1}
    assert providers["startdatum"].dtype == "datetime64[ns]" and providers["slutdatum"].dtype == "datetime64[ns]"
    assert (providers["slutdatum"].dropna() > providers.loc[providers["slutdatum"].notna(), "startdatum"]).all()
    assert providers["slutdatum"].max() <= pd.Timestamp(END)
    assert providers.loc[providers["enhetstyp"] == "2", "startdatum"].min() >= pd.Timestamp("2016-01-01")
    assert providers["enhetsnamn"].str.contains("[åäöÅÄÖ]").mean() > 0.3
    assert providers["enhetsnamn"][providers["enhetstyp"] == "3"].str.startswith("Statens institutionsstyrelse, ").all()


def test_national_scale_matches_the_register_at_its_launch(national):
    """About 875 active units in May 2022, about 560 of them HVB and about 45 SiS homes (domain.md §6.2)."""
    providers, _ = national
    active = _active(providers, REGISTER_DAY)["enhetstyp"].value_counts()
    assert active["1"] == 560 and active["3"] == 45 and 850 <= active.sum() <= 900
    assert (providers["slutdatum"] < REGISTER_DAY).sum() > 500  # closed units since ~1998 are kept


def test_small_worlds_keep_every_kind_of_unit():
    providers, _ = generate(2, 3_000 / 1_200_000)
    active = _active(providers, REGISTER_DAY)["enhetstyp"].value_counts()
    assert active["1"] >= 10 and active["2"] >= 10 and active["3"] >= 1


def _luhn_ok(digits: str) -> bool:
    return check_digit(digits[:9]) == int(digits[9])


def test_org_numbers_are_valid_and_sole_traders_carry_a_personnummer(national):
    providers, _ = national
    digits = providers["orgnr"].str.replace("-", "", regex=False)
    assert providers["orgnr"].str.fullmatch(r"\d{6}-\d{4}").all()
    assert digits.map(_luhn_ok).all()
    sole = providers["enskild_naringsidkare"] == 1
    assert sole.sum() > 50
    assert (digits[~sole].str[2:4].astype(int) >= 20).all()  # never a date
    assert digits[~sole].str[0].isin(["2", "5", "7", "8"]).all()
    born = pd.to_datetime("19" + digits[sole].str[:6], format="%Y%m%d")  # a real birth date of an adult owner
    assert born.between("1950-01-01", "1985-12-31").all()
    assert digits[sole].str[6:9].ne("000").all()
    kommunal = providers[providers["huvudman"] == "1"]
    assert (kommunal.groupby("kommun")["orgnr"].nunique() == 1).all()  # the kommun's own number
    assert kommunal["orgnr"].str.startswith("2").all()
    assert providers.loc[providers["huvudman"] == "3", "orgnr"].nunique() == 1  # one state number for SiS
    assert providers.loc[providers["huvudman"] == "2", "orgnr"].value_counts().max() > 3  # chains run several units


def test_ivo_inspects_every_active_unit_at_least_yearly(national):
    providers, inspections = national
    assert set(inspections["beslutstyp"]) == {"1", "2", "3", "4", "5"}
    assert (inspections["beslutstyp"] == "1").mean() > 0.6
    assert (inspections["beslutstyp"] == "5").mean() < 0.01
    units = providers.set_index("enhet_id")
    on = units.loc[inspections["enhet_id"]]
    assert (inspections["beslutsdatum"].to_numpy() >= on["startdatum"].to_numpy()).all()
    assert (inspections["beslutsdatum"].to_numpy() <= on["slutdatum"].fillna(pd.Timestamp(END)).to_numpy()).all()
    assert inspections["beslutsdatum"].min() >= pd.Timestamp("2013-06-01")
    years = set(zip(inspections["enhet_id"], inspections["beslutsdatum"].dt.year))
    for year in range(2014, 2025):
        active = _active(providers, pd.Timestamp(f"{year}-12-31"))
        active = active[active["startdatum"] <= pd.Timestamp(f"{year}-01-01")]
        assert all((unit, year) in years for unit in active["enhet_id"]), year
    revoked = inspections.loc[inspections["beslutstyp"] == "5", "enhet_id"]
    assert (units.loc[revoked, "huvudman"] == "2").all() and units.loc[revoked, "slutdatum"].notna().all()


def test_same_rng_state_gives_identical_registers_and_another_does_not():
    first, again, other = generate(5, 0.05), generate(5, 0.05), generate(6, 0.05)
    for a, b in zip(first, again):
        pd.testing.assert_frame_equal(a, b)
    assert not first[0].equals(other[0])
