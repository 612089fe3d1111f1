"""Stages of ``workflow/rules/report.smk``'s figures: the 2-D embedding of a network's
features, each run's figures, a sweep's figure and the networks x clusterers heatmap (the
tables and the report's contents: :mod:`.report`)."""

from __future__ import annotations

import numpy as np

from deepclust.choose_k import k_figure, k_rows, k_sweeps
from deepclust.data.dataset import load_processed
from deepclust.io import read_csv, read_features, read_h5, read_labels, write_h5
from deepclust.label_free import pick_entry, pick_without_labels


def run_embed_2d(
    features_h5: str, output_h5: str, *, seed: int = 0, max_points: int = 5000
) -> None:
    """The 2-D UMAP of one network's features (a seeded sample of at most ``max_points``), its
    own cached stage: every clusterer of the network draws its figure on it, so a grid
    of networks x clusterers computes one UMAP per network, not one per cell."""
    from deepclust import plots

    features, _, attrs = read_features(features_h5)
    points, index = plots.embed_2d(features, seed=seed, max_points=max_points)
    write_h5(
        output_h5,
        {"points": points.astype(np.float32), "index": index},
        {"layer": str(attrs.get("default_layer", "features")), "n_samples": len(features)},
    )


def run_plot_run(
    data_h5: str,
    embedding_h5: str,
    labels_h5: str,
    *,
    embedding_png: str,
    confusion_png: str,
    samples_png: str,
    seed: int = 0,
    title: str = "",
) -> None:
    """The three figures of one clustering run: its clusters on the network's 2-D embedding
    (``run_embed_2d``), confusion matrix, contact sheets (:mod:`deepclust.contact_sheets`).

    Without ground truth the confusion figure says so instead of inventing one; the embedding
    is coloured by cluster only and the contact sheets are unchanged.
    """
    from deepclust import plots
    from deepclust.assignments import SCORES
    from deepclust.contact_sheets import contact_sheet_figure

    data = load_processed(data_h5)
    embedding, attrs = read_h5(embedding_h5, ("points", "index"))
    points, index = embedding["points"], embedding["index"]
    if points is None or index is None:
        raise ValueError(f"{embedding_h5}: no 2-D embedding (arrays 'points' and 'index')")
    predicted, _ = read_labels(labels_h5)
    if len(predicted) != len(data.images):
        raise ValueError(
            f"{labels_h5}: expected {len(data.images)} labels (one per image of {data_h5})"
        )
    if attrs.get("n_samples") != len(data.images) or index.max(initial=0) >= len(data.images):
        raise ValueError(
            f"{embedding_h5}: made for {attrs.get('n_samples')} samples, not {len(data.images)}"
        )
    n = len(data.images)
    sampled = f", {len(index):,} of {n:,} samples" if len(index) < n else ""
    truth = None if data.labels is None else data.labels[index]
    names = data.attrs.get("class_names")  # an image folder's sub-folders
    plots.embedding_figure(
        points,
        predicted[index],
        truth,
        embedding_png,
        title=f"{title}: 2-D UMAP of the {attrs.get('layer', 'features')} features{sampled}",
        class_names=names,
    )
    if data.labels is None:
        plots.message_figure("No ground-truth labels: no confusion matrix.", confusion_png)
    else:
        plots.confusion_figure(data.labels, predicted, confusion_png, class_names=names)
    contact_sheet_figure(
        data.images,
        predicted,
        samples_png,
        per_cluster=samples_per_cluster(len(np.unique(predicted))),
        seed=seed,
        labels_true=data.labels,
        class_names=names,
        scores=read_h5(labels_h5, SCORES)[0],
    )


#: thumbnails the contact sheets show in all: with many clusters each row gets fewer (at least
#: MIN_SAMPLES), so 40 people's photos are not the whole dataset again in every experiment
SAMPLE_THUMBNAILS = 160
MIN_SAMPLES, MAX_SAMPLES = 4, 10


def samples_per_cluster(n_clusters: int) -> int:
    return max(MIN_SAMPLES, min(MAX_SAMPLES, SAMPLE_THUMBNAILS // max(n_clusters, 1)))


def run_plot_sweep(table_csv: str, group: dict[str, dict], output: str) -> None:
    """Metric against the swept value for one swept experiment (``group``: its expanded
    experiments and the values each takes, from ``config.sweep_groups``)."""
    from deepclust import plots

    rows = read_csv(table_csv)
    if k_sweeps({"sweep": group}):  # over the number of clusters: the label-free scores over K
        over_k = k_rows(rows, {"sweep": group})
        if not over_k:
            raise ValueError(f"{table_csv}: no rows for the swept experiments {sorted(group)}")
        return k_figure(over_k, output)
    keys = list(dict.fromkeys(k for swept in group.values() for k in swept))
    varying = [k for k in keys if len({repr(s.get(k)) for s in group.values()}) > 1] or keys
    x_key, others = varying[0], varying[1:]
    points = []
    for row in rows:
        swept = group.get(row["experiment"])
        if swept is None:
            continue
        series = ", ".join(f"{k.rsplit('.', 1)[-1]}={swept.get(k)}" for k in others)
        points.append({**row, "x": swept.get(x_key), "series": series})
    if not points:
        raise ValueError(f"{table_csv}: no rows for the swept experiments {sorted(group)}")
    plots.sweep_figure(points, x_key, output)


def crossover_cells(
    summary_csv: str, table_csv: str, dataset: str
) -> tuple[dict[tuple[str, str], dict], list[str], list[str]]:
    """Per (extractor, clusterer) run on ``dataset``: mean, std and count of ACC over seeds,
    whether it is a published pairing (an experiment of that pair with a paper value in
    table.csv) and whether it is the label-free pick of table.md (``deepclust.label_free``).
    Returns (cells, extractors, clusterers); runs without labels make no cell."""
    from deepclust.tables import mean_std

    runs = [r for r in read_csv(summary_csv) if r["dataset"] == dataset]
    table = [r for r in read_csv(table_csv) if r["dataset"] == dataset]
    published = {
        part
        for r in table
        if r.get("acc_paper") not in (None, "")
        for part in r["experiment"].split("+")
    }
    picks = pick_without_labels([pick_entry(r) for r in table])
    picked = {p["picked"] for p in picks if p["picked"] is not None}  # an undecided one: none
    accs: dict[tuple[str, str], list[float]] = {}
    paper: set[tuple[str, str]] = set()
    chosen: set[tuple[str, str]] = set()
    for r in runs:
        key = (r["extractor"], r["clusterer"])
        if r.get("acc") not in (None, ""):
            accs.setdefault(key, []).append(float(r["acc"]))
        if set((r.get("experiment") or "").split("+")) & published:
            paper.add(key)
        if r.get("experiment") in picked:
            chosen.add(key)
    cells = {}
    for key, values in accs.items():
        mean, std = mean_std(np.asarray(values))
        cells[key] = {
            "mean": mean,
            "std": std,
            "n": len(values),
            "paper": key in paper,
            "picked": key in chosen,
        }
    extractors = sorted({k[0] for k in cells})
    clusterers = sorted({k[1] for k in cells})
    return cells, extractors, clusterers


def run_plot_crossover(
    summary_csv: str, table_csv: str, dataset: str, output: str, order: dict | None = None
) -> None:
    """The networks x clusterers heatmap of one dataset (``plots.crossover_figure``).

    ``order``: the config's ``crossover`` grid; its networks and clusterers come first, in its order
    (the rest follow, sorted)."""
    from deepclust import plots

    cells, extractors, clusterers = crossover_cells(summary_csv, table_csv, dataset)
    if order:
        extractors = _in_order(extractors, order.get("extractors") or [])
        clusterers = _in_order(clusterers, order.get("clusterers") or [])
    if not cells:
        plots.message_figure(f"{dataset}: no labels, so no ACC per network and clusterer.", output)
        return
    plots.crossover_figure(
        cells, extractors, clusterers, output, title=crossover_title(dataset, cells)
    )


def crossover_title(dataset: str, cells: dict) -> str:
    """The heatmap's title, explaining only the marks it draws."""
    marks = [
        *(["red: published pairing"] if any(c.get("paper") for c in cells.values()) else []),
        *(["dashed: label-free pick"] if any(c.get("picked") for c in cells.values()) else []),
    ]
    return f"{dataset}: mean ACC over seeds" + (f" ({'; '.join(marks)})" if marks else "")


def _in_order(names: list[str], first: list[str]) -> list[str]:
    return [n for n in first if n in names] + [n for n in names if n not in first]
