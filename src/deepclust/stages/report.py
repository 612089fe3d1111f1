"""Stages of ``workflow/rules/report.smk``'s tables: the summary and the table over seeds
(the aggregate rule), and which runs the report shows (:func:`report_runs`, called while the
workflow parses: it imports nothing heavy). The figures' stages: :mod:`.figures`."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from deepclust import paths
from deepclust.choose_k import k_markdown, k_rows, k_sweeps
from deepclust.io import (
    read_graph,
    read_labels,
    write_csv,
    write_text,
)
from deepclust.label_free import (
    PICK_GRAPH,
    PICK_RULE,
    graph_modularity,
    pick_without_labels,
    picks_markdown,
    seed_stability,
)
from deepclust.tables import (
    SUMMARY_COLUMNS,
    add_paper_values,
    aggregate,
    csv_cell,
    read_paper_values,
    run_key,
    sort_summary,
    summary_row,
    to_markdown,
    write_table_csv,
)

if TYPE_CHECKING:  # annotations only: the workflow imports this module while it parses
    import numpy as np


def report_runs(
    runs: Iterable[dict],
    *,
    sweeps: Collection[str] = (),
    refining: Collection[str] = (),
    trained: Collection[str] = (),
    name: str,
) -> list[dict]:
    """What the report of config ``name`` shows, in order: a section of sweep figures
    (``sweeps``: the swept experiments), one of networks x clusterers heatmaps (per dataset with more than one
    pairing), then per (dataset, experiment) the figures of its lowest seed, with the
    refinement curve for a ``refining`` clusterer and, once per (dataset, extractor, seed), the
    pretraining curve of a ``trained`` extractor. Each section: name, note, figures as
    [png, caption], at their places in :data:`deepclust.targets.PATHS`."""
    runs = list(runs)
    first, seeds = {}, {}
    for r in runs:
        key = (r["dataset"], r["experiment"])
        if key not in first or r["seed"] < first[key]["seed"]:
            first[key] = r
        seeds.setdefault(key, set()).add(r["seed"])
    sections, pretrained = [], set()
    if sweeps:
        sections.append(
            {
                "name": "Sweeps",
                "note": "a metric against each swept hyper-parameter (mean ± std over seeds)",
                "figures": [
                    [paths.path("sweep_plot", name=name, experiment=e), f"sweep of {e}"]
                    for e in sorted(sweeps)
                ],
            }
        )
    pairs: dict[str, set] = {}
    for r in runs:
        pairs.setdefault(r["dataset"], set()).add((r["extractor"], r["clusterer"]))
    crossed = sorted(d for d, p in pairs.items() if len(p) > 1)
    if crossed:
        sections.append(
            {
                "name": "Networks x clusterers",
                "note": "mean ACC over seeds of every network with every clusterer run on "
                "the dataset; blank, a pairing not run (each figure's title says what else it marks)",
                "figures": [
                    [
                        paths.path("crossover_plot", name=name, dataset=d),
                        f"{d}: networks x clusterers",
                    ]
                    for d in crossed
                ],
            }
        )
    for (dataset, experiment), r in sorted(first.items()):
        figures = [
            [
                paths.path("embedding_plot", **r),
                "2-D UMAP of the features, by cluster and by class",
            ],
            [paths.path("confusion_plot", **r), "confusion matrix after the Hungarian map"],
            [
                paths.path("samples_plot", **r),
                "each cluster's most and least typical members (random ones where the method "
                "scores none)",
            ],
        ]
        if r["clusterer"] in refining:
            figures.append(
                [
                    paths.path("refinement_plot", **r),
                    "refinement: labels changed, monitored scores",
                ]
            )
        if r["extractor"] in trained and (dataset, r["extractor"], r["seed"]) not in pretrained:
            pretrained.add((dataset, r["extractor"], r["seed"]))
            figures.append([paths.path("training_plot", **r), f"pretraining of {r['extractor']}"])
        n = len(seeds[dataset, experiment])
        sections.append(
            {
                "name": f"{experiment} on {dataset}",
                "note": f"extractor {r['extractor']}, clusterer {r['clusterer']}; figures of seed "
                f"{r['seed']}" + (f" (of {n} seeds; the others beside it)" if n > 1 else ""),
                "figures": figures,
            }
        )
    return sections


def _partition(labels_h5: Path) -> np.ndarray:
    """A run's labels (labels.h5)."""
    return read_labels(labels_h5)[0]


def seed_stabilities(
    runs: Iterable[tuple[str, str, Path]], partition: Callable[[Path], np.ndarray] = _partition
) -> dict[tuple[str, str], float | None]:
    """Per (dataset, experiment), the mean ARI between its seeds' partitions
    (deepclust.label_free.seed_stability); ``runs``: (dataset, experiment, labels.h5) each,
    read by ``partition``."""
    partitions: dict[tuple[str, str], list] = {}
    for dataset, experiment, labels_h5 in runs:
        partitions.setdefault((dataset, experiment), []).append(partition(labels_h5))
    return {key: seed_stability(labels) for key, labels in partitions.items()}


def add_modularity(
    read: Sequence[tuple[dict, Path]],
    graphs: Mapping[str, str],
    partition: Callable[[Path], np.ndarray] = _partition,
) -> None:
    """Each summary row's ``modularity``: its partition (labels.h5 beside it, read by
    ``partition``) on its dataset's pixel kNN graph, where ``graphs`` has one; the graph is read
    once per dataset."""
    edges: dict[str, object] = {}
    for row, labels_h5 in read:
        dataset = row["dataset"]
        if dataset not in graphs:
            continue
        labels = partition(labels_h5)
        if dataset not in edges:
            edges[dataset] = read_graph(graphs[dataset], **PICK_GRAPH, n_samples=len(labels))
        row["modularity"] = graph_modularity(edges[dataset], labels)


def run_aggregate(
    metrics_files: Sequence[str],
    output_csv: str,
    *,
    table_csv: str | None = None,
    table_md: str | None = None,
    paper_values: str | None = None,
    paper_names: dict | None = None,
    runs: Iterable[dict] | None = None,
    consensus: Sequence[str] = (),
    sweeps: Mapping[str, Mapping[str, Mapping]] | None = None,
    graphs: Mapping[str, str] | None = None,
) -> list[dict]:
    """Write summary.csv (one row per clustering run) and, when asked, the per
    (dataset, experiment) table over seeds with the published numbers beside it; table.md
    ends with the label-free pick and, for a sweep over K (``sweeps``: the plan's), the scores
    over K (:mod:`deepclust.choose_k`).

    ``runs``: the workflow's memberships (dataset, extractor, clusterer, seed, experiment,
    swept), which name each run's experiment(s); without them, each metrics.json's own.
    ``consensus``: the consensus stage's metrics.json files, whose ACC, NMI and agreement with
    the seeds become the consensus_* columns of their experiment's table row. ``graphs``:
    ``{dataset: pixel kNN graph file}`` (:data:`deepclust.label_free.PICK_GRAPH`), on which each
    run's partition gets its ``modularity``, the score the label-free pick compares."""
    memberships = {
        run_key(r["dataset"], r["extractor"], r["clusterer"], r["seed"]): r for r in runs or ()
    }
    read = [
        (
            summary_row(json.loads(Path(p).read_text()), memberships),
            paths.in_folder("labels", Path(p).parent),
        )
        for p in metrics_files
    ]
    partition = cache(_partition)  # each run's labels read once, for both scores below
    add_modularity(read, graphs or {}, partition)
    rows = sort_summary([row for row, _ in read])
    formatted = [{k: csv_cell(v) for k, v in r.items()} for r in rows]
    write_csv(output_csv, formatted, SUMMARY_COLUMNS)
    if table_csv or table_md:
        table = aggregate(rows)
        stability = seed_stabilities(
            ((r["dataset"], r["experiment"], path) for r, path in read), partition
        )
        for entry in table:
            entry["seed_stability"] = stability.get((entry["dataset"], entry["experiment"]))
        _add_consensus(table, consensus, rows)
        k_of = {e: k for group in k_sweeps(sweeps or {}).values() for e, k in group.items()}
        for entry in table:  # a K sweep's variant: not a candidate of the label-free pick
            entry["k_swept"] = k_of.get(entry["experiment"])
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
            picks = picks_markdown(pick_without_labels(table))
            over_k = k_markdown(k_rows(table, sweeps or {}))
            write_text(
                table_md,
                f"{to_markdown(table)}\n\nLabel-free pick per dataset ({PICK_RULE}; "
                f"deepclust.label_free):\n\n{picks}\n" + (f"\n{over_k}\n" if over_k else ""),
            )
    return rows


def _add_consensus(table: list[dict], consensus: Sequence[str], rows: list[dict]) -> None:
    """The consensus stage's scores on the table row of the experiment its seeds belong to."""
    experiment_of = {(r["dataset"], r["extractor"], r["clusterer"]): r["experiment"] for r in rows}
    entries = {(e["dataset"], e["experiment"]): e for e in table}
    for path in consensus:
        record = json.loads(Path(path).read_text())
        key = (record["dataset"], record["extractor"], record["clusterer"])
        entry = entries.get((key[0], experiment_of.get(key)))
        if entry is None:
            raise ValueError(f"{path}: no clustering run of {'/'.join(key)} in the summary")
        entry["consensus_acc"] = record["metrics"].get("acc")
        entry["consensus_nmi"] = record["metrics"].get("nmi")
        entry["consensus_agreement"] = record.get("agreement")
