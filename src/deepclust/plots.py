"""The figures of a results report, each written by its own Snakemake rule so it is cached.

Every function takes arrays or a log file and writes one PNG (matplotlib's Agg backend, no
display needed); none of them needs ground truth except where it says so, so unlabelled data
still gets its embedding (coloured by cluster) and its contact sheets of member images per
cluster (:mod:`deepclust.contact_sheets`).
DBSCAN's noise label -1 is shown as its own "noise" group.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deepclust.io import atomic_path, read_csv  # noqa: E402
from deepclust.metrics import cluster_to_class_map  # noqa: E402
from deepclust.umap_cache import load_umap  # noqa: E402

NOISE = -1


def class_label(k, class_names: Sequence[str] | None) -> str:
    """Class ``k`` by its name where the data has names (an image folder's sub-folders)."""
    k = int(k)
    return str(class_names[k]) if class_names is not None and 0 <= k < len(class_names) else str(k)


def cluster_names(
    labels_pred: np.ndarray,
    labels_true: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
) -> dict[int, str]:
    """One name per cluster for every figure of a run: ``c3`` (its own number), with the class
    the Hungarian map (ACC's) gives it where there are labels: ``c3 → 7``; noise is ``noise``."""
    mapping = {} if labels_true is None else cluster_to_class_map(labels_true, labels_pred)
    names = {}
    for c in np.unique(labels_pred):
        c = int(c)
        if c == NOISE:
            names[c] = "noise"
        else:
            names[c] = f"c{c}" + (
                f" → {class_label(mapping[c], class_names)}" if c in mapping else ""
            )
    return names


def palette(n: int) -> list:
    """``n`` colours that stay apart: tab10 up to 10, tab20 up to 20, then tab20, tab20b and
    tab20c (60), then evenly spaced hues."""
    if n <= 10:
        return list(plt.get_cmap("tab10").colors[:n])
    if n <= 20:
        return list(plt.get_cmap("tab20").colors[:n])
    if n <= 60:
        return [c for m in ("tab20", "tab20b", "tab20c") for c in plt.get_cmap(m).colors][:n]
    return [plt.get_cmap("hsv")(i / n) for i in range(n)]


def save_figure(fig, path: str | Path, dpi: int = 110) -> None:
    """Write ``fig`` atomically (a half-written PNG never sits at the output path)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def _read_log(path: str | Path) -> dict[str, np.ndarray]:
    """A training or refinement log CSV as numeric columns (text columns kept as strings)."""
    rows = read_csv(path)
    if not rows:
        raise ValueError(f"{path}: the log has no rows")
    columns = {}
    for key in rows[0]:
        values = [row[key] for row in rows]
        try:
            columns[key] = np.asarray([float(v) if v != "" else np.nan for v in values])
        except ValueError:
            columns[key] = np.asarray(values)
    return columns


def confusion_matrix_mapped(
    labels_true: np.ndarray, labels_pred: np.ndarray, class_names: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str], list[str]]:
    """Counts (true class x column) where each cluster's column is the class the Hungarian map
    (the one ACC uses) gives it, so the diagonal holds the correct samples.

    Columns are named as every figure of the run names its clusters (:func:`cluster_names`:
    ``c7 → 0``); a class no cluster maps to gets ``– → 2``; clusters left unmapped (more
    clusters than classes) follow as ``c9``, and noise one column ``noise`` at the end. Rows
    are the classes, by name where the data has names. Returns counts, row and column names.
    """
    labels_true, labels_pred = np.asarray(labels_true), np.asarray(labels_pred)
    mapping = cluster_to_class_map(labels_true, labels_pred)
    named = cluster_names(labels_pred, labels_true, class_names)
    classes = np.unique(labels_true).tolist()
    extra = sorted(int(c) for c in np.unique(labels_pred) if c != NOISE and int(c) not in mapping)
    has_noise = bool((labels_pred == NOISE).any())
    column = {c: classes.index(k) for c, k in mapping.items()}
    column.update({c: len(classes) + i for i, c in enumerate(extra)})
    column[NOISE] = len(classes) + len(extra)
    counts = np.zeros((len(classes), len(classes) + len(extra) + has_noise), dtype=np.int64)
    rows = np.searchsorted(classes, labels_true)
    np.add.at(counts, (rows, [column[int(p)] for p in labels_pred]), 1)
    by_class = {k: named[c] for c, k in mapping.items()}
    row_names = [class_label(k, class_names) for k in classes]
    names = [by_class.get(k, f"– → {name}") for k, name in zip(classes, row_names, strict=True)]
    names += [named[c] for c in extra] + ["noise"] * has_noise
    return counts, row_names, names


def confusion_figure(
    labels_true: np.ndarray,
    labels_pred: np.ndarray,
    path: str | Path,
    class_names: Sequence[str] | None = None,
) -> None:
    """The Hungarian-mapped confusion matrix, its diagonal the samples ACC counts as correct."""
    counts, rows, columns = confusion_matrix_mapped(labels_true, labels_pred, class_names)
    size = max(4.0, 0.45 * max(counts.shape) + 1.5)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    im = ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(len(columns)), columns, rotation=90 if len(columns) > 6 else 0)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("cluster → the class it is mapped to")
    ax.set_ylabel("true class")
    if counts.size <= 400:
        for (i, j), value in np.ndenumerate(counts):
            if value:
                color = "white" if value > counts.max() / 2 else "black"
                ax.text(j, i, str(value), ha="center", va="center", fontsize=7, color=color)
    acc = np.trace(counts[:, : len(rows)]) / counts.sum()
    ax.set_title(f"Confusion after the Hungarian map (ACC {acc:.3f})")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    save_figure(fig, path)


def embed_2d(
    features: np.ndarray, seed: int = 0, max_points: int = 5000
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded 2-D UMAP of (a seeded sample of at most ``max_points``) features.

    Returns the 2-D points and the indices of the samples they belong to.
    """
    umap = load_umap()
    features = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    rng = np.random.default_rng(seed)
    index = np.arange(len(features))
    if len(index) > max_points:
        index = np.sort(rng.choice(index, max_points, replace=False))
    n_neighbors = int(min(15, max(2, len(index) - 1)))
    reducer = umap.UMAP(n_components=2, n_neighbors=n_neighbors, random_state=seed, n_jobs=1)
    return reducer.fit_transform(features[index]), index


#: the most legend entries drawn inside a scatter's panel; more go beside it
LEGEND_INSIDE = 12


def embedding_figure(
    points: np.ndarray,
    labels_pred: np.ndarray,
    labels_true: np.ndarray | None,
    path: str | Path,
    title: str = "",
    class_names: Sequence[str] | None = None,
) -> None:
    """The 2-D embedding coloured by cluster and, when labels are known, by true class. A cluster
    takes the colour of the class it maps to, so the panels agree; both have a legend (named as
    every figure of the run names them) up to 40 entries."""
    labels_pred = np.asarray(labels_pred)
    named = cluster_names(labels_pred, labels_true, class_names)
    mapping = {} if labels_true is None else cluster_to_class_map(labels_true, labels_pred)
    classes = [] if labels_true is None else np.unique(labels_true).tolist()
    clusters = sorted(c for c in named if c != NOISE)
    # one colour per class, then one per cluster left unmapped
    slot = {("class", k): i for i, k in enumerate(classes)}
    for c in clusters:
        if c not in mapping:
            slot[("cluster", c)] = len(slot)
    colours = palette(max(len(slot), 1))
    panels = [
        (
            "cluster",
            labels_pred,
            {
                c: (
                    named[c],
                    colours[slot[("class", mapping[c])] if c in mapping else slot[("cluster", c)]],
                )
                for c in clusters
            },
        )
    ]
    if labels_true is not None:
        truth = {k: (class_label(k, class_names), colours[slot[("class", k)]]) for k in classes}
        panels.append(("true class", np.asarray(labels_true), truth))
    beside = max(len(legend) for _, _, legend in panels) > LEGEND_INSIDE
    fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=((7.6 if beside else 5.6) * len(panels), 4.8),
        squeeze=False,
        layout="constrained" if beside else None,  # room for the legends beside the panels
    )
    for ax, (name, values, legend) in zip(axes[0], panels, strict=True):
        noise = values == NOISE
        if noise.any():
            ax.scatter(*points[noise].T, s=3, c="lightgrey", label="noise", rasterized=True)
        for value, (label, colour) in legend.items():
            member = values == value
            ax.scatter(*points[member].T, s=3, color=colour, label=label, rasterized=True)
        ax.set_title(f"coloured by {name}")
        ax.set_xticks([])
        ax.set_yticks([])
        if len(legend) <= LEGEND_INSIDE:
            ax.legend(fontsize=8, markerscale=3, loc="best", framealpha=0.6)
        elif len(legend) <= 60:  # beside the panel, not over the points it names
            ax.legend(
                fontsize=8,
                markerscale=3,
                ncols=1 + len(legend) // 25,
                loc="upper left",
                bbox_to_anchor=(1.0, 1.0),
                frameon=False,
            )
    if title:
        fig.suptitle(title)
    save_figure(fig, path)


def training_figure(log_csv: str | Path, path: str | Path, title: str = "") -> None:
    """Loss terms per epoch of a pretraining log (log scale when every value is positive)."""
    log = _read_log(log_csv)
    skip = {"epoch", "lr", "seconds", "img_per_s"}
    terms = [k for k, v in log.items() if k not in skip and v.dtype.kind == "f"]
    # a term equal to the loss (a plain AE's mse) is the same curve: named with it, drawn once
    same = [t for t in terms if t != "loss" and np.array_equal(log[t], log.get("loss"))]
    terms = [t for t in terms if t not in same]
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in terms:
        label = f"loss (= {', '.join(same)})" if name == "loss" and same else name
        ax.plot(log["epoch"], log[name], label=label, lw=1.5 if name == "loss" else 1.0)
    if all(np.nanmin(log[t]) > 0 for t in terms):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=8)
    ax.set_title(title or "pretraining")
    save_figure(fig, path)


def refinement_figure(log_csv: str | Path, path: str | Path, title: str = "") -> None:
    """Per iteration of a refining clusterer (DEKM, IDEC, GCN): share of labels that changed and,
    when ground truth was given to monitor, ACC and NMI (never used to stop or choose)."""
    log = _read_log(log_csv)
    monitored = [m for m in ("acc", "nmi") if m in log and np.isfinite(log[m]).any()]
    fig, axes = plt.subplots(
        1, 1 + bool(monitored), figsize=(5.5 * (1 + bool(monitored)), 3.8), squeeze=False
    )
    it = log["iteration"]
    ax = axes[0][0]
    after = it > it.min()  # the first row has no previous labels to change from
    ax.plot(it[after], 100 * log["changed"][after], color="tab:red")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_xlabel("iteration")
    ax.set_ylabel("labels changed (%)")
    if monitored:
        ax = axes[0][1]
        for m in monitored:
            ax.plot(it, log[m], label=m.upper())
        ax.set_xlabel("iteration")
        ax.set_ylabel("monitored score (uses labels)")
        ax.legend(fontsize=8)
    if "phase" in log and log["phase"].dtype.kind != "f" and (log["phase"] == "warmup").any():
        end = it[log["phase"] == "warmup"].max()
        for a in axes[0]:
            a.axvline(end, color="grey", ls=":", lw=1)
    fig.suptitle(title or "refinement")
    save_figure(fig, path)


def sweep_figure(
    points: Sequence[dict], key: str, path: str | Path, metrics: Sequence[str] = ("acc", "nmi")
) -> None:
    """Metric (mean ± std over seeds) against the swept value ``key``: one line per dataset,
    metric and ``series`` (the other swept keys' values, when a sweep has several). Each point
    is a dict with ``dataset``, ``series``, ``x`` and the table's ``{metric}_mean/_std``;
    values that are not numbers are spaced evenly and labelled."""
    xs = [p["x"] for p in points]
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs)
    order = sorted(set(map(str, xs)), key=lambda v: [str(x) for x in xs].index(v))
    position = (lambda x: float(x)) if numeric else (lambda x: float(order.index(str(x))))
    fig, ax = plt.subplots(figsize=(6, 4))
    lines: dict[tuple, list[dict]] = {}
    for p in points:
        lines.setdefault((p["dataset"], p["series"]), []).append(p)
    for (dataset, series), members in sorted(lines.items()):
        members = sorted(members, key=lambda p: position(p["x"]))
        x = [position(p["x"]) for p in members]
        for metric in metrics:
            y = np.asarray([_number(p.get(f"{metric}_mean")) for p in members])
            err = np.nan_to_num(np.asarray([_number(p.get(f"{metric}_std")) for p in members]))
            if np.isfinite(y).any():
                label = " ".join(s for s in (dataset, series, metric.upper()) if s)
                ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=label)
    if not numeric:
        ax.set_xticks(range(len(order)), order)
    ax.set_xlabel(key)
    ax.set_ylabel("score (mean ± std over seeds)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no labelled results to plot", ha="center", transform=ax.transAxes)
    save_figure(fig, path)


def crossover_figure(
    cells: dict[tuple[str, str], dict],
    rows: Sequence[str],
    columns: Sequence[str],
    path: str | Path,
    title: str = "",
) -> None:
    """Networks (``rows``) x clusterers (``columns``): each cell's mean ACC over seeds,
    with ± std and the number of seeds written in it; a cell whose ``paper`` is true (a
    published pairing) is outlined in red, the ``picked`` one (chosen without labels) dashed;
    an empty cell is a pairing that was not run."""
    means = np.full((len(rows), len(columns)), np.nan)
    for (row, column), cell in cells.items():
        means[rows.index(row), columns.index(column)] = cell["mean"]
    fig, ax = plt.subplots(figsize=(1.3 * len(columns) + 2.5, 0.6 * len(rows) + 1.8))
    image = ax.imshow(np.ma.masked_invalid(means), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for (row, column), cell in cells.items():
        i, j = rows.index(row), columns.index(column)
        text = f"{cell['mean']:.3f}\n±{cell['std']:.3f} ({cell['n']})"
        ax.text(
            j,
            i,
            text,
            ha="center",
            va="center",
            fontsize=7,
            color="w" if cell["mean"] < 0.6 else "k",
        )
        if cell.get("paper"):
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2.5))
        if cell.get("picked"):  # inside the red outline, so both show on one cell
            ax.add_patch(
                plt.Rectangle((j - 0.4, i - 0.4), 0.8, 0.8, fill=False, ec="k", lw=1.5, ls="--")
            )
    ax.set_xticks(range(len(columns)), columns, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("clusterer")
    ax.set_ylabel("network")
    ax.set_title(title or "mean ACC over seeds (red: a paper's own pairing)", fontsize=9)
    fig.colorbar(image, ax=ax, label="ACC")
    save_figure(fig, path)


def _number(value) -> float:
    return np.nan if value in (None, "") else float(value)


def message_figure(text: str, path: str | Path) -> None:
    """A small figure holding only ``text``: a fixed output path that says why it is empty."""
    fig, ax = plt.subplots(figsize=(4, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=10, wrap=True)
    save_figure(fig, path)
