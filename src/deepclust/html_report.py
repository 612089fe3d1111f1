"""One self-contained HTML report of a workflow run: tables, figures, config, versions, runtimes.

Figures are embedded as data URIs, so ``results/reports/{name}/report.html`` can be mailed or
attached to a paper's supplement as one file. Every section is built from files the workflow
already wrote: ``table.csv`` (per dataset x experiment, with the papers' numbers), ``summary.csv`` (per run),
the per-run PNGs, the config, a ``metrics.json``'s environment block and Snakemake's
``benchmark:`` TSVs.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path

import yaml

from deepclust.io import read_csv, write_text
from deepclust.label_free import PICK_RULE, pick_entry
from deepclust.paths import BENCHMARK_DIR
from deepclust.tables import csv_number, mean_std_text, paper_text

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; display: block; overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; white-space: nowrap; }
th { background: #f2f2f2; } td.text, th.text { text-align: left; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 560px; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.85em; }
details { margin: 0.5em 0 1.5em; }
.warning { background: #fff4e0; border-left: 4px solid #e08a00; padding: 0.2em 1em; }
"""


#: the report's sections, linked from its top
CONTENTS = (
    '<nav><b>Contents:</b> <a href="#results">results over seeds</a> · '
    '<a href="#label-free">choosing without labels</a> · <a href="#runs">runs</a> · '
    '<a href="#runtimes">job runtimes</a> · <a href="#config">configuration</a></nav>'
)


def shown_config(config: dict) -> dict:
    """The config as the report prints it: a pixels extractor without the training settings
    the schema fills in for every extractor (it trains nothing)."""
    from deepclust.config import PIXELS
    from deepclust.train_config import TrainConfig

    training = {f.name for f in fields(TrainConfig)}
    extractors = {
        name: {k: v for k, v in entry.items() if k not in training}
        if entry.get("model") == PIXELS
        else entry
        for name, entry in (config.get("extractors") or {}).items()
    }
    return {**config, "extractors": extractors} if "extractors" in config else config


class _NoAliases(yaml.SafeDumper):
    """YAML without anchors: a value the config shares (``betas: &id001``) is written out."""

    def ignore_aliases(self, data):
        return True


def html_table(rows: Sequence[dict], columns: Sequence[tuple[str, str]]) -> str:
    """``columns`` are (key, header); numbers right-aligned, text left, empty cells as a dash."""

    def cell(value: str) -> str:
        if value in (None, ""):
            return "<td>—</td>"
        try:
            float(value)
            return f"<td>{html.escape(str(value))}</td>"
        except ValueError:
            return f'<td class="text">{html.escape(str(value))}</td>'

    head = "".join(f"<th>{html.escape(h)}</th>" for _, h in columns)
    body = "".join("<tr>" + "".join(cell(r.get(k)) for k, _ in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _mean_std(row: dict, metric: str) -> str | None:
    """``mean ± std`` over the row's seeds; the value alone for one seed (no spread measured)."""
    mean = csv_number(row.get(f"{metric}_mean"))
    if mean is not None and row.get("n_seeds") == "1":
        return f"{mean:.3f}"
    return mean_std_text(mean, csv_number(row.get(f"{metric}_std")))


def _paper(row: dict, metric: str) -> str | None:
    return paper_text(csv_number(row.get(f"{metric}_paper")), csv_number(row.get(f"{metric}_diff")))


def results_html(table_csv: str | Path) -> str:
    """The per (dataset, experiment) table: mean ± std over seeds, papers' numbers, wall time."""
    rows = []
    for r in read_csv(table_csv):
        rows.append(
            {
                "dataset": r["dataset"],
                "experiment": r["experiment"]
                + (" (uses labels)" if r.get("uses_labels") == "True" else "")
                + (" (warning)" if r.get("warnings") else ""),
                "seeds": f"{r['n_seeds']} ({r['seeds'].replace(' ', ', ')})",
                **{m: _mean_std(r, m) for m in ("acc", "nmi", "ari", "purity")},
                "acc_paper": _paper(r, "acc"),
                "nmi_paper": _paper(r, "nmi"),
                "source": r.get("paper_source", ""),
                "runtime": f"{float(r['runtime_s_mean']):.1f}" if r.get("runtime_s_mean") else "",
                "dead": f"{float(r['dead_share_mean']):.0%}" if r.get("dead_share_mean") else "",
            }
        )
    columns = [
        ("dataset", "dataset"),
        ("experiment", "experiment"),
        ("seeds", "seeds"),
        ("acc", "ACC"),
        ("nmi", "NMI"),
        ("ari", "ARI"),
        ("purity", "purity"),
        ("acc_paper", "paper ACC (diff)"),
        ("nmi_paper", "paper NMI (diff)"),
        ("source", "paper, table"),
        ("runtime", "clustering s"),
    ]
    columns.append(("dead", "dead code units"))  # a network's code units that never vary
    # an optional column with nothing in it (the papers' for own data) only widens the page
    optional = {"acc_paper", "nmi_paper", "source", "runtime", "dead"}
    columns = [(k, name) for k, name in columns if k not in optional or any(r[k] for r in rows)]
    table = html_table(rows, columns)
    if any(r["dead"] for r in rows):
        table += (
            "<p>Dead code units: the share of the network's code (bottleneck) units whose value "
            "is the same for every image (a unit ReLU switched off for good carries nothing; "
            "the clusterer sees a smaller code than the config asks for).</p>"
        )
    return table


def warnings_html(table_csv: str | Path) -> str:
    """The rows whose scores mean little (``warnings``: deepclust.degenerate), or nothing."""
    items = [
        f"<li><b>{html.escape(r['dataset'])} / {html.escape(r['experiment'])}</b>: "
        f"{html.escape(r['warnings'])}</li>"
        for r in read_csv(table_csv)
        if r.get("warnings")
    ]
    if not items:
        return ""
    return '<div class="warning"><p>Warnings: the scores of these rows mean little.</p><ul>' + (
        "".join(items) + "</ul></div>"
    )


def label_free_table(table_csv: str | Path) -> str:
    """Per (dataset, experiment) the label-free scores and seed stability, then the pick per
    dataset (``deepclust.label_free.pick_without_labels``) beside the best by ACC."""
    from deepclust.label_free import SCORES, pick_without_labels, picked_text

    table, rows = [], []
    for r in read_csv(table_csv):
        entry = pick_entry(r)
        table.append(entry)
        stability = entry["seed_stability"]
        rows.append(
            {
                "dataset": r["dataset"],
                "experiment": r["experiment"],
                "stability": "" if stability is None else f"{stability:.3f}",
                **{m: _mean_std(r, m) for m in ("modularity", *SCORES)},
            }
        )
    scores = html_table(
        rows,
        [
            ("dataset", "dataset"),
            ("experiment", "experiment"),
            ("modularity", "modularity on the pixel graph ↑"),
            ("stability", "seed stability (ARI)"),
            ("silhouette", "silhouette ↑"),
            ("calinski_harabasz", "Calinski-Harabasz ↑"),
            ("davies_bouldin", "Davies-Bouldin ↓"),
        ],
    )

    def acc(value):
        return "" if value is None else f"{value:.3f}"

    picks = [
        {
            **p,
            "picked": picked_text(p),
            "picked_acc": acc(p["picked_acc"]),
            "best_acc": acc(p["best_acc"]),
            "gap": acc(p["gap"]),
        }
        for p in pick_without_labels(table)
    ]
    return scores + html_table(
        picks,
        [
            ("dataset", "dataset"),
            ("picked", "picked without labels"),
            ("decided_by", "decided by"),
            ("picked_acc", "its ACC"),
            ("best", "best by ACC"),
            ("best_acc", "best ACC"),
            ("gap", "gap"),
        ],
    )


#: a figure PNG larger than this (a grid of photos compresses poorly as PNG) may be inlined as JPEG
MAX_PNG_BYTES = 250_000


def choose_k_html(table_csv: str | Path, sweeps: Mapping[str, Mapping[str, Mapping]]) -> str:
    """The label-free scores over K of each sweep over the number of clusters, each score's
    preferred K starred (:mod:`deepclust.choose_k`); empty when the config sweeps no K."""
    from deepclust.choose_k import SUGGESTION, by_sweep, k_rows, k_table

    rows = k_rows(read_csv(table_csv), sweeps)
    if not rows:
        return ""
    parts = ["<h3>Choosing K</h3>", f"<p>{html.escape(SUGGESTION)}.</p>"]
    for (dataset, sweep), members in by_sweep(rows).items():
        columns, cells = k_table(members, mark="{} ★", blank="")
        parts += [f"<p>{html.escape(f'{dataset}, {sweep}')}</p>", html_table(cells, columns)]
    return "\n".join(parts)


def image_tag(path: str | Path, caption: str) -> str:
    """A ``<figure>`` with the image inlined as a data URI, in the smallest of: the PNG itself,
    the PNG on a 256-colour palette (a matplotlib figure's antialiased edges need no more; a
    third of the bytes) and, past :data:`MAX_PNG_BYTES` (a grid of photographs), a JPEG. A
    report of a few MB, not tens (bench/report_size.py)."""
    raw, kind = Path(path).read_bytes(), "png"
    for candidate, candidate_kind in _smaller_encodings(raw):
        if len(candidate) < len(raw):
            raw, kind = candidate, candidate_kind
    data = base64.b64encode(raw).decode("ascii")
    alt = html.escape(caption)
    return (
        f'<figure><img src="data:image/{kind};base64,{data}" alt="{alt}">'
        f"<figcaption>{alt}</figcaption></figure>"
    )


def _smaller_encodings(png: bytes) -> list[tuple[bytes, str]]:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    palette = io.BytesIO()
    image.quantize(256, method=Image.Quantize.MEDIANCUT).save(palette, "PNG", optimize=True)
    encodings = [(palette.getvalue(), "png")]
    if len(png) > MAX_PNG_BYTES:
        jpeg = io.BytesIO()
        image.save(jpeg, "JPEG", quality=80)
        encodings.append((jpeg.getvalue(), "jpeg"))
    return encodings


def runtimes_table(benchmarks: Iterable[str | Path], root: str | Path) -> str:
    """One row per job from Snakemake's benchmark TSVs: wall seconds, CPU seconds, peak RSS."""
    rows = []
    for path in sorted(map(Path, benchmarks)):
        records = read_csv(path, delimiter="\t")
        if not records:
            continue
        last = records[-1]
        rows.append(
            {
                "job": str(path.relative_to(root).with_suffix("")),
                "s": f"{float(last['s']):.1f}",
                "cpu_time": last.get("cpu_time", ""),
                "max_rss": last.get("max_rss", ""),
            }
        )
    columns = [
        ("job", "job"),
        ("s", "wall s"),
        ("cpu_time", "CPU s"),
        ("max_rss", "peak RSS MB"),
    ]
    return html_table(rows, columns) if rows else "<p>No benchmark files yet.</p>"


def write_report(
    path: str | Path,
    *,
    table_csv: str | Path,
    runs: Sequence[dict],
    config: dict,
    environment: dict | None = None,
    benchmarks: Iterable[str | Path] = (),
    benchmark_root: str | Path = BENCHMARK_DIR,
    title: str = "deepclust results",
    sweeps: Mapping[str, Mapping[str, Mapping]] | None = None,
) -> None:
    """Write the report. ``runs`` are dicts with ``name`` and ``figures`` ([(png, caption)]),
    in display order; a figure that is missing is an error (the workflow made them all).
    ``sweeps``: the plan's, whose sweeps over K get their scores over K."""
    shown = shown_config(config)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        CONTENTS,
        '<h2 id="results">Results over seeds</h2>',
        "<p>Mean ± sample standard deviation over seeds of the final labels. "
        "“uses labels” marks a protocol that chose with the ground truth. The paper's value is "
        "printed with measured − published in brackets.</p>",
        results_html(table_csv),
        warnings_html(table_csv),
        '<h2 id="label-free">Choosing without labels</h2>',
        "<p>Scores that need no ground truth (mean ± std over seeds): the modularity of each "
        "partition on the dataset's pixel kNN graph, the same graph for every experiment, so "
        "comparable across them; silhouette, Calinski-Harabasz and Davies-Bouldin, each on the "
        "space its clusterer partitioned, so not comparable across experiments (shown, never "
        "used to pick); and how alike the seeds' partitions are (mean pairwise ARI). The pick "
        f"per dataset: {html.escape(PICK_RULE)}; the gap is the best ACC minus the pick's, where "
        "labels exist (docs/outputs.md argues the rule).</p>",
        label_free_table(table_csv),
        choose_k_html(table_csv, sweeps or {}),
        '<h2 id="runs">Runs</h2>',
    ]
    for run in runs:
        parts.append(f"<h3>{html.escape(run['name'])}</h3>")
        if run.get("note"):
            parts.append(f"<p>{html.escape(run['note'])}</p>")
        parts.extend(image_tag(png, caption) for png, caption in run["figures"])
    parts += [
        '<h2 id="runtimes">Job runtimes</h2>',
        "<details><summary>per job (Snakemake benchmark files)</summary>",
        runtimes_table(benchmarks, benchmark_root),
        "</details>",
        '<h2 id="config">Configuration</h2>',
        f"<pre>{html.escape(yaml.dump(shown, Dumper=_NoAliases, sort_keys=False))}</pre>",
    ]
    if environment:
        parts += [
            '<h2 id="environment">Environment</h2>',
            f"<pre>{html.escape(json.dumps(environment, indent=2, sort_keys=True))}</pre>",
        ]
    parts.append("</body></html>")
    write_text(path, "\n".join(parts) + "\n")
