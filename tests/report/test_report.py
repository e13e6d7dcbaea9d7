"""nntopo report: the page's structure, its embedded figures, its numbers against
independent computations, stores without some analyses, and bad arguments."""

import base64
import json
import os
import struct
from html.parser import HTMLParser

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from nntopo.cli import app
from nntopo.report import (SECTIONS, Note, ReportSection, Table, build_report, check_report, markdown_table)
from nntopo.report.sections import complexity_correlation, landscape_norms, region_counts
from nntopo.studies.activation_landscapes import table1, table1_markdown
from nntopo.studies.fiedler import fiedler_summary, summary_markdown
from nntopo.studies.training_topology import table2, table2_markdown
from nntopo.sweep import open_results

_VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "wbr", "source"}


class _Page(HTMLParser):
    """The parts of the report the tests look at; raises on badly nested tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags = [], []
        self.sections, self.imgs, self.urls, self.tables, self.pres = [], [], [], [], []
        self._text, self._cell, self._row = None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        for key in ("src", "href", "action", "poster", "data"):
            if key in attrs:
                self.urls.append(attrs[key])
        if tag not in _VOID:
            self.stack.append(tag)
        if tag == "section":
            self.sections.append({"id": attrs["id"], "title": None, "h3": [], "tables": [], "imgs": [],
                                  "errors": [], "notes": []})
        elif tag in ("h2", "h3", "p", "td", "th", "pre"):
            self._text = []
            if tag == "p":
                self._p_class = attrs.get("class", "")
        elif tag == "img":
            self.imgs.append(attrs)
            self.sections[-1]["imgs"].append(attrs)
        elif tag == "table":
            self.tables.append({"title": self.sections[-1]["h3"][-1], "rows": []})
            self.sections[-1]["tables"].append(self.tables[-1])
        elif tag == "tr":
            self._row = []

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()
        text = "".join(self._text).strip() if self._text is not None else None
        if tag == "h2" and self.sections:
            self.sections[-1]["title"] = text
        elif tag == "h3":
            self.sections[-1]["h3"].append(text)
        elif tag == "p" and self.sections:
            (self.sections[-1]["errors"] if "error" in self._p_class else self.sections[-1]["notes"]).append(text)
        elif tag in ("td", "th"):
            self._row.append(text)
        elif tag == "tr":
            self.tables[-1]["rows"].append(self._row)
        elif tag == "pre":
            self.pres.append(text)
        if tag in ("h2", "h3", "p", "td", "th", "pre"):
            self._text = None

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    assert page.stack == [], f"unclosed tags {page.stack}"
    return page


def _table(page: _Page, title: str) -> list[list[str]]:
    hits = [t["rows"] for t in page.tables if t["title"] == title]
    assert len(hits) == 1, f"{len(hits)} tables titled {title!r}"
    return hits[0]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def full_report(full_store, tmp_path_factory):
    path = build_report(full_store, tmp_path_factory.mktemp("page") / "full.html", strict=True)
    html = path.read_text(encoding="utf-8")
    return full_store, html, _parse(html)


def test_every_section_of_a_store_with_all_analyses(full_report):
    _, _, page = full_report
    assert [s["id"] for s in page.sections] == [s.id for s in SECTIONS]
    assert [s["title"] for s in page.sections] == [s.title for s in SECTIONS]
    assert all(not s["errors"] for s in page.sections)
    titles = [t["title"] for t in page.tables]
    for wanted in ("Table I: permutation tests between snapshots", "Table 2: loss against topology",
                   "Correlation across (network, snapshot) pairs", "Both views per snapshot", "Versions", "Run time",
                   "Machine", "Analyses"):
        assert wanted in titles
    assert any(t.startswith("Table 1: Fiedler partition at snapshot 5") for t in titles)
    assert page.tags.count("section") == len(SECTIONS) and "script" not in page.tags and "link" not in page.tags


def test_every_figure_is_an_embedded_png_and_nothing_is_fetched(full_report):
    _, html, page = full_report
    # training curves; both views (2); landscapes (Figures 2, 4, 3 and 1); complex; Fiedler (2); Betti (3)
    assert len(page.imgs) == 13
    assert any(img["alt"].startswith("Activations of network 0") for img in page.imgs)
    for img in page.imgs:
        head, _, payload = img["src"].partition(",")
        assert head == "data:image/png;base64"
        data = base64.b64decode(payload, validate=True)
        w, h = _png_size(data)
        assert w > 100 and h > 100 and (w, h) == (int(img["width"]), int(img["height"]))
        assert img["alt"]
    assert all(u.startswith("data:image/png;base64,") or u.startswith("#") for u in page.urls)
    anchors = {u[1:] for u in page.urls if u.startswith("#")}
    assert anchors == {s["id"] for s in page.sections}
    assert "http://" not in html and "https://" not in html and "url(" not in html


def test_both_views_correlation_matches_scipy(full_report):
    out, _, page = full_report
    ds = open_results(out)
    # independent: the sum over layers of the stored norms against the f-vector's last entry
    norms = ds.landscape_norm.mean("subsample").values.sum(axis=-1)
    regions = ds.f_vector.values[..., -1].astype(float)
    ok = (ds.snapshot_reached.values) & (regions >= 0) & np.isfinite(norms)
    x, y = norms[ok], regions[ok]
    assert x.size == 15  # 3 networks x 5 reached snapshots
    rows = {r[0]: r for r in _table(page, "Correlation across (network, snapshot) pairs")[1:]}
    pr, sr = stats.pearsonr(x, y), stats.spearmanr(x, y)
    pearson, spearman = rows["Pearson"], rows["Spearman (Pearson of average ranks)"]
    assert float(pearson[1]) == pytest.approx(pr.statistic, abs=5e-4) and int(pearson[3]) == x.size
    assert float(pearson[2]) == pytest.approx(pr.pvalue, rel=5e-3)
    assert float(spearman[1]) == pytest.approx(sr.statistic, abs=5e-4) and int(spearman[3]) == x.size
    assert float(spearman[2]) == pytest.approx(sr.pvalue, rel=5e-3)
    # across snapshots: the per-snapshot means over the networks with both values
    mx = np.array([norms[ok[:, j], j].mean() for j in range(ok.shape[1]) if ok[:, j].any()])
    my = np.array([regions[ok[:, j], j].mean() for j in range(ok.shape[1]) if ok[:, j].any()])
    mean_row = rows["Pearson across snapshots (means over networks)"]
    assert float(mean_row[1]) == pytest.approx(stats.pearsonr(mx, my).statistic, abs=5e-4)
    assert int(mean_row[3]) == mx.size == 5
    rank_row = rows["Spearman across snapshots (means over networks)"]
    assert float(rank_row[1]) == pytest.approx(stats.spearmanr(mx, my).statistic, abs=5e-4)


def test_the_three_complex_analyses_share_coordinates_and_the_complex(full_report):
    out, _, page = full_report
    ds = open_results(out)
    f, b, r = ds.f_vector.values, ds.betti_f_vector.values, ds.fiedler_n_regions.values
    reached = ds.snapshot_reached.values
    assert ds.f_vector.dims[:2] == ds.fiedler_n_regions.dims[:2] == ds.landscape_norm.dims[:2]
    np.testing.assert_array_equal(f, b)
    np.testing.assert_array_equal(f[..., -1][reached], r[reached])
    assert (r[~reached] == -1).all()
    # the side-by-side table: one row per reached snapshot, regions the mean of the f-vector's last entry
    rows = _table(page, "Both views per snapshot")
    header, body = rows[0], rows[1:]
    assert header == ["snapshot", "Σ norms", "regions", "Fiedler miscl. % (exact, weighted)", "b1 critical share",
                      *(f"norm {name}" for name in ds.layer.values)]
    assert [row[0] for row in body] == ["acc ≥ 0.5", "epoch 0", "epoch 2", "epoch 4", "epoch 6"]
    for row, s in zip(body, [0, 2, 3, 4, 5]):
        assert float(row[header.index("regions")]) == pytest.approx(f[:, s, -1].mean(), rel=1e-5)
        norms = ds.landscape_norm.mean("subsample").values[:, s]
        assert float(row[1]) == pytest.approx(norms.sum(axis=1).mean(), rel=1e-3)
        np.testing.assert_allclose([float(x) for x in row[5:]], norms.mean(axis=0), rtol=2e-3)
        mis = 100 * ds.fiedler_misclassification.values[:, s, 0, 1].mean()
        assert float(row[header.index("Fiedler miscl. % (exact, weighted)")]) == pytest.approx(mis, abs=0.05)


def test_tables_are_the_study_modules_tables(full_report):
    out, _, page = full_report
    ds = open_results(out)
    # Table I between the two threshold snapshots, with the report's 10,000 permutations
    expected = [item for item in markdown_table(table1_markdown(table1(out, snapshots=[0, 1], n_permutations=10_000,
                                                                          seed=0)), "x") if isinstance(item, Table)]
    assert len(expected) == 2  # the paper's triangle of p-values, then the statistic of each pair
    assert _table(page, "Table I: permutation tests between snapshots") == [list(expected[0].header),
                                                                           *map(list, expected[0].rows)]
    assert _table(page, "Table I: permutation tests between snapshots (2)") == [list(expected[1].header),
                                                                               *map(list, expected[1].rows)]
    s = int(np.flatnonzero((ds.fiedler_n_regions.values >= 0).any(axis=0))[-1])
    expected = markdown_table(summary_markdown(fiedler_summary(out, snapshot=s)), "x")[0]
    assert _table(page, f"Table 1: Fiedler partition at snapshot {s} (epoch 6)") == [
        list(expected.header), *map(list, expected.rows)]
    expected = markdown_table(table2_markdown(table2({"tiny-report": out}, max_lag=1)), "x")[0]
    assert _table(page, "Table 2: loss against topology") == [list(expected.header), *map(list, expected.rows)]
    assert any("10,000 random permutations" in n for n in page.sections[2]["notes"])


def test_config_versions_run_time(full_report):
    out, html, page = full_report
    meta = json.loads((out / "sweep.json").read_text())
    assert [json.loads(t) for t in page.pres] == [meta["config"]]
    versions = {r[0]: r[1:] for r in _table(page, "Versions")[1:]}
    for name in ("nntopo", "numpy", "torch", "scipy", "gudhi", "xarray", "zarr", "jinja2", "matplotlib"):
        assert name in versions
    assert versions["numpy"][0] == meta["versions"]["numpy"]
    run = {r[0]: r for r in _table(page, "Run time")[1:]}
    marks = list((out / "marks").glob("*/*.json"))
    assert int(run["all jobs"][1]) == len(marks)
    assert int(run["train"][1]) == 3 and int(run["landscapes"][1]) == 15
    machine = dict(r for r in _table(page, "Machine")[1:])
    assert machine["CPU cores"].startswith(str(os.cpu_count()))


def test_store_without_complex_analyses(landscapes_store, tmp_path):
    path = build_report(landscapes_store, tmp_path / "r.html", strict=True)
    page = _parse(path.read_text(encoding="utf-8"))
    assert [s["id"] for s in page.sections] == ["overview", "landscapes", "configuration", "environment"]
    assert all(not s["errors"] for s in page.sections)
    assert len(page.imgs) == 5 and all(i["src"].startswith("data:image/png;base64,") for i in page.imgs)


def test_default_path_is_in_the_folder_and_rebuilding_replaces_it(landscapes_store):
    path = build_report(landscapes_store)
    assert path == landscapes_store.resolve() / "report.html" and path.stat().st_size > 10_000
    path.write_text("old")
    assert build_report(landscapes_store) == path and path.read_text().startswith("<!DOCTYPE html>")
    assert not [p for p in landscapes_store.iterdir() if p.name.endswith(".tmp")]


def test_a_failing_section_or_figure_is_shown_not_fatal(landscapes_store, tmp_path):
    def broken(st):
        return [Table("fine", ("a",), (("1",),)), st.figure("bad figure", "", lambda: 1 / 0)]

    sections = [SECTIONS[0], ReportSection("boom", "Boom", lambda st: True, lambda st: 1 / 0),
                ReportSection("half", "Half", lambda st: True, broken),
                ReportSection("never", "Never", lambda st: False, lambda st: 1 / 0)]
    path = build_report(landscapes_store, tmp_path / "r.html", sections=sections)
    page = _parse(path.read_text(encoding="utf-8"))
    assert [s["id"] for s in page.sections] == ["overview", "boom", "half"]
    assert page.sections[1]["errors"] == ["This section could not be built: ZeroDivisionError: division by zero"]
    assert page.sections[2]["errors"] == ["The figure “bad figure” could not be drawn: ZeroDivisionError: "
                                          "division by zero"]
    assert _table(page, "fine") == [["a"], ["1"]]
    with pytest.raises(ZeroDivisionError):
        build_report(landscapes_store, tmp_path / "s.html", sections=sections, strict=True)
    assert not (tmp_path / "s.html").exists()


def test_bad_arguments_are_clear_and_write_nothing(tmp_path, landscapes_store):
    with pytest.raises(TypeError, match="out must be a str or os.PathLike"):
        build_report(3)
    with pytest.raises(FileNotFoundError, match="out: no folder at"):
        build_report(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="is not a sweep folder"):
        build_report(tmp_path / "plain")
    with pytest.raises(ValueError, match="is a file, not a sweep folder"):
        build_report(tmp_path / "plain" / "notes.txt")
    with pytest.raises(ValueError, match="path: .* is a folder"):
        build_report(landscapes_store, tmp_path)
    with pytest.raises(FileNotFoundError, match="path: the folder .* does not exist"):
        build_report(landscapes_store, tmp_path / "no" / "r.html")
    with pytest.raises(ValueError, match="n_permutations must be >= 1"):
        build_report(landscapes_store, tmp_path / "r.html", n_permutations=0)
    with pytest.raises(TypeError, match="sections must hold ReportSection"):
        build_report(landscapes_store, tmp_path / "r.html", sections=["overview"])
    assert sorted(os.listdir(tmp_path)) == ["plain"] and os.listdir(tmp_path / "plain") == ["notes.txt"]
    assert check_report(landscapes_store) == (landscapes_store.resolve(), landscapes_store.resolve() / "report.html")


def test_cli_report(landscapes_store, tmp_path):
    runner = CliRunner()
    target = tmp_path / "page.html"
    res = runner.invoke(app, ["report", str(landscapes_store), "--out", str(target), "--permutations", "100", "-q"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == f"report: {target.resolve()}" and target.stat().st_size > 10_000
    assert "100 random permutations" in target.read_text()
    for args, message in (([str(tmp_path / "missing")], "Error: STORE: no folder at"),
                          ([str(tmp_path)], "Error: STORE: " + str(tmp_path.resolve()) + " is not a sweep folder"),
                          ([str(landscapes_store), "--out", str(tmp_path)], "Error: --out: "),
                          ([str(landscapes_store), "--permutations", "0"], "Error: permutations must be >= 1")):
        res = runner.invoke(app, ["report", *args])
        assert res.exit_code == 2, res.output
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(message), res.output


# --------------------------------------------------------------------------- the helpers


def test_landscape_norms_average_every_extra_dim():
    import xarray as xr

    rng = np.random.default_rng(0)
    v = rng.random((2, 3, 4, 5))  # network, snapshot, subsample, layer
    ds = xr.Dataset({"landscape_norm": (("network", "snapshot", "subsample", "layer"), v)})
    np.testing.assert_allclose(landscape_norms(ds), v.mean(axis=2), rtol=1e-15)
    ds = xr.Dataset({"landscape_norm": (("network", "subsample", "layer", "snapshot"), v.transpose(0, 2, 3, 1))})
    np.testing.assert_allclose(landscape_norms(ds), v.mean(axis=2), rtol=1e-15)
    ds = xr.Dataset({"landscape_norm": (("network", "snapshot", "layer"), v[:, :, 0])})
    np.testing.assert_array_equal(landscape_norms(ds), v[:, :, 0])


def test_region_counts_prefer_the_polyhedral_f_vector():
    import xarray as xr

    f = np.array([[[4, 4, 1], [-1, -1, -1]]])
    ds = xr.Dataset({"fiedler_n_regions": (("network", "snapshot"), np.array([[9, -1]])),
                     "f_vector": (("network", "snapshot", "cell_dim"), f)})
    regions, source = region_counts(ds)
    np.testing.assert_array_equal(regions, [[1.0, np.nan]])
    assert source.startswith("polyhedral")
    regions, source = region_counts(ds.drop_vars("f_vector"))
    np.testing.assert_array_equal(regions, [[9.0, np.nan]]) and source == "fiedler regions"
    assert region_counts(ds.drop_vars(["f_vector", "fiedler_n_regions"])) is None


def test_complexity_correlation_against_scipy_with_ties_and_gaps():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 5, size=(4, 6)).astype(float)
    y = x + rng.normal(size=(4, 6))
    y[0, 0] = np.nan
    x[3, 5] = np.nan
    res = complexity_correlation(x, y)
    ok = np.isfinite(x) & np.isfinite(y)
    assert res["n"] == 22
    sp = stats.spearmanr(x[ok], y[ok])
    assert res["pearson"].r == pytest.approx(stats.pearsonr(x[ok], y[ok]).statistic, abs=1e-12)
    assert res["spearman"].r == pytest.approx(sp.statistic, abs=1e-12)
    assert res["spearman"].p == pytest.approx(sp.pvalue, rel=1e-9)
    few = complexity_correlation(np.array([1.0, 2.0, np.nan]), np.array([1.0, 3.0, 2.0]))
    assert few["pearson"] is None and "only 2" in few["reason"]
    flat = complexity_correlation(np.ones(5), np.arange(5.0))
    assert flat["pearson"] is None and "topological complexity is constant" in flat["reason"]


def test_markdown_table():
    items = markdown_table("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\nnote one\n", "T", "cap")
    assert items[0] == Table("T", ("a", "b"), (("1", "2"), ("3", "4")), "cap")
    assert items[1:] == [Note("note one")]
    with pytest.raises(ValueError, match="not a Markdown table"):
        markdown_table("| a | b |\n| 1 | 2 |", "T")
    with pytest.raises(ValueError, match=r"rows\[0\] has 1 cells"):
        markdown_table("| a | b |\n|---|---|\n| 1 |", "T")
