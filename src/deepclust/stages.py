"""The workflow's stages as plain functions of paths and config slices.

``workflow/scripts/*.py`` call these with ``snakemake.input/output/params``; tests call them
directly. Each stage writes its outputs atomically and records what it used.

torch is imported only by the stages that train or encode: a job's start-up is paid once per
job, and the many small clustering jobs of a sweep should not pay torch's second or two.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from deepclust.clustering import build_clusterer
from deepclust.config import PIXELS
from deepclust.data.dataset import load_processed
from deepclust.io import read_csv, read_h5, write_csv, write_h5, write_json, write_text
from deepclust.metrics import evaluate
from deepclust.runtime import environment_info, seed_everything

log = logging.getLogger("deepclust")

SUMMARY_COLUMNS = [
    "experiment",
    "dataset",
    "extractor",
    "clusterer",
    "swept",
    "seed",
    "acc",
    "nmi",
    "ari",
    "purity",
    "noise_fraction",
    "n_clusters",
    "n_clusters_found",
    "uses_labels",
    "runtime_s",
    # refining clusterers only: the K-means they started from, and how long they ran
    "init_acc",
    "init_nmi",
    "refine_iterations",
    # the best monitored epoch/iteration by ACC: USES LABELS (SDCN's published protocol), shown
    # beside the final one, never instead of it
    "best_epoch_acc",
]


@contextlib.contextmanager
def logged(log_path: str | Path | None, threads: int | None = None) -> Iterator[logging.Logger]:
    """Send the package's log to the job's log file, record any exception with its traceback,
    and hold the job to its ``threads`` (torch, BLAS and OpenMP pools)."""
    handler: logging.Handler = (
        logging.FileHandler(log_path, mode="w") if log_path else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    limits = threadpool_limits(int(threads)) if threads else contextlib.nullcontext()
    try:
        with limits:
            yield log
    except Exception:
        log.error("failed:\n%s", traceback.format_exc())
        raise
    finally:
        log.removeHandler(handler)
        handler.close()


def run_download(
    source: str,
    raw_dir: str,
    manifest: str,
    *,
    mirror: str | Sequence[str] | None,
    retries: int = 3,
) -> None:
    from deepclust.data.sources import download_dataset

    mirrors = [mirror] if isinstance(mirror, str) else list(mirror or [])
    result = download_dataset(source, raw_dir, manifest, mirrors=mirrors, retries=retries)
    log.info("downloaded %s: %s", source, json.dumps(result["files"]))


def run_preprocess(name: str, dataset_cfg: dict, output: str, manifest: str | None = None) -> None:
    from deepclust.data.preprocess import preprocess

    manifest_data = json.loads(Path(manifest).read_text()) if manifest else None
    raw_dir = Path(manifest).parent if manifest else None
    attrs = preprocess(name, dataset_cfg, output, raw_dir=raw_dir, manifest=manifest_data)
    log.info(
        "preprocessed %s: %s",
        name,
        {k: attrs[k] for k in ("n_samples", "image_shape", "n_clusters", "has_labels")},
    )


def run_pretrain(
    data_h5: str,
    extractor_cfg: dict,
    *,
    seed: int,
    device: str,
    model_path: str,
    log_csv: str,
    checkpoint_path: str,
    threads: int | None = None,
    compile: str | bool = False,
) -> None:
    """Train one extractor. ``compile``: ``"auto"`` (on CUDA only), true or false: torch.compile
    the loss (``training.compiled_loss``); a speed setting, not part of the result."""
    from deepclust.runtime import resolve_device
    from deepclust.training import TrainConfig, pretrain

    data = load_processed(data_h5)
    torch_device = resolve_device(device, threads)
    train_cfg = TrainConfig.from_dict(extractor_cfg)
    if compile == "auto":
        compile = torch_device.type == "cuda"
    log.info(
        "pretraining %s on %s (%d images %s), seed %d, device %s",
        extractor_cfg["model"],
        data_h5,
        len(data.images),
        data.image_shape,
        seed,
        torch_device,
    )
    log.info("config: %s", json.dumps(extractor_cfg, sort_keys=True))
    log.info("environment: %s", json.dumps(environment_info(torch_device), sort_keys=True))
    _, trainer = pretrain(
        extractor_cfg["model"],
        extractor_cfg.get("model_args", {}),
        train_cfg,
        data.images,
        data.n_clusters,
        seed=seed,
        device=torch_device,
        model_path=model_path,
        log_csv=log_csv,
        checkpoint_path=checkpoint_path,
        compile=bool(compile),
    )
    if trainer.resumed_from:
        log.info("resumed from epoch %d", trainer.resumed_from)
    final = trainer.history[-1]
    log.info(
        "done: final loss %.5g, %.0f img/s, %s%s",
        final["loss"],
        final["img_per_s"],
        trainer.precision,
        ", compiled" if trainer.compile else "",
    )


def run_features(
    data_h5: str,
    extractor_cfg: dict,
    output: str,
    *,
    device: str,
    model_path: str | None = None,
    threads: int | None = None,
) -> None:
    from deepclust.features import extract_features, pixel_features

    data = load_processed(data_h5)
    tic = time.perf_counter()
    pretraining = None
    if extractor_cfg["model"] == PIXELS:
        layers, default, source = {"pixels": pixel_features(data.images)}, "pixels", "pixels"
    else:
        from deepclust.runtime import resolve_device
        from deepclust.training import load_model

        torch_device = resolve_device(device, threads)
        model, hparams = load_model(model_path, torch_device)
        batch_size = extractor_cfg.get("feature_batch_size", 1024)
        try:
            layers = extract_features(
                model,
                data.images,
                device=torch_device,
                batch_size=batch_size,
                input_scale=hparams["input_scale"],
            )
        except FloatingPointError as err:
            raise FloatingPointError(f"{model_path}: {err}") from err
        default, source = model.default_feature_layer, str(model_path)
        pretraining = hparams.get("trained_on")
    seconds = time.perf_counter() - tic
    # The default layer is stored once, as `features`; other layers under `layers/{name}`.
    arrays = {
        "features": layers[default],
        "labels": data.labels,
        **{f"layers/{k}": v for k, v in layers.items() if k != default},
    }
    attrs = {
        "source": source,
        "default_layer": default,
        "layers": sorted(layers),
        "n_clusters": data.n_clusters,
        "dataset_attrs": data.attrs,
        "pretraining": pretraining,
        "seconds": seconds,
    }
    write_h5(output, arrays, attrs)
    log.info(
        "features %s (layers %s) from %s in %.2fs (%.0f img/s)",
        layers[default].shape,
        sorted(layers),
        source,
        seconds,
        len(data.images) / max(seconds, 1e-9),
    )


def read_features(
    features_h5: str, layer: str | None = None
) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """One feature layer (``None``: the extractor's default), the labels and the file's attributes."""
    _, attrs = read_h5(features_h5, ())
    name = "features" if layer in (None, attrs.get("default_layer")) else f"layers/{layer}"
    arrays, _ = read_h5(features_h5, (name, "labels"))
    if arrays[name] is None:
        raise ValueError(
            f"{features_h5}: no feature layer {layer!r}; it has {attrs.get('layers')} (clusterer key 'layer')"
        )
    if not np.isfinite(arrays[name]).all():
        raise ValueError(f"{features_h5}: feature layer {name!r} contains NaN or Inf values")
    return arrays[name], arrays["labels"], attrs


def run_manifold(
    features_h5: str,
    manifold_cfg: dict,
    output: str,
    *,
    seed: int,
    threads: int | None = None,
) -> None:
    """Embed one feature layer (UMAP) and write it in the layout of features.h5, so the
    clusterers that read it need no second reader."""
    from deepclust.clustering.manifold import build_manifold

    features, labels, attrs = read_features(features_h5, manifold_cfg.get("layer"))
    seed_everything(seed)
    method = manifold_cfg.get("method", "umap")
    embedder = build_manifold(
        method,
        n_clusters=int(attrs["n_clusters"]),
        random_state=seed,
        n_jobs=threads,
        **manifold_cfg.get("params", {}),
    )
    tic = time.perf_counter()
    embedding = embedder.fit_transform(features)
    seconds = time.perf_counter() - tic
    write_h5(
        output,
        {"features": embedding, "labels": labels},
        {
            "source": features_h5,
            "default_layer": method,
            "layers": [method],
            "n_clusters": attrs["n_clusters"],
            "dataset_attrs": attrs.get("dataset_attrs", {}),
            "pretraining": attrs.get("pretraining"),
            "manifold": manifold_cfg,
            "seconds": seconds,
        },
    )
    log.info(
        "%s embedding %s of %s %s in %.1fs",
        method,
        embedding.shape,
        features_h5,
        features.shape,
        seconds,
    )


def run_cluster(
    features_h5: str,
    clusterer_cfg: dict,
    *,
    seed: int,
    labels_out: str,
    metrics_out: str,
    run: dict,
) -> dict:
    features, labels, attrs = read_features(features_h5, clusterer_cfg.get("layer"))
    n_clusters = int(clusterer_cfg.get("n_clusters") or attrs["n_clusters"])
    if n_clusters > len(features):
        key = "n_clusters" if clusterer_cfg.get("n_clusters") else "the dataset's n_clusters"
        raise ValueError(
            f"{features_h5}: {n_clusters} clusters asked (clusterers.{run.get('clusterer')}: "
            f"{key}) but it holds {len(features)} samples"
        )
    seed_everything(seed)
    clusterer = build_clusterer(
        clusterer_cfg["method"],
        n_clusters=n_clusters,
        random_state=seed,
        **clusterer_cfg.get("params", {}),
    )
    tic = time.perf_counter()
    predicted = (
        clusterer.fit_predict(features, labels)
        if getattr(clusterer, "uses_labels", False)
        else clusterer.fit_predict(features)
    )
    runtime = time.perf_counter() - tic
    return _write_clustering(
        predicted,
        labels,
        labels_out=labels_out,
        metrics_out=metrics_out,
        record={
            **run,
            "seed": seed,
            "n_clusters": n_clusters,
            "uses_labels": bool(getattr(clusterer, "uses_labels", False)),
            "runtime_s": runtime,
            "params": clusterer_cfg,
            # a label-using selection's candidates (K-means' best of N by ACC): each run's
            # seed, inertia and ACC, so the distribution is reported, not only its maximum
            **({"runs": clusterer.runs_} if getattr(clusterer, "runs_", None) else {}),
            "pretraining": attrs.get("pretraining"),
            "environment": environment_info(),
        },
    )


def run_graph(
    data_h5: str,
    output: str,
    *,
    k: int,
    metric: str,
    threads: int | None = None,
    device: str = "cpu",
) -> dict:
    """The kNN graph of a dataset's images (flattened pixels) for GCN clustering, with its build
    time and peak memory, as (2, E) ``edge_index`` in HDF5. The exact search runs on the job's
    device, one 8,192 x 8,192 float32 block (256 MB) at a time, so the rule holds no ``gpu``
    slot (bench/gpu_check.py times it on a GPU)."""
    import resource

    from deepclust.clustering.graph import knn_graph
    from deepclust.runtime import resolve_device

    def max_rss_mb() -> float:  # Linux reports KiB
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    data = load_processed(data_h5)
    torch_device = resolve_device(device, threads)
    rss_loaded = max_rss_mb()
    tic = time.perf_counter()
    edges = knn_graph(data.images, k, metric=metric, device=torch_device)
    seconds = time.perf_counter() - tic
    attrs = {
        "k": int(k),
        "metric": metric,
        "device": str(torch_device),
        "n_samples": len(data.images),
        "n_edges": int(edges.shape[1]),
        "build_seconds": seconds,
        # the process's peak memory after loading the data and after the build: the build's own
        # cost is the difference (scikit-learn's search allocates outside Python's tracing)
        "max_rss_loaded_mb": rss_loaded,
        "max_rss_built_mb": max_rss_mb(),
    }
    log.info("kNN graph of %s: %s", data_h5, json.dumps(attrs, sort_keys=True))
    write_h5(output, {"edge_index": edges}, attrs)
    return attrs


def read_graph(path: str, *, k: int, metric: str, n_samples: int) -> np.ndarray:
    """A graph written by :func:`run_graph`, checked against what the clusterer expects."""
    arrays, attrs = read_h5(path, ("edge_index",))
    edges = arrays["edge_index"]
    expected = {"k": k, "metric": metric, "n_samples": n_samples}
    found = {key: attrs.get(key) for key in expected}
    if edges is None or found != expected:
        raise ValueError(f"{path}: expected a kNN graph with {expected}; found {found}")
    return edges


def run_refine(
    data_h5: str,
    model_path: str,
    clusterer_cfg: dict,
    *,
    seed: int,
    device: str,
    labels_out: str,
    metrics_out: str,
    model_out: str,
    log_csv: str,
    run: dict,
    graph_h5: str | None = None,
    threads: int | None = None,
) -> dict:
    """A clusterer that fine-tunes the pretrained model (DEKM, DEC/IDEC, GCN clustering): it
    reads the images, the model (and the kNN graph for a GCN), and writes the refined model and
    a per-iteration log besides the labels."""
    from deepclust.clustering import graph_spec
    from deepclust.runtime import resolve_device
    from deepclust.training import load_model, save_model

    data = load_processed(data_h5)
    torch_device = resolve_device(device, threads)
    model, hparams = load_model(model_path, torch_device)
    n_clusters = int(clusterer_cfg.get("n_clusters") or data.n_clusters)
    seed_everything(seed)
    refiner = build_clusterer(
        clusterer_cfg["method"],
        n_clusters=n_clusters,
        random_state=seed,
        **clusterer_cfg.get("params", {}),
    )
    log.info(
        "refining %s (%s) with %s on %s, seed %d, device %s",
        model_path,
        hparams["model"],
        json.dumps(clusterer_cfg, sort_keys=True),
        data_h5,
        seed,
        torch_device,
    )
    graph = None
    spec = graph_spec(clusterer_cfg["method"], clusterer_cfg.get("params", {}))
    if spec is not None and graph_h5 is not None:
        graph = read_graph(graph_h5, **spec, n_samples=len(data.images))
    tic = time.perf_counter()
    refiner.fit(
        data.images,
        data.labels,
        model=model,
        input_scale=hparams["input_scale"],
        device=torch_device,
        graph=graph,
    )
    runtime = time.perf_counter() - tic
    save_model(model_out, refiner.model_, {**hparams, "refined_by": clusterer_cfg})
    write_csv(log_csv, refiner.history_)
    init_metrics = evaluate(data.labels, refiner.init_labels_)
    return _write_clustering(
        refiner.labels_,
        data.labels,
        labels_out=labels_out,
        metrics_out=metrics_out,
        record={
            **run,
            "seed": seed,
            "n_clusters": n_clusters,
            "uses_labels": False,
            "runtime_s": runtime,
            "params": clusterer_cfg,
            "refinement": {
                "iterations": refiner.n_iter_,
                "converged": refiner.converged_,
                "seconds_per_iteration": refiner.seconds_per_iter_,
                "init_metrics": init_metrics,
                # the best iteration by ACC needs the labels: never the reported number
                "best_monitored_acc_uses_labels": max(
                    (row["acc"] for row in refiner.history_ if "acc" in row), default=None
                ),
            },
            # where and in what precision the network was pretrained (older models: unknown)
            "pretraining": hparams.get("trained_on"),
            "environment": environment_info(torch_device),
        },
    )


def _write_clustering(
    predicted: np.ndarray,
    labels: np.ndarray | None,
    *,
    labels_out: str,
    metrics_out: str,
    record: dict,
) -> dict:
    """Score ``predicted`` against ``labels`` (when known) and write labels.h5 and metrics.json."""
    metrics = evaluate(labels, predicted)
    record = {**record, "metrics": metrics}
    write_h5(
        labels_out,
        {"labels": np.asarray(predicted, dtype=np.int64)},
        {"n_clusters": record["n_clusters"]},
    )
    write_json(metrics_out, record)
    log.info(
        "%s/%s/%s seed %s: %s",
        record.get("dataset"),
        record.get("extractor"),
        record.get("clusterer"),
        record["seed"],
        {k: v for k, v in metrics.items() if v is not None},
    )
    return record


def summary_rows(metrics_files: Iterable[str | Path]) -> list[dict]:
    """One row (``SUMMARY_COLUMNS``) per clustering run's metrics.json, in a stable order."""
    rows = []
    for path in metrics_files:
        record = json.loads(Path(path).read_text())
        row = {key: record.get(key) for key in SUMMARY_COLUMNS}
        row.update(
            {
                k: record["metrics"].get(k)
                for k in ("acc", "nmi", "ari", "purity", "noise_fraction", "n_clusters_found")
            }
        )
        if "refinement" in record:
            refinement = record["refinement"]
            row["init_acc"] = refinement["init_metrics"].get("acc")
            row["init_nmi"] = refinement["init_metrics"].get("nmi")
            row["refine_iterations"] = refinement["iterations"]
            row["best_epoch_acc"] = refinement.get("best_monitored_acc_uses_labels")
        rows.append(row)
    rows.sort(
        key=lambda r: (
            r["dataset"],
            r["experiment"] or "",
            r["extractor"],
            r["clusterer"],
            r["seed"],
        )
    )
    return rows


def run_aggregate(
    metrics_files: Sequence[str],
    output_csv: str,
    *,
    table_csv: str | None = None,
    table_md: str | None = None,
    paper_values: str | None = None,
    paper_names: dict | None = None,
) -> list[dict]:
    """Write results/summary.csv (one row per clustering run) and, when asked, the per
    (dataset, experiment) table over seeds with the published numbers beside it."""
    from deepclust.tables import (
        add_paper_values,
        aggregate,
        csv_cell,
        read_paper_values,
        to_markdown,
        write_table_csv,
    )

    rows = summary_rows(metrics_files)
    formatted = [{k: csv_cell(v) for k, v in r.items()} for r in rows]
    write_csv(output_csv, formatted, SUMMARY_COLUMNS)
    if table_csv or table_md:
        table = aggregate(rows)
        if paper_values:
            names = paper_names or {}
            add_paper_values(
                table,
                read_paper_values(paper_values),
                names.get("experiments"),
                names.get("datasets"),
            )
        if table_csv:
            write_table_csv(table_csv, table)
        if table_md:
            write_text(table_md, to_markdown(table) + "\n")
    return rows


def run_plot_run(
    data_h5: str,
    features_h5: str,
    labels_h5: str,
    *,
    embedding_png: str,
    confusion_png: str,
    samples_png: str,
    seed: int = 0,
    title: str = "",
    max_points: int = 5000,
) -> None:
    """The three figures of one clustering run: 2-D embedding, confusion matrix, sample grid.

    Without ground truth the confusion figure says so instead of inventing one; the embedding
    is coloured by cluster only and the sample grid is unchanged.
    """
    from deepclust import plots

    data = load_processed(data_h5)
    features, _, attrs = read_features(features_h5)
    arrays, _ = read_h5(labels_h5, ("labels",))
    predicted = arrays["labels"]
    if predicted is None or len(predicted) != len(data.images):
        raise ValueError(
            f"{labels_h5}: expected {len(data.images)} labels (one per image of {data_h5})"
        )
    points, index = plots.embed_2d(features, seed=seed, max_points=max_points)
    sampled = f", {len(index):,} of {len(features):,} samples" if len(index) < len(features) else ""
    truth = None if data.labels is None else data.labels[index]
    plots.embedding_figure(
        points,
        predicted[index],
        truth,
        embedding_png,
        title=f"{title}: 2-D UMAP of the {attrs.get('default_layer', 'features')} features{sampled}",
    )
    if data.labels is None:
        plots.message_figure("No ground-truth labels: no confusion matrix.", confusion_png)
    else:
        plots.confusion_figure(data.labels, predicted, confusion_png)
    plots.sample_grid_figure(data.images, predicted, samples_png, seed=seed)


def run_plot_sweep(table_csv: str, group: dict[str, dict], output: str) -> None:
    """Metric against the swept value for one swept experiment (``group``: its expanded
    experiments and the values each takes, from ``config.sweep_groups``)."""
    from deepclust import plots

    rows = read_csv(table_csv)
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
