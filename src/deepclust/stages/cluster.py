"""Stages of ``workflow/rules/cluster.smk``: a manifold embedding of the features, a clusterer
of fixed features (``run_cluster``), the kNN graph of a GCN, and a clusterer that fine-tunes the
pretrained model (``run_refine``), and the consensus of a clustering's seeds (``run_consensus``).
Both clusterers build their clusterer and write their labels and metrics.json the same
way (:func:`_build_clusterer`, :func:`_write_clustering`)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from deepclust.assignments import assignment_scores
from deepclust.clustering import build_clusterer
from deepclust.data.dataset import load_processed
from deepclust.degenerate import (
    check_cluster_count,
    data_warnings,
    dead_unit_warnings,
    dead_units,
    partition_warnings,
    refinement_warnings,
)
from deepclust.io import read_features, read_graph, read_labels, write_csv, write_h5, write_json
from deepclust.label_free import internal_scores
from deepclust.metrics import evaluate
from deepclust.run_lock import hold_run
from deepclust.runtime import environment_info, seed_everything

log = logging.getLogger("deepclust")


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
            "dead_units": attrs.get("dead_units"),
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


def _build_clusterer(
    clusterer_cfg: dict, *, n_default: int, n_samples: int, seed: int, source: str, run: dict
):
    """The configured clusterer for ``n_samples`` samples, seeded: ``(n_clusters, clusterer)``.
    ``n_clusters`` is the entry's, else the dataset's (``n_default``)."""
    n_clusters = int(clusterer_cfg.get("n_clusters") or n_default)
    key = "n_clusters" if clusterer_cfg.get("n_clusters") else "the dataset's n_clusters"
    check_cluster_count(
        n_samples, n_clusters, f"{source} (clusterers.{run.get('clusterer')}: {key})"
    )
    seed_everything(seed)
    clusterer = build_clusterer(
        clusterer_cfg["method"],
        n_clusters=n_clusters,
        random_state=seed,
        **clusterer_cfg.get("params", {}),
    )
    return n_clusters, clusterer


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
    n_clusters, clusterer = _build_clusterer(
        clusterer_cfg,
        n_default=attrs["n_clusters"],
        n_samples=len(features),
        seed=seed,
        source=features_h5,
        run=run,
    )
    uses_labels = bool(getattr(clusterer, "uses_labels", False))
    tic = time.perf_counter()
    predicted = (
        clusterer.fit_predict(features, labels) if uses_labels else clusterer.fit_predict(features)
    )
    runtime = time.perf_counter() - tic
    return _write_clustering(
        predicted,
        labels,
        labels_out=labels_out,
        metrics_out=metrics_out,
        scores=assignment_scores(clusterer, features),
        state=clusterer.state_arrays(),
        record={
            **run,
            "seed": seed,
            "n_clusters": n_clusters,
            "uses_labels": uses_labels,
            "runtime_s": runtime,
            "params": clusterer_cfg,
            # a label-using selection's candidates (K-means' best of N by ACC): each run's
            # seed, inertia and ACC, so the distribution is reported, not only its maximum
            **({"runs": clusterer.runs_} if getattr(clusterer, "runs_", None) else {}),
            # on the space it partitioned: the feature layer or the manifold embedding
            "label_free": internal_scores(features, predicted, seed=seed),
            "pretraining": attrs.get("pretraining"),
            # the network's dead units per layer, as its features job counted them
            "dead_units": attrs.get("dead_units"),
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
    from deepclust.model_file import load_model, save_model
    from deepclust.runtime import resolve_device

    # one refinement per run folder, held before anything is logged: an orphan still writing
    # model.pt fails this job at once, and leaves the log it writes whole (runtime.logged)
    with hold_run(Path(model_out).parent, f"refinement ({run.get('clusterer')})"):
        data = load_processed(data_h5)
        torch_device = resolve_device(device, threads)
        model, hparams = load_model(model_path, torch_device)
        n_clusters, refiner = _build_clusterer(
            clusterer_cfg,
            n_default=data.n_clusters,
            n_samples=len(data.images),
            seed=seed,
            source=data_h5,
            run=run,
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
            scores=assignment_scores(refiner),
            state=refiner.state_arrays(),
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
                    # the share of labels that changed at the last check (where it is counted)
                    "changed_at_stop": (refiner.history_[-1] if refiner.history_ else {}).get(
                        "changed"
                    ),
                    "seconds_per_iteration": refiner.seconds_per_iter_,
                    "init_metrics": init_metrics,
                    # the best iteration by ACC needs the labels: never the reported number
                    "best_monitored_acc_uses_labels": max(
                        (row["acc"] for row in refiner.history_ if "acc" in row), default=None
                    ),
                },
                # on the space it partitioned: the refined encoder's output
                "label_free": internal_scores(refiner.embedding_, refiner.labels_, seed=seed),
                "dead_units": dead_units({"code": refiner.embedding_}),
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
    scores: dict[str, np.ndarray] | None = None,
    state: dict[str, np.ndarray] | None = None,
) -> dict:
    """Score ``predicted`` against ``labels`` (when known) and write labels.h5 (with each
    sample's ``scores``: :mod:`deepclust.assignments`, and the clusterer's fitted ``state``
    that places new images: :mod:`deepclust.placement`) and metrics.json, with what makes
    the scores suspect (:mod:`deepclust.degenerate`) logged and kept as ``warnings``."""
    metrics = evaluate(labels, predicted)
    n_classes = None if labels is None else len(np.unique(labels))
    warnings = [
        *data_warnings(len(predicted), record["n_clusters"], n_classes),
        *partition_warnings(predicted),
        *dead_unit_warnings(record.get("dead_units")),
        *((record.get("pretraining") or {}).get("warnings") or []),  # its network's training
        *refinement_warnings(record.get("refinement"), (record.get("params") or {}).get("params")),
    ]
    for warning in warnings:
        log.warning("%s: %s", metrics_out, warning)
    record = {**record, "metrics": metrics, "warnings": warnings}
    write_h5(
        labels_out,
        {
            "labels": np.asarray(predicted, dtype=np.int64),
            **(scores or {}),
            **{f"state/{name}": array for name, array in (state or {}).items()},
        },
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


def run_consensus(
    labels_h5: list[str],
    metrics_json: list[str],
    data_h5: str,
    consensus_cfg: dict,
    *,
    labels_out: str,
    metrics_out: str,
    run: dict,
) -> dict:
    """The seeds' partitions of one (dataset, extractor, clusterer) -> their consensus
    (``deepclust.clustering.consensus``), scored like a run, with its agreement with each seed.
    It uses labels when a seed's clustering did (``metrics_json``: the seeds' records)."""
    from deepclust.clustering.consensus import ConsensusClustering

    partitions, n_clusters = [], None
    for path in labels_h5:
        labels, attrs = read_labels(path)
        partitions.append(labels)
        n_clusters = n_clusters or int(attrs["n_clusters"])
    data = load_processed(data_h5)
    if any(len(p) != len(data.images) for p in partitions):
        raise ValueError(
            f"{', '.join(labels_h5)}: expected {len(data.images)} labels each ({data_h5})"
        )
    tic = time.perf_counter()
    model = ConsensusClustering(n_clusters=n_clusters, **consensus_cfg).fit(partitions)
    metrics = evaluate(data.labels, model.labels_)
    record = {
        **run,
        "seeds": run.get("seeds"),
        "n_clusters": n_clusters,
        "uses_labels": any(
            json.loads(Path(p).read_text()).get("uses_labels") for p in metrics_json
        ),
        "runtime_s": time.perf_counter() - tic,
        "params": consensus_cfg,
        "agreement": model.agreement_,
        "metrics": metrics,
        "environment": environment_info(),
    }
    write_h5(labels_out, {"labels": model.labels_.astype(np.int64)}, {"n_clusters": n_clusters})
    write_json(metrics_out, record)
    log.info("%s: consensus of %d seeds: %s", labels_out, len(partitions), metrics)
    return record
