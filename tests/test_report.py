import base64
import csv
import io

import matplotlib.pyplot as plt
import numpy as np
import pytest

from deepclust import contact_sheets, plots
from deepclust.html_report import write_report
from deepclust.io import read_h5, write_h5
from deepclust.metrics import clustering_accuracy
from deepclust.stages import run_embed_2d, run_plot_run, run_plot_sweep
from deepclust.tables import add_paper_values, aggregate, write_table_csv

PNG = b"\x89PNG\r\n\x1a\n"


def test_confusion_matrix_maps_clusters_to_classes():
    truth = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    # cluster 7 is class 0, cluster 3 class 1, cluster 5 class 2; cluster 9 left over; one noise
    pred = np.array([7, 7, 3, 3, 3, 3, 5, 5, 9, -1])
    counts, rows, columns = plots.confusion_matrix_mapped(truth, pred)
    assert rows == ["0", "1", "2"] and columns == ["c7 → 0", "c3 → 1", "c5 → 2", "c9", "noise"]
    np.testing.assert_array_equal(counts, [[2, 1, 0, 0, 0], [0, 3, 0, 0, 0], [0, 0, 2, 1, 1]])
    assert np.trace(counts[:, :3]) / counts.sum() == pytest.approx(clustering_accuracy(truth, pred))


def test_every_figure_names_a_cluster_the_same_way_with_class_names_where_known():
    """The contact sheet once said "c0" where the confusion matrix said "1" for the same cluster,
    and class names stored with the data were never shown (issue 35)."""
    truth = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([4, 4, 0, 0, 0, 2])
    names = ["cat", "dog", "eel"]
    assert plots.cluster_names(pred) == {0: "c0", 2: "c2", 4: "c4"}
    assert plots.cluster_names(pred, truth, names) == {0: "c0 → dog", 2: "c2 → eel", 4: "c4 → cat"}
    counts, rows, columns = plots.confusion_matrix_mapped(truth, pred, names)
    assert rows == names and columns == ["c4 → cat", "c0 → dog", "c2 → eel"]
    few = np.array([0, 0, 0, 0, 1, 1])  # three classes, two clusters: one class unmapped
    columns = plots.confusion_matrix_mapped(truth, few, names)[2]
    assert sum(c.startswith("– → ") for c in columns) == 1 and "c1 → eel" in columns


def test_the_palette_keeps_forty_clusters_apart():
    colours = plots.palette(40)
    assert len(set(colours)) == 40
    assert plots.palette(10) == list(plt.get_cmap("tab10").colors)


def _logs(tmp_path):
    train = tmp_path / "train_log.csv"
    train.write_text(
        "epoch,loss,recon,lr,seconds,img_per_s\n1,2.0,1.5,0.001,0.1,100\n2,1.0,0.8,0.001,0.1,100\n"
    )
    refine = tmp_path / "refine_log.csv"
    refine.write_text(
        "iteration,phase,loss,changed,acc,nmi,elapsed_s\n"
        "1,warmup,3.0,0.5,0.4,0.3,1\n2,joint,2.0,0.1,0.6,0.5,2\n3,joint,1.0,0.0,0.7,0.6,3\n"
    )
    unmonitored = tmp_path / "refine_unlabelled.csv"
    unmonitored.write_text(
        "iteration,loss,changed,acc,nmi,elapsed_s\n1,3.0,0.5,,,1\n2,2.0,0.1,,,2\n"
    )
    return train, refine, unmonitored


def test_every_figure_is_a_png(tmp_path):
    train, refine, unmonitored = _logs(tmp_path)
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(30, 1, 8, 8)).astype(np.float32)
    pred = np.repeat([0, 1, -1], 10)
    truth = np.repeat([2, 0, 1], 10)
    points = rng.normal(size=(30, 2))
    outputs = {
        "confusion": lambda p: plots.confusion_figure(truth, pred, p),
        "embedding": lambda p: plots.embedding_figure(points, pred, truth, p, title="t"),
        "embedding_unlabelled": lambda p: plots.embedding_figure(points, pred, None, p),
        "samples": lambda p: contact_sheets.contact_sheet_figure(images, pred, p, per_cluster=4),
        "samples_ranked": lambda p: contact_sheets.contact_sheet_figure(
            images, pred, p, per_cluster=4, scores={"confidence": rng.uniform(size=30)}
        ),
        "training": lambda p: plots.training_figure(train, p),
        "refinement": lambda p: plots.refinement_figure(refine, p),
        "refinement_unlabelled": lambda p: plots.refinement_figure(unmonitored, p),
        "message": lambda p: plots.message_figure("nothing here", p),
    }
    for name, draw in outputs.items():
        path = tmp_path / "fig" / f"{name}.png"
        draw(path)
        assert path.read_bytes()[:8] == PNG, name
    assert sorted(p.name for p in (tmp_path / "fig").iterdir()) == sorted(
        f"{n}.png" for n in outputs
    )  # no temporary files left behind


def test_empty_log_is_an_error_naming_it(tmp_path):
    log = tmp_path / "train_log.csv"
    log.write_text("epoch,loss\n")
    with pytest.raises(ValueError, match="train_log.csv"):
        plots.training_figure(log, tmp_path / "t.png")


def test_plots_of_a_run_without_labels(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.uniform(size=(40, 1, 8, 8)).astype(np.float32)
    write_h5(tmp_path / "data.h5", {"images": images}, {"n_clusters": 2})
    write_h5(
        tmp_path / "features.h5",
        {"features": images.reshape(40, -1)},
        {"default_layer": "pixels", "layers": '["pixels"]'},
    )
    write_h5(tmp_path / "labels.h5", {"labels": np.repeat([0, 1], 20)}, {"n_clusters": 2})
    out = {k: tmp_path / f"{k}.png" for k in ("embedding", "confusion", "samples")}
    pngs = {f"{k}_png": str(p) for k, p in out.items()}
    data, embedding = str(tmp_path / "data.h5"), str(tmp_path / "embedding_2d.h5")
    run_embed_2d(str(tmp_path / "features.h5"), embedding, max_points=30)
    points, attrs = read_h5(embedding, ("points", "index"))
    assert points["points"].shape == (30, 2) and len(set(points["index"])) == 30
    assert attrs["n_samples"] == 40 and attrs["layer"] == "pixels"
    run_plot_run(data, embedding, str(tmp_path / "labels.h5"), **pngs)
    assert all(p.read_bytes()[:8] == PNG for p in out.values())
    write_h5(tmp_path / "short.h5", {"labels": np.zeros(5, dtype=int)}, {"n_clusters": 2})
    with pytest.raises(ValueError, match="short.h5.*40 labels"):
        run_plot_run(data, embedding, str(tmp_path / "short.h5"), **pngs)
    write_h5(
        tmp_path / "other.h5", {"points": np.zeros((3, 2)), "index": np.arange(3)}, {"n_samples": 3}
    )
    with pytest.raises(ValueError, match="other.h5: made for 3 samples, not 40"):
        run_plot_run(data, str(tmp_path / "other.h5"), str(tmp_path / "labels.h5"), **pngs)


def test_report_is_self_contained_and_shows_missing_metrics_as_dashes(tmp_path):
    rows = [
        {
            "dataset": "usps",
            "experiment": "sdekc_swapped",
            "seed": s,
            "acc": a,
            "nmi": 0.8,
            "ari": 0.7,
            "purity": 0.8,
            "uses_labels": False,
            "runtime_s": 10.0,
            "silhouette": 0.4,
        }
        for s, a in ((0, 0.79), (1, 0.80))
    ]
    rows.append(
        {
            "dataset": "mine",
            "experiment": "ae_kmeans",
            "seed": 0,
            "acc": None,
            "nmi": None,
            "ari": None,
            "purity": None,
            "uses_labels": False,
            "runtime_s": 1.0,
        }
    )
    table = add_paper_values(
        aggregate(rows),
        {("sdekc", "usps", "acc"): {"value": 0.8035, "paper": "SDEKC", "table": "table 3"}},
        {"sdekc_swapped": "sdekc"},
    )
    table[1]["seed_stability"] = 0.9  # usps (the table is sorted by dataset)
    write_table_csv(tmp_path / "table.csv", table)
    png = tmp_path / "fig.png"
    plots.message_figure("a figure", png)
    bench = tmp_path / "benchmarks" / "pretrain" / "usps.tsv"
    bench.parent.mkdir(parents=True)
    bench.write_text("s\th:m:s\tmax_rss\tcpu_time\n12.5\t0:00:12\t300.1\t11.0\n")
    out = tmp_path / "report.html"
    write_report(
        out,
        table_csv=tmp_path / "table.csv",
        runs=[{"name": "ae_kmeans on mine", "note": "no labels", "figures": [(png, "grid <1>")]}],
        config={"seeds": [0, 1], "datasets": {"mine": {"source": "npz"}}},
        environment={"packages": {"torch": "2.14.1"}},
        benchmarks=[bench],
        benchmark_root=tmp_path / "benchmarks",
    )
    text = out.read_text()
    assert text.count('src="data:image/png;base64,') == 1 and "grid &lt;1&gt;" in text
    assert "0.795 ± 0.007" in text and "0.8035 (-0.009)" in text and "SDEKC table 3" in text
    assert "2 (0, 1)" in text  # seeds: how many, which
    mine_row = text[text.index('<td class="text">mine</td>') :].split("</tr>")[0]
    assert mine_row.count("<td>—</td>") >= 4  # metrics skipped, not faked
    assert "pretrain/usps" in text and "12.5" in text and "torch" in text
    assert "source: npz" in text
    # choosing without labels: the scores, the stability and the pick per dataset, even
    # where there are no labels (its ACC and the best by ACC then dashes)
    choosing = text.split('<h2 id="label-free">Choosing without labels</h2>')[1].split("<h2")[0]
    assert "0.400 ± 0.000" in choosing and "<td>0.900</td>" in choosing
    pick = choosing[choosing.index("picked without labels") :]
    assert '<td class="text">sdekc_swapped</td><td class="text">the only candidate</td>' in pick
    mine_pick = pick[pick.index('<td class="text">mine</td>') :].split("</tr>")[0]
    assert '<td class="text">the only candidate</td><td>—</td><td>—</td>' in mine_pick
    with open(tmp_path / "table.csv") as f:
        assert len(list(csv.DictReader(f))) == 2


def test_sweep_figure_from_the_results_table(tmp_path):
    rows = [
        {
            "dataset": "usps",
            "experiment": f"lam-lam{lam}-n_init{n}",
            "seed": 0,
            "acc": acc,
            "nmi": 0.5,
            "ari": 0.4,
            "purity": acc,
            "uses_labels": False,
        }
        for lam, n, acc in ((0, 1, 0.6), (10, 1, 0.7), (20, 1, 0.65), (0, 5, 0.62), (10, 5, 0.71))
    ]
    rows.append({**rows[0], "experiment": "other", "acc": 0.1})
    write_table_csv(tmp_path / "table.csv", aggregate(rows))
    group = {
        f"lam-lam{lam}-n_init{n}": {"model_args.lam": lam, "params.n_init": n}
        for lam, n in ((0, 1), (10, 1), (20, 1), (0, 5), (10, 5))
    }
    out = tmp_path / "sweep.png"
    run_plot_sweep(str(tmp_path / "table.csv"), group, str(out))
    assert out.read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match="no rows for the swept"):
        run_plot_sweep(str(tmp_path / "table.csv"), {"absent-x1": {"x": 1}}, str(out))


def test_report_runs_show_each_experiments_lowest_seed_and_each_network_once():
    from deepclust.stages import report_runs

    runs = [
        {"dataset": "d", "experiment": e, "extractor": x, "clusterer": c, "seed": s}
        for e, x, c in (("ae_km", "ae", "km"), ("ae_dekm", "ae", "dekm"), ("px_km", "px", "km"))
        for s in (2, 1)
    ]
    sections = report_runs(
        runs,
        sweeps={"sw"},
        refining={"dekm"},
        trained={"ae"},
        name="own",
    )
    assert [s["name"] for s in sections] == [
        "Sweeps",
        "Networks x clusterers",
        "ae_dekm on d",
        "ae_km on d",
        "px_km on d",
    ]
    assert sections[0]["figures"] == [["results/reports/own/plots/sweep_sw.png", "sweep of sw"]]
    assert [png for png, _ in sections[1]["figures"]] == [
        "results/reports/own/plots/crossover_d.png"
    ]
    figures = {s["name"]: [png for png, _ in s["figures"]] for s in sections[2:]}
    assert all("seed1" in png for pngs in figures.values() for png in pngs)  # the lowest seed
    assert "results/d/ae/seed1/dekm/plots/refinement.png" in figures["ae_dekm on d"]
    training = [png for pngs in figures.values() for png in pngs if png.endswith("training.png")]
    assert training == ["results/d/ae/seed1/plots/training.png"]  # once per network, not per row
    assert "of 2 seeds" in sections[2]["note"]


def test_crossover_heatmap_cells_and_the_published_pairing(tmp_path):
    from deepclust.io import write_csv
    from deepclust.stages import run_plot_crossover
    from deepclust.stages.figures import crossover_cells

    runs = [
        ("usps", "dekm", "cae", "dekm", 0, 0.80),
        ("usps", "dekm", "cae", "dekm", 1, 0.82),
        ("usps", "cae_kmeans", "cae", "kmeans", 0, 0.70),
        ("usps", "cae_kmeans", "cae", "kmeans", 1, 0.72),
        ("usps", "ae_kmeans+n2d", "ae", "kmeans", 0, 0.75),  # one run, two experiments
        ("mine", "ae_kmeans", "ae", "kmeans", 0, ""),  # no labels
    ]
    keys = ("dataset", "experiment", "extractor", "clusterer", "seed", "acc")
    write_csv(tmp_path / "summary.csv", [dict(zip(keys, r, strict=True)) for r in runs], keys)
    table = [  # cae_kmeans is the most modular on the pixel graph: the label-free pick
        {"dataset": "usps", "experiment": "dekm", "acc_paper": "0.79", "modularity_mean": "0.5"},
        {"dataset": "usps", "experiment": "cae_kmeans", "acc_paper": "", "modularity_mean": "0.7"},
        {"dataset": "usps", "experiment": "ae_kmeans+n2d", "acc_paper": "0.9"},
    ]
    write_csv(
        tmp_path / "table.csv", table, ["dataset", "experiment", "acc_paper", "modularity_mean"]
    )
    cells, extractors, clusterers = crossover_cells(
        tmp_path / "summary.csv", tmp_path / "table.csv", "usps"
    )
    assert (extractors, clusterers) == (["ae", "cae"], ["dekm", "kmeans"])
    assert cells["cae", "dekm"]["mean"] == pytest.approx(0.81) and cells["cae", "dekm"]["n"] == 2
    assert cells["cae", "dekm"]["paper"] and cells["ae", "kmeans"]["paper"]
    assert not cells["cae", "kmeans"]["paper"] and ("ae", "dekm") not in cells  # not run
    assert [k for k, c in cells.items() if c["picked"]] == [("cae", "kmeans")]
    for dataset in ("usps", "mine"):  # the unlabelled one says why it has no heatmap
        out = tmp_path / f"crossover_{dataset}.png"
        run_plot_crossover(tmp_path / "summary.csv", tmp_path / "table.csv", dataset, out)
        assert out.read_bytes().startswith(PNG)


def test_crossover_heatmap_follows_the_grids_order(tmp_path, monkeypatch):
    """Rows and columns as the config's crossover lists them; pairs outside it follow, sorted."""
    from deepclust import plots
    from deepclust.io import write_csv
    from deepclust.stages import run_plot_crossover

    keys = ("dataset", "experiment", "extractor", "clusterer", "seed", "acc")
    pairs = [("z_net", "kmeans"), ("a_net", "kmeans"), ("a_net", "dekm"), ("m_net", "idec")]
    runs = [("d", f"{e}.{c}", e, c, 0, 0.5) for e, c in pairs]
    write_csv(tmp_path / "summary.csv", [dict(zip(keys, r, strict=True)) for r in runs], keys)
    write_csv(tmp_path / "table.csv", [], ["dataset", "experiment", "acc_paper"])
    seen = {}
    monkeypatch.setattr(
        plots,
        "crossover_figure",
        lambda cells, rows, cols, out, **kw: seen.update(rows=rows, cols=cols),
    )
    order = {"extractors": ["z_net", "a_net"], "clusterers": ["kmeans", "dekm"]}
    run_plot_crossover(
        tmp_path / "summary.csv", tmp_path / "table.csv", "d", tmp_path / "x.png", order
    )
    assert seen == {"rows": ["z_net", "a_net", "m_net"], "cols": ["kmeans", "dekm", "idec"]}


def test_the_heatmap_explains_only_the_marks_it_draws():
    from deepclust.stages.figures import crossover_title

    plain = {("a", "km"): {"mean": 0.5, "paper": False, "picked": False}}
    assert crossover_title("own", plain) == "own: mean ACC over seeds"
    marked = {**plain, ("b", "km"): {"mean": 0.6, "paper": True, "picked": True}}
    assert crossover_title("usps", marked).endswith(
        "(red: published pairing; dashed: label-free pick)"
    )


def test_a_large_figure_is_inlined_as_jpeg_and_a_small_one_as_png(tmp_path):
    """A report of 400 own images was 39.9 MB, most of it sample grids inlined as PNG (issue 35)."""
    from PIL import Image

    from deepclust.html_report import MAX_PNG_BYTES, image_tag

    noise = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "photos.png")
    assert (tmp_path / "photos.png").stat().st_size > MAX_PNG_BYTES
    big = image_tag(tmp_path / "photos.png", "grid")
    assert 'src="data:image/jpeg;base64,' in big
    assert len(big) < (tmp_path / "photos.png").stat().st_size
    Image.fromarray(noise[:20, :20]).save(tmp_path / "small.png")
    assert 'src="data:image/png;base64,' in image_tag(tmp_path / "small.png", "plot")
    # a plot (a 40-class confusion matrix): a PNG on a palette, well under half its file
    truth = np.repeat(np.arange(40), 10)
    plots.confusion_figure(truth, np.roll(truth, 3), tmp_path / "confusion.png")
    tag = image_tag(tmp_path / "confusion.png", "confusion")
    payload = base64.b64decode(tag.split("base64,")[1].split('"')[0])
    assert Image.open(io.BytesIO(payload)).mode == "P"  # still a PNG, on 256 colours
    assert len(payload) < 0.5 * (tmp_path / "confusion.png").stat().st_size


def test_the_report_writes_the_config_without_anchors_and_hides_empty_optional_columns(tmp_path):
    """A shared value (``betas``) was dumped as ``&id001`` / ``*id001``, and three all-dash paper
    columns of own data pushed the table past 1400 px (issue 35)."""
    rows = [
        {"dataset": "mine", "experiment": "ae_kmeans", "seed": s, "acc": None, "nmi": None}
        for s in (0, 1)
    ]
    write_table_csv(tmp_path / "table.csv", aggregate(rows))
    betas = [0.9, 0.999]
    out = tmp_path / "report.html"
    config = {"extractors": {"a": {"betas": betas}, "b": {"betas": betas}}}
    write_report(out, table_csv=tmp_path / "table.csv", runs=[], config=config)
    text = out.read_text()
    assert "&amp;id" not in text and "*id" not in text and text.count("- 0.999") == 2
    results = text.split('<h2 id="results">Results over seeds</h2>')[1].split("<h2")[0]
    assert "paper ACC" not in results and "paper, table" not in results
    assert "dead code units" not in results and "<th>ACC</th>" in results


def test_the_report_has_contents_one_seeds_values_without_a_spread_and_says_what_dead_units_are(
    tmp_path,
):
    """A reader's complaints (issue 50): "± 0.000" with one seed read as measured, the dead-units
    column was unexplained, a pixels extractor showed epochs and lr, and nothing linked the
    sections."""
    one = [{"dataset": "d", "experiment": "one", "seed": 0, "acc": 0.5, "silhouette": 0.2}]
    two = [
        {"dataset": "d", "experiment": "two", "seed": s, "acc": 0.6, "dead_share": 0.25}
        for s in (0, 1)
    ]
    write_table_csv(tmp_path / "table.csv", aggregate(one + two))
    config = {
        "extractors": {
            "pixels": {"model": "pixels", "epochs": 100, "lr": 0.001, "feature_batch_size": 512},
            "ae": {"model": "dense_ae", "epochs": 7},
        }
    }
    write_report(tmp_path / "r.html", table_csv=tmp_path / "table.csv", runs=[], config=config)
    text = (tmp_path / "r.html").read_text()
    for anchor in ("results", "label-free", "runs", "runtimes", "config"):
        assert f'href="#{anchor}"' in text and f'<h2 id="{anchor}">' in text
    results = text.split('<h2 id="results">')[1].split("<h2")[0]
    rows = {r.split("</td>")[1]: r for r in results.split("<tr>") if "<td" in r}
    assert (
        "<td>0.500</td>" in rows['<td class="text">one'] and "±" not in rows['<td class="text">one']
    )
    assert "0.600 ± 0.000" in rows['<td class="text">two']  # two seeds: a spread measured
    assert "Dead code units: the share of the network's code" in text
    shown = text.split('<h2 id="config">')[1]
    assert "epochs: 7" in shown and "epochs: 100" not in shown and "feature_batch_size" in shown


@pytest.fixture
def drawn(monkeypatch):
    """The figures a plot function draws, kept open for the test to read instead of saved."""
    figures = []
    keep = lambda fig, path, dpi=110: figures.append(fig)  # noqa: E731
    monkeypatch.setattr(plots, "save_figure", keep)
    monkeypatch.setattr(contact_sheets, "save_figure", keep)
    yield figures
    plt.close("all")


def test_a_loss_term_equal_to_the_loss_is_one_curve_named_with_it(tmp_path, drawn):
    """A plain AE logs mse = loss: two exactly overlapping curves once (issue 35)."""
    log = tmp_path / "train_log.csv"
    log.write_text("epoch,loss,mse,lr\n1,0.5,0.5,0.001\n2,0.25,0.25,0.001\n3,0.2,0.2,0.001\n")
    plots.training_figure(log, tmp_path / "loss.png")
    (ax,) = drawn[0].axes
    assert [line.get_label() for line in ax.get_lines()] == ["loss (= mse)"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss (= mse)"]
    log.write_text("epoch,loss,mse,sparsity,lr\n1,0.6,0.5,0.1,0.001\n2,0.3,0.25,0.05,0.001\n")
    plots.training_figure(log, tmp_path / "loss.png")
    assert [line.get_label() for line in drawn[1].axes[0].get_lines()] == [
        "loss",
        "mse",
        "sparsity",
    ]


def test_the_refinement_curve_starts_at_the_first_iteration_that_can_change_labels(tmp_path, drawn):
    """Iteration 0 has no previous labels; it once drew "100 % changed" (issue 35)."""
    log = tmp_path / "refine_log.csv"
    log.write_text("iteration,changed,acc,nmi\n0,1.0,0.5,0.4\n1,0.2,0.6,0.5\n2,0.05,0.62,0.52\n")
    plots.refinement_figure(log, tmp_path / "refine.png")
    changed, monitored = drawn[0].axes[:2]
    (curve,) = changed.get_lines()
    np.testing.assert_array_equal(curve.get_xdata(), [1, 2])
    np.testing.assert_allclose(curve.get_ydata(), [20.0, 5.0])
    assert [line.get_label() for line in monitored.get_lines()] == ["ACC", "NMI"]
    np.testing.assert_array_equal(monitored.get_lines()[0].get_xdata(), [0, 1, 2])


def test_a_contact_sheet_shows_each_clusters_nearest_then_farthest_members(drawn):
    """Image i is filled with i / 10; cluster 0 holds 0..5 at distances 5, 4, .., 0 and cluster 1
    holds 6..9; noise has no score. A row: nearest members left, farthest right, a gap between."""
    images = (np.arange(12, dtype=np.float32) / 10)[:, None, None, None] * np.ones((1, 1, 2, 2))
    pred = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, -1, -1])
    distance = np.array([5, 4, 3, 2, 1, 0, 0.1, 0.2, 0.3, 0.4, np.nan, np.nan])
    contact_sheets.contact_sheet_figure(
        images, pred, "x.png", per_cluster=4, scores={"distance": distance, "confidence": None}
    )
    (fig,) = drawn
    rows = np.asarray(fig.axes).reshape(3, 5)  # 3 clusters, 4 images and the gap

    def shown(row):
        return [
            round(float(ax.images[0].get_array()[0, 0]) * 10) if ax.images else None for ax in row
        ]

    assert shown(rows[0]) == [5, 4, None, 1, 0]  # nearest two, gap, farthest two
    assert shown(rows[1]) == [6, 7, 8, 9, None]  # four members fit: all, nearest first
    assert sorted(v for v in shown(rows[2]) if v is not None) == [10, 11]  # noise: unranked
    assert "nearest the centre" in fig._suptitle.get_text()


def test_38_clusters_legend_beside_the_scatter_and_a_contact_sheet_without_a_blank_band(drawn):
    """A reader's complaints (issue 50): a 38-entry legend covered the UMAP scatter, and a
    38-cluster contact sheet began under a blank band inches high."""
    rng = np.random.default_rng(0)
    pred = np.arange(380) % 38
    plots.embedding_figure(rng.normal(size=(380, 2)), pred, pred, "e.png")
    fig = drawn[-1]
    fig.canvas.draw()
    for ax in fig.axes:
        legend = ax.get_legend().get_window_extent()
        assert legend.x0 >= ax.get_window_extent().x1 - 1  # beside the panel, not on it
    plots.embedding_figure(rng.normal(size=(30, 2)), pred[:30] % 3, None, "few.png")
    (ax,) = drawn[-1].axes
    drawn[-1].canvas.draw()
    assert ax.get_window_extent().contains(*ax.get_legend().get_window_extent().p0)  # inside

    images = rng.uniform(size=(380, 1, 4, 4)).astype(np.float32)
    contact_sheets.contact_sheet_figure(
        images, pred, "s.png", per_cluster=4, scores={"distance": rng.uniform(size=380)}
    )
    fig = drawn[-1]
    top_row = max(ax.get_position().y1 for ax in fig.axes)
    assert (1 - top_row) * fig.get_figheight() <= 0.35  # inches above the first row: the caption
    label = next(t for t in fig.axes[0].texts)
    assert label.get_fontsize() >= 10


def test_a_sample_grid_of_many_clusters_shows_fewer_per_cluster():
    """40 people x 10 photos drew all 400 photos in every experiment's grid (issue 35)."""
    from deepclust.stages.figures import samples_per_cluster

    assert [samples_per_cluster(k) for k in (2, 10, 16, 20, 40, 200)] == [10, 10, 10, 8, 4, 4]
