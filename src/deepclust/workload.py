"""How much pretraining a config asks for, said before it starts.

A paper config trains conv nets 200 epochs on 70,000 images: minutes each on a GPU, hours each
on a few CPU cores (bench/RESULTS.md has the speeds per network), which a dry run of hundreds of
jobs does not show. :func:`workload_note` names the largest pretrainings when one is that large;
the Snakefile prints it while it parses. Own image folders are not counted (their size is not
known before preprocessing).
"""

from __future__ import annotations

from collections import Counter

from deepclust.config.plan import Plan
from deepclust.data.registry import BUILTIN_DATASETS

#: a pretraining of at least this many images x epochs is hours on a few CPU cores
LONG_ON_A_CPU = 10_000_000


def pretrainings(plan: Plan) -> Counter:
    """``(extractor, dataset, images, epochs)`` -> how many seeds train it, for every network
    the plan trains on a built-in dataset."""
    counted: Counter = Counter()
    for dataset, extractor, _seed in {(r["dataset"], r["extractor"], r["seed"]) for r in plan.runs}:
        if extractor not in plan.trained_extractors:
            continue
        source = BUILTIN_DATASETS.get(plan.config["datasets"][dataset]["source"])
        if source is not None:
            epochs = plan.config["extractors"][extractor]["epochs"]
            counted[extractor, dataset, source.n_samples, epochs] += 1
    return counted


def workload_note(plan: Plan) -> str | None:
    """One paragraph naming the pretrainings of at least :data:`LONG_ON_A_CPU` images x epochs,
    or None when there is none."""
    long = {k: n for k, n in pretrainings(plan).items() if k[2] * k[3] >= LONG_ON_A_CPU}
    if not long:
        return None
    largest = sorted(long, key=lambda k: -k[2] * k[3])
    named = ", ".join(
        f"{e} on {d} ({i:,} images x {n} epochs, {long[e, d, i, n]} seed(s))"
        for e, d, i, n in largest[:3]
    )
    more = f" and {len(largest) - 3} more" if len(largest) > 3 else ""
    return (
        f"deepclust: this config pretrains {sum(long.values())} network(s) of "
        f"{LONG_ON_A_CPU:,}+ images x epochs: {named}{more}. Each is minutes on a GPU and hours "
        "on a few CPU cores (bench/RESULTS.md); docs/gpu.md says how to use a GPU, a lent one too "
        "(python -m deepclust.offload)."
    )
