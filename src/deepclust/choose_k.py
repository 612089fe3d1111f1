"""Choosing K without labels: the label-free scores of a sweep over the number of clusters.

A clusterer entry that sweeps its ``n_clusters`` (``sweep: {n_clusters: [4, 5, ..., 14]}``)
makes one experiment per K, the same network, space and clusterer otherwise, so its scores are
comparable across K (unlike scores across experiments that partition different spaces). Per
swept experiment this module lines up, per K, the silhouette, Calinski-Harabasz and
Davies-Bouldin scores and the seed stability (:mod:`deepclust.label_free`), and names the K each
score prefers. That is a suggestion to look at, not the true number of groups: each score has a
bias of its own (Calinski-Harabasz tends to grow with K, silhouette to favour few, well-separated
groups, and a partition by lighting or pose can be very stable). The table goes to table.md and
the report, the figure to the sweep's plot (:func:`k_figure`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from deepclust.tables import csv_number

#: the clusterer key a K sweep varies
K_KEY = "n_clusters"
#: each score over K, and whether higher (max) or lower (min) is better
K_SCORES: tuple[tuple[str, str], ...] = (
    ("silhouette", "max"),
    ("calinski_harabasz", "max"),
    ("davies_bouldin", "min"),
    ("seed_stability", "max"),
)
#: the columns' headings
LABELS = {
    "silhouette": "silhouette ↑",
    "calinski_harabasz": "Calinski-Harabasz ↑",
    "davies_bouldin": "Davies-Bouldin ↓",
    "seed_stability": "seed stability ↑",
}
SUGGESTION = (
    "K suggested by each label-free score, on a sweep over the clusterer's n_clusters (same "
    "network and space at every K): a suggestion to look at, not the number of groups; the "
    "scores disagree where the data has no one best K (deepclust.choose_k)"
)


def k_sweeps(sweeps: Mapping[str, Mapping[str, Mapping]]) -> dict[str, dict[str, int]]:
    """Per swept experiment that varies the number of clusters alone, its expanded experiments
    and the K each runs (``sweeps``: the plan's ``{experiment: {expanded: {key: value}}}``)."""
    found = {}
    for name, group in sweeps.items():
        keys = {key for swept in group.values() for key in swept}
        if keys == {K_KEY} and len(group) > 1:
            found[name] = {expanded: int(swept[K_KEY]) for expanded, swept in group.items()}
    return found


def k_rows(table: Sequence[Mapping], sweeps: Mapping[str, Mapping[str, Mapping]]) -> list[dict]:
    """One row per (dataset, swept experiment, K): the scores' means over seeds (``None``
    where there is none), ``acc`` when the data has labels, and ``best``: the scores that
    prefer this K. ``table``: table.csv's rows (text) or the aggregate's (numbers)."""
    ks = k_sweeps(sweeps)
    rows = []
    for entry in table:
        for name, members in ks.items():
            if entry["experiment"] in members:
                row = {
                    "dataset": entry["dataset"],
                    "sweep": name,
                    "k": members[entry["experiment"]],
                }
                for score, _ in K_SCORES:
                    column = score if score == "seed_stability" else f"{score}_mean"
                    row[score] = csv_number(entry.get(column))
                row["acc"] = csv_number(entry.get("acc_mean"))
                rows.append(row)
    rows.sort(key=lambda r: (r["dataset"], r["sweep"], r["k"]))
    for members in by_sweep(rows).values():
        for score, k in suggested_k(members).items():
            for row in members:
                if row["k"] == k:
                    row.setdefault("best", []).append(score)
    return rows


def by_sweep(rows: Sequence[dict]) -> dict[tuple[str, str], list[dict]]:
    """:func:`k_rows` per (dataset, sweep), in their order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["sweep"]), []).append(row)
    return groups


def suggested_k(rows: Sequence[Mapping]) -> dict[str, int]:
    """Per score, the K of one sweep's ``rows`` it prefers (the smaller K on a tie); a score
    no K has is left out."""
    best = {}
    for score, better in K_SCORES:
        scored = [(row[score], row["k"]) for row in rows if row.get(score) is not None]
        if scored:
            sign = -1 if better == "max" else 1
            best[score] = min(scored, key=lambda pair: (sign * pair[0], pair[1]))[1]
    return best


def k_table(
    members: Sequence[dict], mark: str, blank: str
) -> tuple[list[tuple[str, str]], list[dict[str, str]]]:
    """One sweep's scores over K as (columns: key and heading, a row of cells per K): each
    score's preferred K through ``mark`` (a format with ``{}``), a missing value as ``blank``;
    the ACC column only where the data has labels. The markdown and the report render it."""
    columns = [("k", "K"), *((score, LABELS[score]) for score, _ in K_SCORES)]
    if any(row["acc"] is not None for row in members):
        columns.append(("acc", "ACC (labels)"))
    cells = []
    for row in members:
        shown = {"k": str(row["k"])}
        for key, _ in columns[1:]:
            text = blank if row[key] is None else f"{row[key]:.3f}"
            shown[key] = mark.format(text) if key in row.get("best", []) else text
        cells.append(shown)
    return columns, cells


def k_markdown(rows: Sequence[dict]) -> str:
    """The scores over K, one table per (dataset, sweep), each score's preferred K in bold, and
    a line naming them; empty when the config sweeps no K."""
    if not rows:
        return ""
    parts = [f"Choosing K: {SUGGESTION}."]
    for (dataset, sweep), members in by_sweep(rows).items():
        columns, cells = k_table(members, mark="**{}**", blank="—")
        lines = ["| " + " | ".join(heading for _, heading in columns) + " |"]
        lines.append("|" + "---|" * len(columns))
        lines += ["| " + " | ".join(row[key] for key, _ in columns) + " |" for row in cells]
        picks = suggested_k(members)
        said = ", ".join(f"{LABELS[s].rstrip(' ↑↓')} {k}" for s, k in picks.items())
        parts.append(
            f"{dataset}, {sweep} (K by score: {said or 'none scored'}):\n\n" + "\n".join(lines)
        )
    return "\n\n".join(parts)


def k_figure(rows: Sequence[dict], path: str | Path) -> None:
    """The label-free scores over K of one sweep (``rows``: :func:`k_rows`),
    a panel a score (and ACC where there are labels), one line per dataset; each score's
    preferred K is starred. A suggestion, as the title says, not a truth."""
    from deepclust.plots import _number, plt, save_figure

    panels = [(score, LABELS[score]) for score, _ in K_SCORES]
    if any(r["acc"] is not None for r in rows):
        panels.append(("acc", "ACC (uses the labels)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.1 * len(panels), 3.2), squeeze=False)
    datasets = sorted({r["dataset"] for r in rows})
    for ax, (score, label) in zip(axes[0], panels, strict=True):
        for dataset in datasets:
            members = [r for r in rows if r["dataset"] == dataset]
            k = [r["k"] for r in members]
            y = [_number(r[score]) for r in members]
            (line,) = ax.plot(k, y, marker="o", label=dataset)
            best = [r for r in members if score in r.get("best", [])]
            ax.plot(
                [r["k"] for r in best],
                [r[score] for r in best],
                marker="*",
                markersize=14,
                linestyle="none",
                color=line.get_color(),
            )
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("K (n_clusters)")
        ax.set_xticks(sorted({r["k"] for r in rows}))
    if len(datasets) > 1:
        axes[0][0].legend(fontsize=8)
    fig.suptitle("Scores over K (★ each score's K): a suggestion, not the number of groups")
    save_figure(fig, path)
