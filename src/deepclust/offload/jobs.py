"""The GPU jobs a set of targets still misses, in order of value, cut to a window.

A *job* is one network (dataset, extractor, seed) of one config: its pretraining, its features,
and the refiners asked of it that fine-tune on the GPU (DEKM, IDEC, the GCN clusterers). Its
parameters are the ones the workflow's rules hand Snakemake (:meth:`deepclust.config.Plan.params`),
so that what comes home can be checked against the config of the day. Targets are a config's
runs (all, or those named by path), or by default the paper pages' cells that are unrun or
stand-ins for the paper's schedule (fewer epochs or seeds; not a substitute dataset, which no GPU
changes), in the order of value the issue of record asks: each paper's own method first, then
its ablations and baselines, MNIST before Fashion-MNIST before the rest.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from deepclust import paths as layout
from deepclust.config import PIXELS, Plan
from deepclust.config import load as load_config
from deepclust.offload import speeds

#: a target path: a run folder, or a file in it (model, features, a clustering's output)
TARGET = re.compile(
    rf"^{layout.wildcard_regex(layout.RUN_DIR)}(?:/(?P<clusterer>[^/]+)/[^/]+|/[^/]+)?/?$"
)
#: the paper datasets in the order their cells are worth filling
DATASET_ORDER = ("mnist", "fashion_mnist")
#: the stand-in marks a GPU run at the paper's settings removes (not "data": other images)
GPU_FIXABLE = frozenset({"epochs", "seeds"})


@dataclass
class Job:
    """One network to train there, with what it is for and what it costs."""

    config: str  # the config file(s), space-separated, merged in order
    dataset: str
    extractor: str
    seed: int
    model: str
    epochs: int
    pretrain: dict  # the pretrain rule's params
    features: dict  # the features rule's params
    settings: dict  # rerun-free settings the job runs with (compile, feature_batch_size)
    data_config: dict = field(default_factory=dict)  # the dataset's entry (how it was made)
    refiners: dict = field(default_factory=dict)  # clusterer -> {"params", "graph", "run"}
    cells: list = field(default_factory=list)  # what it fills, "PAPER row/dataset"
    n_images: int | None = None
    estimate_s: float = 0.0

    @property
    def wildcards(self) -> dict:
        return {"dataset": self.dataset, "extractor": self.extractor, "seed": self.seed}

    @property
    def run_dir(self) -> str:
        return layout.RUN_DIR.format(**self.wildcards)

    @property
    def data(self) -> str:
        return layout.path("processed", dataset=self.dataset)

    def path(self, name: str, **more) -> str:
        """File ``name`` of :data:`deepclust.targets.PATHS` for this job (``clusterer=`` for a
        refiner's)."""
        return layout.path(name, **self.wildcards, **more)

    def trained_files(self) -> list[str]:
        """What a finished network leaves: its model and its training log."""
        return [self.path("model"), self.path("train_log")]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict) -> Job:
        return cls(**value)


def parse_target(target: str) -> dict:
    """``{"dataset", "extractor", "seed", "clusterer"}`` of a target path under results/."""
    found = TARGET.match(target.strip())
    if not found:
        raise ValueError(f"{target}: not a run's path (expected {layout.RUN_DIR}[/...])")
    return {**found.groupdict(), "seed": int(found["seed"])}


def n_images(dataset: str, base_dir: Path) -> int | None:
    """The images of a processed dataset, None before it is built."""
    import h5py

    path = base_dir / layout.path("processed", dataset=dataset)
    if not path.exists():
        return None
    with h5py.File(path, "r") as f:
        return int(f.attrs["n_samples"]) if "n_samples" in f.attrs else len(f["images"])


def config_jobs(
    config: str,
    targets: list[str] | None = None,
    *,
    base_dir: str | Path = ".",
    refine: bool = True,
    plan: Plan | None = None,
) -> list[Job]:
    """The jobs of a config (its paths space-separated, merged in order): one per network its
    runs train, with the refiners of those runs; ``targets`` (paths under results/) narrow it to
    the runs they name (a run folder or model path names the network alone)."""
    base_dir = Path(base_dir)
    if plan is None:
        plan = load_config(*(base_dir / p for p in config.split()), base_dir=base_dir)
    wanted = [parse_target(t) for t in targets] if targets else None
    for target, parsed in zip(targets or [], wanted or [], strict=True):
        if not any(_names(parsed, run) for run in plan.runs):
            raise ValueError(f"{target}: not a run of {config} (no experiment asks for it)")
    jobs: dict[tuple, Job] = {}
    for run in plan.runs:
        extractor = plan.config["extractors"][run["extractor"]]
        if extractor["model"] == PIXELS:
            continue
        if wanted is not None and not any(_names(w, run) for w in wanted):
            continue
        key = (run["dataset"], run["extractor"], run["seed"])
        if key not in jobs:
            jobs[key] = _job(plan, config, run, extractor)
        clusterer = run["clusterer"]
        if refine and clusterer in plan.refiners and _clusterer_wanted(wanted, run):
            jobs[key].refiners[clusterer] = {
                "params": plan.params("clusterers", clusterer, "refine"),
                "graph": plan.graphs.get(clusterer),
                "run": {k: run[k] for k in ("dataset", "extractor", "clusterer")},
            }
    return list(jobs.values())


def _names(target: dict, run: dict) -> bool:
    return (
        target["dataset"] == run["dataset"]
        and target["extractor"] == run["extractor"]
        and target["seed"] == run["seed"]
        and target["clusterer"] in (None, run["clusterer"])
    )


def _clusterer_wanted(wanted: list[dict] | None, run: dict) -> bool:
    return wanted is None or any(_names(w, run) and w["clusterer"] for w in wanted)


def _job(plan: Plan, config: str, run: dict, extractor: dict) -> Job:
    from deepclust.config.rerun import canonical

    free = plan.rerun_free.get("extractor", frozenset())
    return Job(
        config=config,
        dataset=run["dataset"],
        extractor=run["extractor"],
        seed=run["seed"],
        model=extractor["model"],
        epochs=int(extractor["epochs"]),
        pretrain=plan.params("extractors", run["extractor"], "pretrain"),
        features=plan.params("extractors", run["extractor"], "features"),
        data_config=canonical(plan.config["datasets"][run["dataset"]]),
        settings=canonical(
            {
                "compile": plan.config.get("compile", False),
                **{k: extractor[k] for k in sorted(free) if k in extractor},
            }
        ),
    )


def paper_jobs(
    base_dir: str | Path = ".",
    *,
    ledger: str | Path | None = None,
    spec_path: str | Path | None = None,
    refine: bool = True,
) -> list[Job]:
    """The jobs of the paper pages' cells that are unrun, or stand-ins for the paper's schedule
    (:data:`GPU_FIXABLE`), each cell run by the experiment its page names (the row's own),
    in the order of :func:`value_order`."""
    from deepclust.ledger.cells import MIN_SEEDS, marks
    from deepclust.ledger.paper_layout import PAGES_SPEC, cell_run, read_spec
    from deepclust.ledger.papers import page_cells
    from deepclust.ledger.results import (
        LEDGER,
        PAPER_VALUES,
        ledger_table,
        read_ledger,
        read_paper_rows,
        values_by_cell,
    )

    base_dir = Path(base_dir)
    spec = read_spec(base_dir / (spec_path or PAGES_SPEC))
    rows = read_ledger(base_dir / (ledger or LEDGER))
    paper_rows = read_paper_rows(base_dir / PAPER_VALUES)
    table = ledger_table(rows, values_by_cell(paper_rows))
    plans: dict[str, Plan] = {}
    jobs: dict[tuple, Job] = {}
    for paper_index, (name, paper) in enumerate(spec.items()):
        for path in paper["configs"]:
            if path not in plans:
                plans[path] = load_config(*(base_dir / p for p in path.split()), base_dir=base_dir)
        configs = {path: plans[path].config for path in paper["configs"]}
        seen = set()
        for _, method, dataset, theirs, entry, _ in page_cells(name, paper, table, paper_rows):
            if (method, dataset) in seen or theirs.get("acc") is None:
                continue
            seen.add((method, dataset))
            if entry is not None:
                kinds = {m.kind for m in marks(entry, method, paper)}
                if entry["n_seeds"] >= MIN_SEEDS and not kinds & GPU_FIXABLE:
                    continue  # measured at the paper's schedule, or on other data
            run = cell_run(paper, method, dataset, configs)
            if run is None:
                continue
            rank = (
                _dataset_rank(dataset),
                method != name.lower(),
                paper_index,
                _row_index(paper, method),
            )
            targets = [layout.path("metrics", **{**run, "seed": s}) for s in run["seeds"]]
            cell = f"{name} {method}/{dataset}"
            for job in config_jobs(
                run["config"], targets, base_dir=base_dir, refine=refine, plan=plans[run["config"]]
            ):
                key = (job.dataset, job.extractor, job.seed)
                if key in jobs:
                    jobs[key][1].refiners.update(job.refiners)
                    jobs[key][1].cells.append(cell)
                    jobs[key] = (min(jobs[key][0], rank), jobs[key][1])
                else:
                    job.cells.append(cell)
                    jobs[key] = (rank, job)
    ordered = sorted(jobs.values(), key=lambda item: (item[0], item[1].seed, item[1].extractor))
    return [job for _, job in ordered]


def _dataset_rank(dataset: str) -> int:
    return DATASET_ORDER.index(dataset) if dataset in DATASET_ORDER else len(DATASET_ORDER)


def _row_index(paper: dict, method: str) -> int:
    rows = [row for table in paper["tables"] for row in table["rows"]]
    return rows.index(method) if method in rows else len(rows)


def is_done(job: Job, base_dir: str | Path = ".") -> bool:
    """The network and every refiner asked of it are here (their outputs exist)."""
    files = [*job.trained_files(), *(job.path("metrics", clusterer=c) for c in job.refiners)]
    return all((Path(base_dir) / path).exists() for path in files)


def estimate(job: Job, base_dir: str | Path = ".") -> Job:
    """``job`` with its image count and its seconds alone on a GPU filled in (its refiners
    alone when its network is trained here already: it travels with the job)."""
    job.n_images = job.n_images or n_images(job.dataset, Path(base_dir))
    size = job.n_images or speeds.MEASURED_N_IMAGES
    trained = all((Path(base_dir) / f).exists() for f in job.trained_files())
    seconds = 0.0 if trained else speeds.pretrain_seconds(job.model, job.epochs, size)
    for refiner in job.refiners.values():
        method = refiner["params"].get("method", "")
        seconds += speeds.refine_seconds(
            method, refiner["params"].get("params", {}), job.model, size
        )
    job.estimate_s = round(seconds, 1)
    return job


def cut(jobs: list[Job], window_s: float, parallel: int = 3) -> tuple[list[Job], list[Job]]:
    """The jobs that fit one window, in order (a job that does not fit is passed over for a
    later, smaller one), and the rest."""
    left = speeds.window_capacity(window_s, parallel)
    taken, rest = [], []
    for job in jobs:
        if job.estimate_s <= left:
            taken.append(job)
            left -= job.estimate_s
        else:
            rest.append(job)
    return taken, rest


def windows_needed(jobs: list[Job], window_s: float, parallel: int = 3) -> int:
    """How many windows the jobs fill, each cut by :func:`cut`."""
    count, rest = 0, list(jobs)
    while rest:
        taken, rest = cut(rest, window_s, parallel)
        if taken:
            count += 1
        else:  # longer than a window: it resumes from its checkpoint in the next ones
            count += math.ceil(rest[0].estimate_s / speeds.window_capacity(window_s, parallel))
            rest = rest[1:]
    return count
