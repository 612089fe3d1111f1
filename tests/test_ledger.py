"""The run ledger (docs/runs.csv) and the results tables generated from it."""

import json
from pathlib import Path

import numpy as np
import pytest

from deepclust.io import read_csv, write_h5
from deepclust.ledger import (
    RESULT_COLUMNS,
    RUN_COLUMNS,
    build,
    main,
    parse_filters,
    record_runs,
)

REPO = Path(__file__).resolve().parents[1]


def _run(results: Path, extractor: str, clusterer: str, seed: int, acc: float, **extra) -> Path:
    """A run's metrics.json with the training log, pretraining log and benchmark beside it."""
    run_dir = results / "usps" / extractor / f"seed{seed}"
    (run_dir / clusterer).mkdir(parents=True, exist_ok=True)
    (run_dir / "train_log.csv").write_text(
        "epoch,loss\n" + "".join(f"{e},{1 / e}\n" for e in range(1, 6))
    )
    log = results / "logs" / "pretrain" / "usps" / extractor / f"seed{seed}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {"device": "cpu", "torch_threads": 1}
    log.write_text(
        f"2026-11-27 INFO pretraining ...\n2026-11-27 INFO environment: {json.dumps(env)}\n"
    )
    bench = results / "benchmarks" / "pretrain" / "usps" / extractor / f"seed{seed}.tsv"
    bench.parent.mkdir(parents=True, exist_ok=True)
    bench.write_text(f"s\th:m:s\tmax_rss\n{100 + seed}.5\t0:01:40\t300\n")
    record = {
        "experiment": extra.pop("experiment", f"{extractor}_{clusterer}"),
        "dataset": "usps",
        "extractor": extractor,
        "clusterer": clusterer,
        "seed": seed,
        "uses_labels": extra.pop("uses_labels", False),
        "runtime_s": 2.0,
        "metrics": {"acc": acc, "nmi": acc - 0.1, "ari": 0.5, "purity": acc},
        **extra,
    }
    path = run_dir / clusterer / "metrics.json"
    path.write_text(json.dumps(record))
    return path


def _refinement(iterations: int, start: float, best: float) -> dict:
    """A refiner's block of metrics.json: iterations, its K-means start, the best epoch by ACC."""
    return {
        "iterations": iterations,
        "init_metrics": {"acc": start},
        "best_monitored_acc_uses_labels": best,
    }


def _config():
    return {
        "experiments": {"ae_gcn": {"extractor": "ae", "clusterer": "gcn", "paper": "sddecc"}},
        "datasets": {"usps": {"source": "npz"}},
    }


def _paper(tmp_path: Path) -> Path:
    path = tmp_path / "paper.csv"
    path.write_text(
        "# comment\nmethod,dataset,metric,value,paper,table\n"
        "sddecc,usps,acc,0.7986,SDDECC,table 3\nsddecc,usps,nmi,0.8142,SDDECC,table 3\n"
    )
    return path


def test_record_reads_the_files_beside_each_run_and_replaces_rerecorded_rows(tmp_path):
    results, ledger = tmp_path / "results", tmp_path / "runs.csv"
    refinement = _refinement(100, start=0.70, best=0.81)
    for seed, acc in enumerate((0.78, 0.80)):
        _run(
            results, "ae", "gcn", seed, acc, experiment="ae_gcn", refinement=refinement,
            pretraining={"device": "cpu", "precision": "bf16-autocast"},
        )  # fmt: skip
    record_runs([results / "usps" / "ae"], ledger, config=_config(), command="cmd A", source="src")
    rows = read_csv(ledger)
    assert list(rows[0]) == RUN_COLUMNS and len(rows) == 2
    first = rows[0]
    assert first["method"] == "sddecc" and first["experiment"] == "ae_gcn"
    assert first["epochs"] == "5" and first["device"] == "cpu" and first["threads"] == "1"
    assert float(first["pretrain_s"]) == 100.5 and float(first["best_epoch_acc"]) == 0.81
    assert float(first["init_acc"]) == 0.70 and first["command"] == "cmd A"
    assert first["train_final"] == "loss=0.2"  # the last epoch's loss terms
    assert first["precision"] == "bf16-autocast"  # metrics.json's pretraining block

    _run(results, "ae", "gcn", 1, 0.90, experiment="old_name", refinement=refinement)
    record_runs(
        [results / "usps/ae/seed1/gcn/metrics.json"],
        ledger,
        config=_config(),
        command="B",
        source="",
    )
    rows = read_csv(ledger)
    assert len(rows) == 2  # the config's current name, not the one the run was made under
    assert [(r["seed"], float(r["acc"]), r["command"]) for r in rows] == [
        ("0", 0.78, "cmd A"),
        ("1", 0.90, "B"),
    ]
    # a run is its files: recorded under another name (no config here), it still replaces its row
    record_runs([results / "usps/ae/seed1/gcn"], ledger, command="C", source="")
    rows = read_csv(ledger)
    assert sorted((r["seed"], r["experiment"], r["command"]) for r in rows) == [
        ("0", "ae_gcn", "cmd A"),
        ("1", "old_name", "C"),
    ]


def test_a_resumed_pretraining_counts_the_earlier_attempts_epochs(tmp_path):
    """The benchmark holds only the job that finished; a run resumed at epoch 3 of 5 also trained
    epochs 1-3 in an earlier attempt, whose seconds the training log keeps."""
    results, ledger = tmp_path / "results", tmp_path / "runs.csv"
    _run(results, "ae", "kmeans", 0, 0.7)
    _run(results, "ae", "kmeans", 1, 0.7)
    for seed in (0, 1):
        (results / f"usps/ae/seed{seed}/train_log.csv").write_text(
            "epoch,loss,seconds\n" + "".join(f"{e},{1 / e},{10 * e}\n" for e in range(1, 6))
        )
    log = results / "logs/pretrain/usps/ae/seed1.log"
    log.write_text(log.read_text() + "INFO resuming from x/checkpoint.pt at epoch 3\n")
    record_runs([results], ledger, command="c", source="")
    seconds = {r["seed"]: float(r["pretrain_s"]) for r in read_csv(ledger)}
    assert seconds == {"0": 100.5, "1": 101.5 + 10 + 20 + 30}


def test_record_counts_the_dead_units_of_every_feature_layer(tmp_path):
    results, ledger = tmp_path / "results", tmp_path / "runs.csv"
    _run(results, "ascae", "kmeans", 0, 0.7)
    f = np.abs(np.random.default_rng(0).normal(size=(20, 4)))
    f[:, [1, 3]] = 0.0  # never fire
    d2 = -1.0 - np.abs(np.random.default_rng(1).normal(size=(20, 2)))  # negative, but varies
    d2[:, 0] = 0.0  # constant: dead
    write_h5(
        results / "usps/ascae/seed0/features.h5",
        {"features": f, "layers/D2": d2},
        {"default_layer": "F"},
    )
    record_runs([results], ledger, command="c", source="")
    assert read_csv(ledger)[0]["dead_units"] == "D2=1/2 F=2/4"


def test_record_keeps_every_kmeans_run_of_a_label_using_selection(tmp_path):
    results, ledger = tmp_path / "results", tmp_path / "runs.csv"
    runs = [{"seed": 1, "inertia": 5.0, "acc": 0.6}, {"seed": 2, "inertia": 4.0, "acc": 0.7}]
    _run(results, "ae", "best50", 0, 0.7, uses_labels=True, runs=runs)
    record_runs([results], ledger, command="c", source="")
    (row,) = read_csv(ledger)
    assert row["uses_labels"] == "True" and row["kmeans_runs_acc"] == "0.6000 0.7000"
    doc = tmp_path / "r.md"
    doc.write_text("<!-- ledger: experiment=ae_best50 show=runs -->\n<!-- /ledger -->\n")
    build(ledger, tmp_path / "r.csv", [doc], _paper(tmp_path))
    line = doc.read_text().splitlines()[3]
    # one seed: the value alone, no spread; the candidates' min / median / max beside it
    assert line.startswith("| ae_best50 (**uses labels**) | usps | — / — | 0.700 | 0.600 |")
    assert "| 2: 0.600 / 0.650 / 0.700 |" in line


def test_a_block_can_show_the_clusters_each_seed_found(tmp_path):
    """DBSCAN finds its own number of clusters: ``show=clusters`` puts it beside the ACC."""
    results, ledger = tmp_path / "results", tmp_path / "runs.csv"
    for seed, found in enumerate((7, 10)):
        metrics = {"acc": 0.7, "nmi": 0.6, "ari": 0.5, "purity": 0.7, "n_clusters_found": found}
        _run(results, "ae", "dbscan", seed, 0.7, metrics=metrics)
    record_runs([results], ledger, command="c", source="")
    doc = tmp_path / "r.md"
    doc.write_text("<!-- ledger: experiment=ae_dbscan show=clusters -->\n<!-- /ledger -->\n")
    build(ledger, tmp_path / "r.csv", [doc], _paper(tmp_path))
    header, _, line = doc.read_text().splitlines()[1:4]
    assert "| clusters found per seed |" in header and "| 7 10 |" in line


def test_record_without_runs_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no metrics.json under"):
        record_runs([tmp_path], tmp_path / "runs.csv", command="c", source="")


def test_build_writes_results_csv_and_regenerates_only_the_marked_blocks(tmp_path):
    results, ledger = tmp_path / "results", tmp_path / "runs.csv"
    refinement = _refinement(9, start=0.7, best=0.85)
    for seed, acc in enumerate((0.78, 0.80, 0.82)):
        _run(results, "ae", "gcn", seed, acc, experiment="ae_gcn", refinement=refinement)
        _run(results, "ae", "kmeans", seed, 0.7)
    record_runs([results], ledger, config=_config(), command="snakemake x", source="USPS")
    doc = tmp_path / "results.md"
    doc.write_text(
        "# typed prose stays\n\n<!-- ledger: dataset=usps experiment=ae_gcn,ae_kmeans show=train -->\n"
        "| stale |\n<!-- /ledger -->\n\nafter\n"
    )
    out_csv = tmp_path / "results.csv"
    kwargs = dict(ledger=ledger, results_csv=out_csv, markdown=[doc], paper=_paper(tmp_path))

    assert build(**kwargs, check=True) == [str(out_csv), str(doc)]
    assert not out_csv.exists() and "| stale |" in doc.read_text()
    assert build(**kwargs) == [str(out_csv), str(doc)]
    assert build(**kwargs, check=True) == []

    rows = read_csv(out_csv)
    assert list(rows[0]) == RESULT_COLUMNS
    gcn = next(r for r in rows if r["variant"] == "ae_gcn")
    assert gcn["method"] == "sddecc" and float(gcn["paper_acc"]) == 0.7986
    assert float(gcn["acc_mean"]) == pytest.approx(0.80)
    assert float(gcn["acc_std"]) == pytest.approx(0.02)
    assert gcn["seeds"] == "0 1 2" and gcn["epochs"] == "5" and gcn["uses_labels"] == "False"
    assert float(gcn["best_epoch_acc_mean"]) == 0.85

    text = doc.read_text()
    assert text.startswith("# typed prose stays") and text.endswith("after\n")
    table = text.split("-->\n", 1)[1].split("<!-- /ledger")[0]
    lines = table.splitlines()
    assert "best epoch ACC (**uses labels**)" in lines[0] and "K-means start ACC" in lines[0]
    assert lines[2].startswith("| ae_gcn | usps | 0.7986 / 0.8142 | 0.800 ± 0.020 |")
    assert "0.780 0.800 0.820" in lines[2]
    assert lines[3].startswith("| ae_kmeans | usps | — / — | 0.700 ± 0.000 |")
    assert "Command: `snakemake x`" in table
    assert "| final training loss terms |" in lines[0] and "| loss=0.2 |" in lines[2]
    assert "| 5 + 9 it. |" in lines[2] and "| 5 |" in lines[3]  # a refiner's iterations


def test_a_block_that_matches_nothing_or_a_bad_filter_is_named(tmp_path):
    ledger = tmp_path / "runs.csv"
    _run(tmp_path / "results", "ae", "kmeans", 0, 0.7)
    record_runs([tmp_path / "results"], ledger, command="c", source="")
    doc = tmp_path / "r.md"
    doc.write_text("<!-- ledger: experiment=nothing -->\n<!-- /ledger -->\n")
    with pytest.raises(ValueError, match="r.md: ledger block 'experiment=nothing' matches no runs"):
        build(ledger, tmp_path / "o.csv", [doc], _paper(tmp_path))
    with pytest.raises(ValueError, match="ledger block filter 'seed=1'"):
        parse_filters("seed=1")
    with pytest.raises(ValueError, match="show takes train, dead"):
        parse_filters("show=everything")


def test_the_committed_results_are_generated_from_the_committed_ledger(tmp_path, capsys):
    """docs/results.csv, the generated tables of docs/results.md and the paper pages
    docs/papers/*.md match docs/runs.csv: a typed number in a generated table or page, or a run
    recorded without rebuilding, fails here."""
    code = main(
        [
            "build",
            "--check",
            "--ledger",
            str(REPO / "docs/runs.csv"),
            "--csv",
            str(REPO / "docs/results.csv"),
            "--markdown",
            str(REPO / "docs/results.md"),
            "--paper",
            str(REPO / "workflow/resources/paper_values.csv"),
            "--pages",
            str(REPO / "workflow/resources/paper_pages.yaml"),
            "--pages-dir",
            str(REPO / "docs/papers"),
            "--root",
            str(REPO),
        ]
    )
    assert code == 0, capsys.readouterr().out


def _labels(metrics_json: Path, labels) -> None:
    write_h5(metrics_json.parent / "labels.h5", {"labels": np.asarray(labels)})


def _pixel_graph(results: Path, pairs) -> None:
    """The dataset's pixel kNN graph file as the graph stage writes it (the pick's graph)."""
    from deepclust.label_free import PICK_GRAPH

    edges = np.array(
        [
            [a for a, b in pairs] + [b for a, b in pairs],
            [b for a, b in pairs] + [a for a, b in pairs],
        ]
    )
    graph = results / "usps" / "graphs" / f"knn{PICK_GRAPH['k']}_{PICK_GRAPH['metric']}.h5"
    graph.parent.mkdir(parents=True, exist_ok=True)
    write_h5(graph, {"edge_index": edges}, {**PICK_GRAPH, "n_samples": 4})


def test_record_keeps_label_free_scores_and_the_seed_stability_of_the_cell(tmp_path):
    results, ledger = tmp_path / "results", tmp_path / "runs.csv"
    scores = {"silhouette": 0.4, "calinski_harabasz": 120.0, "davies_bouldin": 0.9}
    for seed, labels in enumerate([[0, 0, 1, 1], [1, 1, 0, 0], [0, 1, 0, 1]]):
        _labels(_run(results, "ae", "km", seed, 0.8, label_free=scores), labels)
    record_runs([results / "usps"], ledger, command="c", source="s")
    rows = read_csv(ledger)
    assert float(rows[0]["silhouette"]) == 0.4 and float(rows[0]["davies_bouldin"]) == 0.9
    # seeds 0 and 1 agree up to renaming (ARI 1), seed 2 splits both: ARI -0.5 with each
    expected = (1.0 - 0.5 - 0.5) / 3
    assert {round(float(r["seed_stability"]), 6) for r in rows} == {round(expected, 6)}
    assert {r["modularity"] for r in rows} == {""}  # no pixel graph built: none
    # with the dataset's pixel graph (0-1 and 2-3 neighbours), each partition's modularity on it
    _pixel_graph(results, [(0, 1), (2, 3)])
    record_runs([results / "usps"], ledger, command="c", source="s")
    modularity = {r["seed"]: float(r["modularity"]) for r in read_csv(ledger)}
    assert modularity == {
        "0": pytest.approx(0.5),
        "1": pytest.approx(0.5),
        "2": pytest.approx(-0.5),
    }


def test_record_keep_names_refreshes_a_shared_run_under_the_name_it_had(tmp_path):
    results, ledger = tmp_path / "results", tmp_path / "runs.csv"
    first = _run(results, "ae", "km", 0, 0.8, experiment="")
    method = {
        "experiments": {"ae_km": {"extractor": "ae", "clusterer": "km"}},
        "datasets": {"usps": {}},
    }
    record_runs([first], ledger, config=method, command="method config", source="s")
    _labels(first, [0, 0, 1, 1])
    _labels(
        _run(results, "ae", "km", 1, 0.7, experiment="", label_free={"silhouette": 0.3}),
        [1, 1, 0, 0],
    )
    grid = {
        "experiments": {"ae.km": {"extractor": "ae", "clusterer": "km"}},
        "datasets": {"usps": {}},
    }
    new = record_runs(
        [results / "usps"], ledger, config=grid, command="crossover", source="x", keep_names=True
    )
    assert [r["seed"] for r in new] == [0, 1]
    rows = {r["seed"]: r for r in read_csv(ledger)}
    assert (rows["0"]["experiment"], rows["0"]["command"]) == ("ae_km", "method config")
    assert float(rows["0"]["seed_stability"]) == 1.0  # measured again: now two seeds to compare
    assert (rows["1"]["experiment"], rows["1"]["command"]) == ("ae.km", "crossover")
    assert float(rows["1"]["silhouette"]) == 0.3


def test_a_ledger_written_before_the_label_free_columns_still_reads_one_without_others_fails(
    tmp_path,
):
    from deepclust.ledger import read_ledger
    from deepclust.ledger.consensus_rows import read_consensus
    from deepclust.ledger.runs import LATER_COLUMNS

    old = [c for c in RUN_COLUMNS if c not in LATER_COLUMNS]
    path = tmp_path / "runs.csv"
    path.write_text(
        ",".join(old) + "\n" + ",".join("1" if c == "seed" else "x" for c in old) + "\n"
    )
    (row,) = read_ledger(path)
    assert row["silhouette"] == "" and row["seed_stability"] == "" and row["seed"] == "1"
    assert row["precision"] == ""
    path.write_text("dataset,seed\nusps,0\n")
    with pytest.raises(ValueError, match="missing column"):
        read_ledger(path)
    consensus = tmp_path / "consensus.csv"
    consensus.write_text("dataset,extractor,clusterer,acc\nusps,ae,km,0.5\n")
    with pytest.raises(ValueError, match=f"{consensus}: missing column.*agreement"):
        read_consensus(consensus)


def test_grid_and_picks_views_read_cells_whatever_their_experiment_name(tmp_path):
    """The networks x clusterers grid (best cell bold, a paper's pairing marked, a missing cell a
    dash) and the label-free pick with its gap to the best cell."""
    results, ledger = tmp_path / "results", tmp_path / "runs.csv"
    stable = {"silhouette": 0.5}
    for seed in (0, 1):
        _labels(_run(results, "ae", "km", seed, 0.70 + seed / 100, label_free=stable), [0, 0, 1, 1])
        _labels(
            _run(results, "ae", "gcn", seed, 0.80, label_free={"silhouette": 0.2}), [0, 1, 0, seed]
        )
        _labels(
            _run(results, "cae", "km", seed, 0.75, label_free={"silhouette": 0.9}), [seed, 1, 0, 0]
        )
    _pixel_graph(results, [(0, 1), (2, 3)])  # ae.km's partition follows it; the others do not
    record_runs([results / "usps"], ledger, config=_config(), command="c", source="s")
    doc = tmp_path / "results.md"
    doc.write_text(
        "<!-- ledger: view=grid dataset=usps extractor=ae,cae clusterer=km,gcn -->\nold\n<!-- /ledger -->\n"
        "<!-- ledger: view=picks dataset=usps extractor=ae,cae clusterer=km,gcn -->\nold\n<!-- /ledger -->\n"
        "<!-- ledger: view=picks dataset=usps extractor=ae,cae clusterer=km,gcn seeds=0 -->\n"
        "old\n<!-- /ledger -->\n"
    )
    build(ledger, tmp_path / "results.csv", [doc], _paper(tmp_path))
    text = doc.read_text()
    assert "| network \\ clusterer | km | gcn |" in text
    assert "| ae | 0.705 ± 0.007 (2) | **0.800 ± 0.000 (2)** † |" in text  # ae_gcn: sddecc's row
    assert "| cae | 0.750 ± 0.000 (2) | — |" in text
    assert "ae x gcn: sddecc 0.7986" in text
    # ae.km's partition is the most modular on the pixel graph: picked, 0.095 short of the best
    assert "| usps | ae.km | modularity | 0.705 | ae.gcn | 0.800 | 0.095 | no |" in text
    # the pick a run of seed 0 alone would have made: its ACC, and no stability to say
    assert "| usps | ae.km | modularity | 0.700 | ae.gcn | 0.800 | 0.100 | no |" in text
    assert "Seed 0 only: no seed stability." in text
    doc.write_text(
        "<!-- ledger: view=grid dataset=usps extractor=ae clusterer=km seeds=0 -->\n<!-- /ledger -->\n"
    )
    with pytest.raises(ValueError, match="seeds= is for view=picks"):
        build(ledger, tmp_path / "results.csv", [doc], _paper(tmp_path))


def test_cell_views_need_the_grid_named(tmp_path):
    with pytest.raises(ValueError, match="view=grid needs dataset=, extractor= and clusterer="):
        parse_filters("view=grid dataset=usps")
    with pytest.raises(ValueError, match="view is one of"):
        parse_filters("view=heatmap dataset=usps extractor=a clusterer=b")


def _consensus(results: Path, extractor: str, clusterer: str, acc, agreement: float) -> Path:
    """A consensus stage's metrics.json (``{extractor}/consensus/{clusterer}/``)."""
    path = results / "usps" / extractor / "consensus" / clusterer / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    metrics = {} if acc is None else {"acc": acc, "nmi": acc - 0.1, "ari": 0.5, "purity": acc}
    record = {"dataset": "usps", "extractor": extractor, "clusterer": clusterer, "seeds": [0, 1]}
    path.write_text(json.dumps({**record, "agreement": agreement, "metrics": metrics}))
    return path


def test_a_consensus_goes_beside_the_ledger_and_its_view_sets_it_beside_its_seeds(tmp_path):
    """A consensus over seeds is not a seed: recorded (from the same folders as the runs) into
    consensus.csv beside runs.csv, replaced by cell when recorded again, and shown with the
    seeds' mean and the gain over it; an unlabelled consensus shows its agreement alone."""
    results, ledger = tmp_path / "results", tmp_path / "runs.csv"
    for seed in (0, 1):
        _labels(_run(results, "ae", "km", seed, 0.70 + seed / 10), [0, 0, 1, 1])
        _labels(_run(results, "cae", "km", seed, 0.75), [0, 0, 1, 1])
    _consensus(results, "ae", "km", 0.70, agreement=0.5)
    _consensus(results, "cae", "km", None, agreement=0.9)
    record_runs([results / "usps"], ledger, command="c", source="s")
    assert len(read_csv(ledger)) == 4  # the runs only
    _consensus(results, "ae", "km", 0.80, agreement=0.6)  # recorded again: replaced
    record_runs([results / "usps" / "ae"], ledger, command="c2", source="s", keep_names=True)
    consensus = read_csv(tmp_path / "consensus.csv")
    assert [(r["extractor"], r["acc"], r["seeds"]) for r in consensus] == [
        ("ae", "0.800000", "0 1"),
        ("cae", "", "0 1"),
    ]
    assert consensus[0]["command"] == "c"  # keep_names kept how the cell was first recorded
    doc = tmp_path / "results.md"
    block = "<!-- ledger: view=consensus dataset=usps extractor={} clusterer=km -->\nold\n<!-- /ledger -->\n"
    doc.write_text(block.format("ae,cae,dae"))
    build(ledger, tmp_path / "results.csv", [doc], _paper(tmp_path))
    text = doc.read_text()
    assert "| usps | ae.km | 2 | 0.750 ± 0.071 (2) | 0.800 | +0.050 | 0.700 | 0.600 |" in text
    assert "| usps | cae.km | 2 | 0.750 ± 0.000 (2) | — | — | — | 0.900 |" in text
    doc.write_text(block.format("dae"))
    with pytest.raises(ValueError, match="view=consensus: no consensus recorded"):
        build(ledger, tmp_path / "results.csv", [doc], _paper(tmp_path))


def test_record_names_a_swept_run_as_the_workflow_does(tmp_path):
    """A sweep expands into named entries only when the config is resolved (deepclust.config); the
    ledger reads the config through the same resolve, so a run of extractor ``ae`` swept over
    ``epochs`` is recorded under the experiment the workflow ran, ``ae_kmeans-epochs5``, with
    its swept value, not under ``''``."""
    config = tmp_path / "sweep.yaml"
    config.write_text(
        "datasets: {usps: {source: npz, path: usps.npz}}\n"
        "extractors:\n"
        "  ae: {model: dense_ae, model_args: {hidden_dims: [8]}, sweep: {epochs: [5, 10]}}\n"
        "clusterers: {kmeans: {method: kmeans}}\n"
        "experiments: {ae_kmeans: {extractor: ae, clusterer: kmeans}}\n"
    )
    results, ledger = tmp_path / "results", tmp_path / "runs.csv"
    run = _run(results, "ae-epochs5", "kmeans", 0, 0.7, experiment="", swept="epochs=5")
    main(["record", str(run), "--ledger", str(ledger), "--config", str(config), "--command", "c"])
    (row,) = read_csv(ledger)
    assert row["experiment"] == "ae_kmeans-epochs5" and row["method"] == "ae_kmeans-epochs5"
    assert row["swept"] == "epochs=5"
