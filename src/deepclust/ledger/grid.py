"""Ledger views over (network, clusterer) cells rather than named experiments: the
networks x clusterers grid of one dataset and the label-free pick per dataset (issue 22).

A cell is every recorded run of one (dataset, extractor, clusterer), whatever experiment name
it was recorded under, so a crossover cell that a method config already ran is that run.
Blocks in docs/results.md ask for them with ``view=grid`` / ``view=picks`` and list the
networks and clusterers: ``<!-- ledger: view=grid dataset=usps extractor=a,b clusterer=x,y -->``.
"""

from __future__ import annotations

from deepclust import label_free
from deepclust.label_free import PICK_RULE, SCORES, pick_without_labels
from deepclust.ledger.rows import column_floats
from deepclust.tables import mean_std

#: how far (ACC) a label-free pick may fall short of the best cell and still count as found
PICK_TOLERANCE = 0.02


def cells(
    rows: list[dict],
    dataset: str,
    extractors: list[str],
    clusterers: list[str],
    seeds: list[str] | None = None,
) -> dict:
    """``{(extractor, clusterer): cell}`` for one dataset: ACC mean/std/seeds, the label-free
    means, the seed stability, whether a label is used and the paper's name for the pairing.
    ``seeds``: only these seeds' runs (as a run of fewer seeds would have seen them); the seed
    stability, recorded over every seed, is then left out."""
    found: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        key = (row["extractor"], row["clusterer"])
        if seeds is not None and row["seed"] not in seeds:
            continue
        if row["dataset"] == dataset and key[0] in extractors and key[1] in clusterers:
            found.setdefault(key, []).append(row)
    result = {}
    for key, runs in found.items():
        accs = column_floats(runs, "acc")
        mean, std = mean_std(accs)
        # recorded per run over the seeds found then: the latest recording saw the most
        runs.sort(key=lambda r: (r.get("recorded") or "", int(r["seed"])))
        stabilities = column_floats(runs, "seed_stability")
        modularity = mean_std(column_floats(runs, "modularity"))
        result[key] = {
            "dataset": dataset,
            "experiment": f"{key[0]}.{key[1]}",
            "acc_mean": mean,
            "acc_std": std,
            "n_seeds": len(runs),
            "seeds": sorted(int(r["seed"]) for r in runs),
            **{f"{s}_mean": mean_std(column_floats(runs, s))[0] for s in SCORES},
            "modularity_mean": modularity[0],
            "modularity_std": modularity[1],
            "seed_stability": (
                float(stabilities[-1]) if len(stabilities) and seeds is None else None
            ),
            "uses_labels": any(r.get("uses_labels") == "True" for r in runs),
            "method": runs[0].get("method") or "",
            "paper_dataset": runs[0].get("paper_dataset") or dataset,
        }
    return result


def grid_markdown(
    rows: list[dict],
    dataset: str,
    extractors: list[str],
    clusterers: list[str],
    paper_values: dict,
) -> str:
    """Networks as rows, clusterers as columns: ``mean ± std (seeds)`` ACC per cell, the best cell
    in bold, a published pairing (its method has a paper value on this dataset) marked with
    † and the paper's number under the table; ``—`` where a pairing did not run."""
    found = cells(rows, dataset, extractors, clusterers)
    scored = [c for c in found.values() if c["acc_mean"] is not None and not c["uses_labels"]]
    best = max(scored, key=lambda c: c["acc_mean"]) if scored else None
    published = []

    def text(extractor: str, clusterer: str) -> str:
        cell = found.get((extractor, clusterer))
        if cell is None or cell["acc_mean"] is None:
            return "—"
        value = f"{cell['acc_mean']:.3f} ± {cell['acc_std']:.3f} ({cell['n_seeds']})"
        if cell is best:
            value = f"**{value}**"
        paper = paper_values.get((cell["method"], cell["paper_dataset"], "acc"))
        if paper is not None:
            published.append(f"{extractor} x {clusterer}: {cell['method']} {paper['value']:.4g}")
            value += " †"
        return value

    lines = [
        "| network \\ clusterer | " + " | ".join(clusterers) + " |",
        "|---|" + "---|" * len(clusterers),
        *(
            f"| {extractor} | " + " | ".join(text(extractor, c) for c in clusterers) + " |"
            for extractor in extractors
        ),
    ]
    lines += ["", f"{dataset}: ACC, mean ± std over seeds (seeds run); best cell in bold."]
    if published:
        lines[-1] += " † a paper's own pairing (paper ACC: " + "; ".join(published) + ")."
    return "\n".join(lines)


def picks(
    rows: list[dict],
    datasets: list[str],
    extractors: list[str],
    clusterers: list[str],
    seeds: list[str] | None = None,
) -> list[dict]:
    """Per dataset, the label-free pick among the grid's cells (deepclust.label_free's rule) and
    how far it is from the best cell by ACC; ``seeds``: as :func:`cells`."""
    chosen = []
    for dataset in datasets:
        table = list(cells(rows, dataset, extractors, clusterers, seeds).values())
        chosen += pick_without_labels(table)
    return chosen


def picks_markdown(
    rows: list[dict],
    datasets: list[str],
    extractors: list[str],
    clusterers: list[str],
    seeds: list[str] | None = None,
) -> str:
    """The picks as a table, with whether each is within :data:`PICK_TOLERANCE` of the best."""
    found = picks(rows, datasets, extractors, clusterers, seeds)
    table = label_free.picks_markdown(found, PICK_TOLERANCE)
    only = "" if seeds is None else f" Seed {', '.join(seeds)} only: no seed stability."
    return f"{table}\n\nRule: {PICK_RULE}. No label is read to pick.{only}"
