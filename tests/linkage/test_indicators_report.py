"""write_indicators on an extract folder: the files, the figures opened as images, the HTML, the errors."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image
from test_indicators_data import KOMMUNER, REFERENCE_YEAR, event_frames, persons_frame

from linkage.errors import OutputError, ReglinkError
from linkage.extract.manifest import build_manifest, write_manifest
from linkage.indicators import Rules, definitions, kommun_chart, read_extract, write_indicators
from linkage.indicators.plots import DPI, comparison_chart, trend_chart
from linkage.indicators.report import MARKER
from linkage.io import write_table

#: The last kommun is tiny: its cells are suppressed while the big ones are shown.
WEIGHTS = (30, 20, 15, 25, 20, 0.6)


def make_extract(folder: Path, *, reference_date: str | None = None, persons: int = 4000) -> Path:
    """An extract folder as `reglink extract` lays it out: data/*.parquet and a manifest listing them."""
    persons = persons_frame(persons, seed=4, weights=WEIGHTS, missing_kon=0.005)
    placements, measures = event_frames(persons, seed=6)
    for name, frame in (("persons", persons), ("placement_placement", placements),
                        ("placement_measure", measures)):
        write_table(frame, folder / "data" / f"{name}.parquet")
    manifest = build_manifest(folder, project="test-indicators", request={"project": "demo-2026"}, request_sha256="0" * 64, key_fingerprint="f" * 16,
                              counts={"persons": len(persons)}, exclusions={"applied": False, "records_removed": 0})
    if reference_date:
        manifest["reference_date"] = reference_date
    write_manifest(folder, manifest)
    return folder


@pytest.fixture(scope="module")
def extract(tmp_path_factory) -> Path:
    return make_extract(tmp_path_factory.mktemp("indicators") / "extract", reference_date=f"{REFERENCE_YEAR}-12-31")


@pytest.fixture(scope="module")
def written(extract, tmp_path_factory):
    """The indicators of the extract, its reference year taken from its manifest."""
    return write_indicators(extract, tmp_path_factory.mktemp("out") / "indicators")


def image(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.format == "PNG"
        return np.asarray(picture.convert("RGB"))


def assert_drawn(pixels: np.ndarray) -> None:
    """Not blank: a good share of the pixels is not background, and there are many colours."""
    background = (pixels > 245).all(axis=2)
    assert 0.02 < 1 - background.mean() < 0.9
    colours = (pixels[..., 0].astype(np.int32) << 16) | (pixels[..., 1].astype(np.int32) << 8) | pixels[..., 2]
    assert len(np.unique(colours)) > 50


def test_the_tables_figures_and_report_are_written(written):
    folder = written.folder
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert {"indicators.csv", "indicators.parquet", "kpis.csv", "report.html", "figures/trend.png",
            "figures/comparison.png"} <= set(names)
    assert any(re.fullmatch(r"figures/kommuner-RL[UH]\d\d[HNA]\.png", name) for name in names)
    assert len([name for name in names if name.startswith("figures/kommuner-")]) <= 8  # one per share at most
    table = pq.read_table(folder / "indicators.parquet").to_pandas()
    assert len(table) == len(written.indicators)
    csv = pd.read_csv(folder / "indicators.csv", dtype={"municipality": str})
    assert list(csv.columns) == list(written.indicators.columns)
    assert (csv["municipality"].str.len() == 4).all()
    hidden = csv["status"] == "suppressed"
    assert csv.loc[hidden, ["value", "count", "denominator", "lower", "upper"]].isna().all().all()


def test_every_figure_opens_as_a_drawn_png_of_its_stated_size(written):
    for chart in written.charts:
        png = (written.folder / "figures" / f"{chart.name}.png").read_bytes()
        pixels = image(png)
        assert pixels.shape[1::-1] == chart.size, chart.name
        assert_drawn(pixels)


def test_the_trend_figure_draws_only_shown_counts(written):
    chart = next(c for c in written.charts if c.name == "trend")
    shown = written.indicators[(written.indicators["status"] != "suppressed")
                               & (written.indicators["municipality"] == "0000")
                               & (written.indicators["gender"] == "T")].set_index(["kpi", "period"])["value"]
    assert len(chart.data) > 20
    for row in chart.data.itertuples():
        assert shown[(row.kpi, row.period)] == row.value
    lines = [line for ax in chart.figure.axes for line in ax.get_lines()]
    drawn = sum(int(np.isfinite(line.get_ydata()).sum()) for line in lines)
    assert drawn == len(chart.data)


def test_a_suppressed_kommun_is_not_in_the_dot_plot(written):
    indicators = written.indicators
    tiny = KOMMUNER[-1]
    checked = 0
    for chart in (c for c in written.charts if c.name.startswith("kommuner-")):
        kpi, period = chart.data["kpi"].iloc[0], int(chart.data["period"].iloc[0])
        cells = indicators[(indicators["kpi"] == kpi) & (indicators["period"] == period)
                           & (indicators["gender"] == "T") & ~indicators["municipality"].str.startswith("00")]
        suppressed = set(cells.loc[cells["status"] == "suppressed", "municipality"])
        shown = set(cells.loc[cells["status"] != "suppressed", "municipality"])
        labels = [tick.get_text() for tick in chart.figure.axes[0].get_yticklabels()]
        assert set(chart.data["municipality"]) == shown
        assert len(labels) == len(shown) and all(label.endswith(")") for label in labels)
        for code in suppressed:
            assert not any(f"({code})" in label for label in labels), (chart.name, code)
        if tiny in suppressed:
            checked += 1
        values = chart.data.set_index("municipality")["value"]
        assert list(values) == sorted(values)  # ranked
        _, height = chart.size
        assert height == round((1.6 + 0.26 * len(shown)) * DPI)
    assert checked, "the tiny kommun should be suppressed in at least one plotted KPI"


def test_a_kommun_plot_is_drawn_from_shown_cells_alone():
    """Hand-made indicators: a suppressed kommun has no dot, no label and no value anywhere in the figure."""
    rows = []
    for code, value, status in [("0180", 40.0, "ok"), ("0184", None, "suppressed"), ("1280", 55.0, "ok"),
                                ("0000", 45.0, "ok")]:
        rows.append({"kpi": "RLU01N", "municipality": code, "period": 2020, "gender": "T", "value": value,
                     "count": None if value is None else 20, "denominator": None if value is None else 50,
                     "lower": None if value is None else value - 10, "upper": None if value is None else value + 10,
                     "status": status})
    chart = kommun_chart(pd.DataFrame(rows), "RLU01N")
    labels = [tick.get_text() for tick in chart.figure.axes[0].get_yticklabels()]
    assert labels == ["Stockholm (0180)", "Malmö (1280)"]
    assert list(chart.data["municipality"]) == ["0180", "1280"]
    assert_drawn(image(chart.png()))


def test_figures_of_nothing_shown_say_so_instead_of_drawing(written):
    everything_hidden = written.indicators.assign(status="suppressed", value=np.nan)
    assert kommun_chart(everything_hidden, "RLU01A") is None
    trend = trend_chart(everything_hidden)
    assert trend.data.empty
    comparison = comparison_chart(everything_hidden)
    assert comparison.data.empty
    assert all(not ax.lines for ax in comparison.figure.axes)


class _Report(HTMLParser):
    """The report's images, attributes and table cells."""

    def __init__(self):
        super().__init__()
        self.images, self.attributes, self.rows, self.tags = [], [], [], set()
        self._row = None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes += [name for name, _ in attrs]
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag == "tr":
            self._row = []

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._row is not None:
            self._row.append(data)


def test_the_report_is_self_contained_and_shows_no_suppressed_value(written):
    text = (written.folder / "report.html").read_text(encoding="utf-8")
    report = _Report()
    report.feed(text)
    assert "script" not in report.tags and "title" not in report.attributes  # no code, no tooltips
    assert not re.search(r"\son\w+=", text)
    assert len(report.images) == len(written.charts)
    for src, chart in zip(report.images, [c for c in written.charts if c.name == "comparison"]
                          + [c for c in written.charts if c.name == "trend"]
                          + [c for c in written.charts if c.name.startswith("kommuner-")]):
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png == (written.folder / "figures" / f"{chart.name}.png").read_bytes()
        assert_drawn(image(png))
    # the riket share table: a suppressed cell reads "..", a shown one its value
    riket = written.indicators[written.indicators["municipality"] == "0000"].set_index(["kpi", "period", "gender"])
    titles = {(s.title.en, p.title.en): s.kpi(p) for s in definitions().shares for p in definitions().populations}
    checked = 0
    for row in report.rows:
        if len(row) == 6 and (row[0], row[1]) in titles:
            kpi, period = titles[row[0], row[1]], int(row[2])
            for gender, cell in zip("TKM", row[3:]):
                status = riket.loc[(kpi, period, gender), "status"]
                if status == "suppressed":
                    assert cell == ".."
                else:
                    assert cell.startswith(f"{riket.loc[(kpi, period, gender), 'value']:.1f} (")
                checked += 1
    assert checked >= 3 * 8


def test_the_same_extract_gives_the_same_bytes(extract, written, tmp_path):
    again = write_indicators(extract, tmp_path / "again")
    for path in written.folder.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (again.folder / path.relative_to(written.folder)).read_bytes(), path.name


def test_the_reference_year_comes_from_the_rules_the_manifest_or_the_latest_placement(written, tmp_path):
    assert written.reference_year == REFERENCE_YEAR
    assert f"Reference year: {REFERENCE_YEAR} (the extract manifest)" in (written.folder / "report.html").read_text()
    plain = read_extract(make_extract(tmp_path / "no-date", persons=500))
    dates = pd.concat([plain.placements[c] for c in ("startdatum", "slutdatum")]
                      + [plain.measures[c] for c in ("startdatum", "slutdatum")]).dropna()
    assert plain.reference_year == dates.str[:4].astype(int).max()
    assert "latest placement" in plain.reference_source
    earlier = write_indicators(plain.folder, tmp_path / "out", rules=Rules(reference_year=2019))
    assert earlier.reference_year == 2019 and earlier.indicators["period"].max() == 2019


def test_bad_extracts_and_output_folders_are_one_line_errors(extract, tmp_path):
    with pytest.raises(ReglinkError, match="no such extract folder"):
        write_indicators(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReglinkError, match="no manifest.json"):
        write_indicators(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(OutputError, match="must be outside the extract"):
        write_indicators(extract, extract / "indicators")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="was not made by `reglink indicators`"):
        write_indicators(extract, mine)
    assert (mine / "notes.txt").read_text() == "mine"
    earlier = tmp_path / "earlier"  # a folder an earlier run made is replaced, stale files and all
    earlier.mkdir()
    (earlier / MARKER).write_text("made by reglink indicators\n")
    (earlier / "figures").mkdir()
    (earlier / "figures" / "kommuner-RLX99A.png").write_bytes(b"stale")
    tiny = make_extract(tmp_path / "tiny", persons=300)
    write_indicators(tiny, earlier, rules=Rules(reference_year=REFERENCE_YEAR))
    assert (earlier / "report.html").is_file() and not (earlier / "figures" / "kommuner-RLX99A.png").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".earlier")]
    tampered = make_extract(tmp_path / "tampered", persons=300)
    persons = pq.read_table(tampered / "data" / "persons.parquet").to_pandas().iloc[1:]
    (tampered / "data" / "persons.parquet").unlink()
    write_table(persons, tampered / "data" / "persons.parquet")
    with pytest.raises(ReglinkError, match="persons.parquet"):
        write_indicators(tampered, tmp_path / "out")
    assert not (tmp_path / "out").exists()
