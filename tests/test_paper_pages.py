"""The per-paper pages (docs/papers/*.md) generated from the ledger and the published values."""

import re
from pathlib import Path

import pytest

from deepclust.io import write_csv
from deepclust.ledger import RUN_COLUMNS, build
from deepclust.ledger.paper_layout import read_spec
from deepclust.paper_values import read_paper_rows, read_paper_values

PAPER_VALUES_CSV = "workflow/resources/paper_values.csv"

PAPER_CSV = """method,dataset,metric,value,paper,table
base,d1,acc,0.81,P,table 1
base,d1,nmi,0.7,P,table 1
mine,d1,acc,0.85,P,table 1
mine,d2,acc,0.6,P,table 1
base,d2,acc,0.5,P,table 1
base,d1,acc,0.77,Q,table 9
"""

SPEC = """
P:
  title: The paper P
  cite: "A. Author. A paper. A venue, 2024."
  configs: [cfg.yaml]
  tables:
    - name: table 1
      caption: the main table
      datasets: [d1, d2]
      rows: [base, mine]
      labels: {base: Base, mine: Mine}
  epochs: {mine: 100}
  orderings:
    - [base, mine]
  not_run:
    d2: "too big for a CPU"
Q:
  title: The paper Q
  configs: [cfg.yaml]
  tables:
    - {name: table 9, caption: Q's table, datasets: [d1], rows: [base], labels: {base: Base}}
"""

CONFIG = """
seeds: [0, 1, 2]
datasets: {d1: {source: npz, path: d1.npz}, d2_big: {source: npz, path: d2.npz, paper_name: d2}}
extractors:
  pix: {model: pixels}
  net: {model: dense_ae}
  other: {model: dense_ae, epochs: 50}
clusterers: {km: {method: kmeans}}
experiments:
  base_row: {extractor: pix, clusterer: km, paper: base}
  mine: {extractor: net, clusterer: km}
  mine_v: {extractor: other, clusterer: km, paper: mine}
"""


def _row(dataset, experiment, seed, acc, *, method=None, paper_dataset=None, **extra):
    row = dict.fromkeys(RUN_COLUMNS, "")
    row.update(
        dataset=dataset,
        experiment=experiment,
        extractor=extra.pop("extractor", "net"),
        clusterer="km",
        seed=str(seed),
        method=method or experiment,
        paper_dataset=paper_dataset or dataset,
        acc=str(acc),
        nmi=str(acc - 0.1),
        uses_labels=str(extra.pop("uses_labels", False)),
        epochs=str(extra.pop("epochs", 100)),
        device="cpu",
        threads="1",
        source="fixture images",
        command=f"snakemake {experiment}",
        **extra,
    )
    return row


@pytest.fixture
def fixture(tmp_path):
    rows = [
        *(_row("d1", "base", s, a) for s, a in enumerate((0.79, 0.80, 0.81))),
        # our run of P's method trained fewer epochs than the paper states
        *(_row("d1", "mine", s, a, epochs=50) for s, a in enumerate((0.74, 0.75, 0.76))),
        # a better variant on one seed does not replace a three-seed mean
        _row("d1", "mine_v", 0, 0.95, method="mine", extractor="other"),
        # choosing with labels never fills a cell
        *(_row("d1", "mine_best", s, 0.99, method="mine", uses_labels=True) for s in range(3)),
        # the test split is its own dataset: it never stands for d1
        *(_row("d1_test", "base", s, 0.99) for s in range(3)),
    ]
    ledger = tmp_path / "runs.csv"
    write_csv(ledger, rows, RUN_COLUMNS)
    (tmp_path / "paper.csv").write_text(PAPER_CSV)
    (tmp_path / "pages.yaml").write_text(SPEC)
    (tmp_path / "cfg.yaml").write_text(CONFIG)
    return tmp_path


def _build(root: Path, check: bool = False) -> list[str]:
    return build(
        root / "runs.csv",
        root / "results.csv",
        [],
        root / "paper.csv",
        check=check,
        pages=root / "pages.yaml",
        pages_dir=root / "papers",
        base_dir=root,
    )


def test_a_page_sets_our_best_honest_mean_beside_each_published_value(fixture):
    _build(fixture)
    text = (fixture / "papers" / "P.md").read_text()
    table = text.split("## Table 1: the main table")[1].split("##")[0]
    base, mine = (line for line in table.splitlines() if line.startswith(("| Base", "| Mine")))
    # d1: 0.80 ± 0.01 beside 0.81 (gap -1.0 points), NMI too; d2 has no runs
    assert base == (
        "| Base | 0.81 / **0.800 ± 0.010** (−1.0) | 0.7 / **0.700 ± 0.010** (+0.0) | 0.5 / — | — / — |"
    )
    # the three-seed mean of `mine`, not the one-seed variant or the label-using one; marked
    assert mine.startswith("| Mine | 0.85 / **0.750 ± 0.010** (−10.0) † |")
    cells = text.split("## Cells")[1]
    assert "50 epochs (paper 100)" in cells and "`mine` on `d1`" in cells
    assert "0.99" not in text.split("## Table 1")[1]  # neither the test split nor the labels
    # the ordering the paper claims is not judged between a full run and a 50-epoch stand-in
    assert (
        "- Base < Mine on d1: **not comparable**: no runs of all on the same data and schedule"
        " (Base `base` on `d1` (100 epochs), Mine `mine` on `d1` (50 epochs)); paper 0.81 < 0.85"
    ) in text
    # a cell without runs says why and how to run it (the straight experiment, not the variant)
    missing = text.split("## Not measured")[1]
    assert "- Mine on d2: too big for a CPU; `snakemake --cores 8 --resources gpu=1" in missing
    assert "results/d2_big/net/seed{0,1,2}/km/metrics.json --configfile cfg.yaml`" in missing
    # the row's own experiment is found under another name (`base_row`, named after it by `paper`)
    assert "- Base on d2: too big for a CPU; `snakemake" in missing
    assert "results/d2_big/pix/seed{0,1,2}/km/metrics.json --configfile cfg.yaml`" in missing
    # counted over three seeds: base is within 2 points of 0.81; mine, a stand-in, is not at
    # the paper's settings
    assert "ACC cells: 4 printed, 2 measured, 2 over 3+ seeds. **1 measured at the paper's" in text
    assert "1 within 2 points of the paper, 0 more than 2 points above it" in text
    # the other paper printing the same cell is named, with its value
    assert "- 1 ACC cell of this page is printed by Q too (docs/papers/Q.md)" in text
    assert "Q's: Base on d1 (0.77)." in text


def _ordering_fixture(tmp_path, rows, spec_extra=""):
    write_csv(tmp_path / "runs.csv", rows, RUN_COLUMNS)
    (tmp_path / "paper.csv").write_text(PAPER_CSV)
    (tmp_path / "pages.yaml").write_text(SPEC.replace("  orderings:", spec_extra + "  orderings:"))
    (tmp_path / "cfg.yaml").write_text(CONFIG)
    _build(tmp_path)
    return (tmp_path / "papers" / "P.md").read_text()


def test_an_ordering_compares_runs_on_one_data_and_schedule_only(tmp_path):
    """A cell shows the row's best mean at the paper's settings and data, and a stand-in only
    where there is none (a stand-in's higher mean never hides a measurement at the paper's
    settings); the ordering compares runs on the same data and schedule: a row whose best run
    is a stand-in (other data) is compared through its run on the other rows' data where it has
    one, and not at all where it has none."""
    base = [_row("d1", "base", s, a) for s, a in enumerate((0.79, 0.80, 0.81))]
    mine = [_row("d1", "mine", s, a) for s, a in enumerate((0.70, 0.71, 0.72))]
    # mine's best mean ran on other (bigger) data than the paper's own: a stand-in
    big = [
        _row("d1_big", "mine_big", s, a, method="mine", paper_dataset="d1")
        for s, a in enumerate((0.90, 0.91, 0.92))
    ]
    native = "  native: {d1: [d1]}\n"
    text = _ordering_fixture(tmp_path, base + mine + big, native)
    assert "| Mine | 0.85 / **0.710 ± 0.010** (−14.0) |" in text  # at the paper's settings
    assert (
        "- Base < Mine on d1: **does not hold** (ours 0.800 `base`, 0.710 `mine`, on the row's"
        " own data; paper 0.81 < 0.85)"
    ) in text
    # without mine's run on d1, the two rows share no data: no verdict
    text = _ordering_fixture(tmp_path, base + big, native)
    assert "| Mine | 0.85 / **0.910 ± 0.010** (+6.0) † |" in text  # no other: the stand-in
    assert "- Base < Mine on d1: **not comparable**" in text
    assert "Mine `mine_big` on `d1_big` (100 epochs)" in text
    # the stand-in counts neither as measured at the paper's settings nor as above it
    assert "**1 measured at the paper's settings and data**" in text


def test_a_run_that_trains_nothing_is_compared_with_a_stand_in_at_its_schedule(tmp_path):
    """Pixels (no epochs) fit any schedule: beside a 50-epoch stand-in the chain is judged, and
    says at which schedule."""
    base = [_row("d1", "base", s, a, epochs="") for s, a in enumerate((0.69, 0.70, 0.71))]
    mine = [_row("d1", "mine", s, a, epochs=50) for s, a in enumerate((0.79, 0.80, 0.81))]
    text = _ordering_fixture(tmp_path, base + mine)
    assert (
        "- Base < Mine on d1: **holds** (ours 0.700 `base`, 0.800 `mine`, on the row's own data,"
        " at 50 epochs (paper 100); paper 0.81 < 0.85)"
    ) in text


def test_an_ordering_says_where_a_step_lies_inside_the_seed_spread(tmp_path):
    base = [_row("d1", "base", s, a) for s, a in enumerate((0.78, 0.80, 0.82))]
    mine = [_row("d1", "mine", s, a) for s, a in enumerate((0.79, 0.81, 0.83))]
    text = _ordering_fixture(tmp_path, base + mine)
    assert "- Base < Mine on d1: **holds**; inside the seed spread: Base → Mine (ours" in text


def test_the_index_counts_cells_far_above_the_paper_apart_from_the_reproduced(tmp_path):
    """A mean more than 2 points above the paper is a setup that differs, not a reproduction:
    counted apart from the within-2-points cells, at the paper's settings only."""
    base = [_row("d1", "base", s, a) for s, a in enumerate((0.89, 0.90, 0.91))]
    mine = [_row("d1", "mine", s, a) for s, a in enumerate((0.84, 0.85, 0.86))]
    text = _ordering_fixture(tmp_path, base + mine)
    assert "**2 measured at the paper's settings and data**" in text
    assert "1 within 2 points of the paper, 1 more than 2 points above it" in text
    index = build_index_text(tmp_path)
    assert "| [P](papers/P.md) | 4 | 2 | 2 | 1 | 1 | 0 | 2 |" in index


def build_index_text(root):
    from deepclust.ledger.papers import summary_markdown
    from deepclust.ledger.results import ledger_table, read_ledger, values_by_cell

    rows = read_paper_rows(root / "paper.csv")
    table = ledger_table(read_ledger(root / "runs.csv"), values_by_cell(rows))
    return summary_markdown(table, rows, root / "pages.yaml")


def test_a_reading_names_networks_and_clusterers_by_any_of_several_names(tmp_path):
    """A layout's reading keyed by several names marks a cell run with any of them, the
    clusterer's too (DEKM's stopping rule); it is a reading, not a stand-in."""
    base = [_row("d1", "base", s, a) for s, a in enumerate((0.79, 0.80, 0.81))]
    mine = [_row("d1", "mine", s, 0.85, extractor="other") for s in range(3)]
    readings = '  readings:\n    "net other": "another network"\n    km: "a stopping rule"\n'
    text = _ordering_fixture(tmp_path, base + mine, readings)
    cells = text.split("## Cells")[1]
    assert (
        "| Mine | d1 | `mine` on `d1` |" in cells and "another network; a stopping rule |" in cells
    )
    assert "**2 measured at the paper's settings and data**" in text


def test_a_cell_two_papers_print_is_compared_with_each_papers_own_value(fixture):
    _build(fixture)
    q = (fixture / "papers" / "Q.md").read_text()
    assert "| Base | 0.77 / **0.800 ± 0.010** (+3.0) |" in q
    # the results tables show the first-listed paper's value
    assert read_paper_values(fixture / "paper.csv")["base", "d1", "acc"]["value"] == 0.81
    assert len([r for r in read_paper_rows(fixture / "paper.csv") if r["method"] == "base"]) == 4


def test_a_stale_or_hand_edited_page_fails_the_check(fixture):
    assert str(fixture / "papers" / "P.md") in _build(fixture, check=True)
    _build(fixture)
    assert _build(fixture, check=True) == []
    page = fixture / "papers" / "P.md"
    page.write_text(page.read_text().replace("0.800 ± 0.010", "0.810 ± 0.010"))
    assert _build(fixture, check=True) == [str(page)]


def test_the_layout_names_a_bad_key(tmp_path):
    path = tmp_path / "pages.yaml"
    path.write_text("P: {title: t, configs: [], tables: [], colour: red}\n")
    with pytest.raises(ValueError, match=r"pages.yaml: P.colour: unknown key"):
        read_spec(path)
    path.write_text(
        "P: {title: t, configs: [], tables: [{name: t1, caption: c, datasets: [d], rows: [m]}]}\n"
    )
    with pytest.raises(ValueError, match=r"P t1: no label for \['m'\]"):
        read_spec(path)


def test_the_bundled_layout_matches_the_published_values():
    """Every row and dataset of every page has its published ACC in paper_values.csv."""
    repo = Path(__file__).resolve().parents[1]
    spec = read_spec(repo / "workflow/resources/paper_pages.yaml")
    rows = read_paper_rows(repo / "workflow/resources/paper_values.csv")
    printed = {(r["paper"], r["method"], r["dataset"]) for r in rows if r["metric"] == "acc"}
    laid_out = {
        (name, method, dataset)
        for name, paper in spec.items()
        for table in paper["tables"]
        for method in table["rows"]
        for dataset in table["datasets"]
    }
    assert laid_out <= printed, sorted(laid_out - printed)
    assert printed <= laid_out, sorted(printed - laid_out)  # every published cell has a page


#: what a typed measurement looks like in prose: an ACC-like decimal, a percentage, a duration
MEASURED = re.compile(
    r"(?<![\d.])\d+\.\d{2,}(?![\d.])|\d ?%|\b\d[\d,.]* ?(?:s|min|minutes|hours?|img/s)\b"
)


def test_no_measured_number_is_typed_outside_the_generated_text():
    """docs/results.md's prose (outside the ledger blocks and code) and the paper pages' notes
    quote no measurement: those come from the ledger. A published value may be quoted."""
    repo = Path(__file__).resolve().parents[1]
    text = (repo / "docs/results.md").read_text()
    prose = re.sub(r"<!-- ledger:[^>]*-->\n.*?<!-- /ledger -->", "", text, flags=re.S)
    prose = re.sub(r"```.*?```", "", prose, flags=re.S)
    assert [m.group() for m in MEASURED.finditer(prose)] == []
    published = {f"{r['value']}" for r in read_paper_rows(repo / PAPER_VALUES_CSV)}
    for name, paper in read_spec(repo / "workflow/resources/paper_pages.yaml").items():
        for note in paper.get("notes", []):
            typed = [m.group() for m in MEASURED.finditer(note) if m.group() not in published]
            assert typed == [], (name, note)


def test_the_measurement_pattern_catches_what_it_should():
    assert MEASURED.findall("ACC 0.708 in 33 minutes at 9,219 img/s, 2.3 % slower") != []
    assert [m.group() for m in MEASURED.finditer("200 epochs, batch 256, lr 0.001")] == ["0.001"]
    assert [m.group() for m in MEASURED.finditer("N(0, 0.1^2), 1,440 images, torch 2.14.1")] == []


def test_every_stand_in_cell_of_the_bundled_pages_says_so():
    """Read from the generated pages themselves: a cell whose runs trained fewer epochs than the
    paper states, or ran on other data than the row's own, says so in its "differs" column and
    is marked † in the table, and the page's count of cells at the paper's settings leaves it out."""
    repo = Path(__file__).resolve().parents[1]
    spec = read_spec(repo / "workflow/resources/paper_pages.yaml")
    names = {"MNIST": "mnist", "Fashion-MNIST": "fashion_mnist", "USPS": "usps",
             "COIL-20": "coil20", "MNIST-test": "mnist_test"}  # fmt: skip
    checked = 0
    for name, paper in spec.items():
        text = (repo / "docs/papers" / f"{name}.md").read_text()
        labels = {t["labels"][m]: m for t in paper["tables"] for m in t["rows"]}
        rows = text.split("## Cells")[1].split("\n\n")[1].splitlines()[2:]
        for row in rows:
            cols = [c.strip() for c in row.strip("|").split("|")]
            method, dataset = labels[cols[0]], names[cols[1]]
            ran_on = re.search(r"on `([^`]+)`", cols[2]).group(1)
            epochs, differs = cols[4].split(";")[0].strip(), cols[7]
            stated = (paper.get("epochs") or {}).get(method)
            if stated and epochs != "—" and int(epochs) < stated:
                assert f"{epochs} epochs (paper {stated})" in differs, (name, row)
                checked += 1
            native = paper.get("native") or {}
            own = native.get(f"{method}/{dataset}") or native.get(dataset) or [dataset]
            if ran_on not in own:
                assert f"data `{ran_on}`" in differs, (name, row)
                checked += 1
    assert checked >= 10  # the pages hold 20-epoch, 50-epoch and substitute-data cells
