"""The committed record of measured runs, and the results tables built from it.

``results/`` lives on the machine that ran the workflow and is gone with it; the ledger
(``docs/runs.csv``) keeps one row per clustering run — its metrics, the training it used (epochs,
device, threads, wall time), the data it saw and the command that made it — so that every
number in ``docs/results.csv`` and in the generated tables of ``docs/results.md`` comes from a
command over runs, never from typing::

    # after a run: add (or replace) its rows in the ledger
    python -m deepclust.ledger record results/usps/ascae_mean results/usps/scae_mean \\
        --config workflow/configs/ascae.yaml --command "snakemake ... --configfile ..."
    # rebuild docs/results.csv, every generated table in docs/results.md and the
    # paper pages docs/papers/*.md (:mod:`deepclust.ledger.papers`)
    python -m deepclust.ledger build
    python -m deepclust.ledger build --check   # exit 1 if either is stale (a test runs this)

A generated table in a Markdown file is the text between ``<!-- ledger: FILTERS -->`` and
``<!-- /ledger -->``; FILTERS are ``key=v1,v2`` words on ``dataset`` and ``experiment``
(the variant), listed in the order the rows should appear. Rows are keyed by (dataset,
extractor, clusterer, seed), the run's files: recording a run again replaces its row, under the
config's current experiment name.

A consensus over seeds (the ``consensus`` stage) is recorded by the same command into
``docs/consensus.csv`` beside the ledger (:mod:`deepclust.ledger.consensus_rows`); a block with
``view=consensus`` sets each beside its seeds.

Columns flagged "uses labels" (the best epoch by ACC, K-means' best of N by ACC) are never
the reported number; they sit beside the honest final-epoch / by-inertia one so readers see both.

Recording lives in :mod:`deepclust.ledger.runs`, the tables in :mod:`deepclust.ledger.results`.
"""

from __future__ import annotations

from deepclust import cli
from deepclust.config import load as load_config
from deepclust.ledger.papers import PAGES_DIR, PAGES_SPEC
from deepclust.ledger.results import (
    PAPER_VALUES,
    RESULT_COLUMNS,
    RESULTS_CSV,
    RESULTS_MD,
    build,
    entries_markdown,
    ledger_table,
    parse_filters,
)
from deepclust.ledger.runs import LEDGER, RUN_COLUMNS, dead_units, read_ledger, record_runs, run_row

__all__ = [
    "LEDGER",
    "PAPER_VALUES",
    "RESULT_COLUMNS",
    "RESULTS_CSV",
    "RESULTS_MD",
    "RUN_COLUMNS",
    "build",
    "dead_units",
    "entries_markdown",
    "ledger_table",
    "main",
    "parse_filters",
    "read_ledger",
    "record_runs",
    "run_row",
]


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m deepclust.ledger", __doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    rec = sub.add_parser("record", help="add runs (metrics.json files or folders) to the ledger")
    rec.add_argument("paths", nargs="+")
    rec.add_argument(
        "--config", nargs="+", help="the workflow config(s) the runs used, overlays last"
    )
    rec.add_argument("--command", required=True, help="the command that made the runs")
    rec.add_argument("--source", default="", help="what the images were")
    rec.add_argument("--ledger", default=str(LEDGER))
    rec.add_argument(
        "--keep-names",
        action="store_true",
        help="a run the ledger has keeps its experiment name, command and source (a run shared "
        "with another config); its measured columns are read again",
    )
    bld = sub.add_parser("build", help="regenerate docs/results.csv and the Markdown tables")
    bld.add_argument("--ledger", default=str(LEDGER))
    bld.add_argument("--csv", default=str(RESULTS_CSV))
    bld.add_argument("--markdown", nargs="*", default=[str(RESULTS_MD)])
    bld.add_argument("--paper", default=str(PAPER_VALUES))
    bld.add_argument("--pages", default=str(PAGES_SPEC), help="the paper pages' layout")
    bld.add_argument("--pages-dir", default=str(PAGES_DIR))
    bld.add_argument("--root", default=".", help="where the layout's config paths start")
    bld.add_argument("--check", action="store_true", help="exit 1 if anything is stale")
    args = parser.parse_args(argv)

    def body() -> int:
        if args.action == "record":
            config = load_config(*args.config).config if args.config else None
            new = record_runs(
                args.paths,
                args.ledger,
                config=config,
                command=args.command,
                source=args.source,
                keep_names=args.keep_names,
            )
            print(f"{args.ledger}: recorded {len(new)} run(s)")
            return 0
        stale = build(
            args.ledger,
            args.csv,
            args.markdown,
            args.paper,
            check=args.check,
            pages=args.pages,
            pages_dir=args.pages_dir,
            base_dir=args.root,
        )
        if args.check and stale:
            print(f"stale (run `python -m deepclust.ledger build`): {', '.join(stale)}")
            return 1
        print("up to date" if not stale else f"rewrote {', '.join(stale)}")
        return 0

    return cli.run(parser, body)
