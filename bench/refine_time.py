"""What one step of the refiners that fine-tune the encoder (IDEC, SDCN-style GCN) costs, per
network, and where a GCN epoch spends it: the crossover grid's refiner columns cost hours on a CPU.

Run by hand, never in CI, on pretrained checkpoints the pipeline made, e.g.
    .venv/bin/python bench/refine_time.py --data data/processed/usps.h5 \
        --models 'results/usps/{net}/seed0/model.pt' --nets dense_ae cae ddecn --threads 1

For each network it runs the real clusterers briefly (:class:`~deepclust.clustering.gcn.SDCN`
for ``--epochs`` full-batch epochs, :class:`~deepclust.clustering.idec.IDEC` for two target
updates of ``--update-interval`` mini-batches) and reads the seconds per epoch / step from their
per-iteration log (the K-means start and the kNN graph excluded). It also times the three
forward passes a GCN epoch makes over all images, without gradients: the encoder's layers (the
GCN's inputs), the model's own loss (a second encoder pass for models with their own objective)
and the GCN itself. The projected columns multiply by the crossover configs' lengths (SDCN: 200
epochs; IDEC: at most 20,000 steps, fewer when it converges). Appends one table to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from results_table import RESULTS, append_table

from deepclust.clustering.fusion_gcn import FusionGCN
from deepclust.clustering.gcn import SDCN
from deepclust.clustering.graph import knn_graph, sparse_adjacency
from deepclust.clustering.idec import IDEC
from deepclust.data.dataset import load_processed
from deepclust.model_file import load_model


def seconds(fn, repeats: int = 2) -> float:
    """Mean wall time of ``fn()`` over ``repeats`` calls after one warm-up call."""
    fn()
    tic = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - tic) / repeats


def loop_seconds(history: list[dict], per: int = 1) -> float:
    """Median seconds between consecutive log rows after the first (which holds the start-up),
    divided by the ``per`` steps each row stands for."""
    elapsed = np.array([row["elapsed_s"] for row in history])
    return float(np.median(np.diff(elapsed[1:])) / per) if len(elapsed) > 2 else float("nan")


def forward_split(model, images: torch.Tensor, adjacency, n_clusters: int) -> dict[str, float]:
    """Seconds of a GCN epoch's three forward passes over all images, without gradients."""
    pixels = images.flatten(1)
    model.eval()
    with torch.no_grad():
        layers = model.encoder_layers(images)
        gcn = FusionGCN(pixels.shape[1], [t.shape[1] for t in layers], n_clusters).eval()
        return {
            "encoder layers": seconds(lambda: model.encoder_layers(images)),
            "own loss": seconds(lambda: model.joint_pass(images).losses),
            "GCN": seconds(lambda: gcn(pixels, layers, adjacency)),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="data/processed/usps.h5")
    parser.add_argument("--models", default="results/usps/{net}/seed0/model.pt")
    parser.add_argument("--nets", nargs="+", default=["dense_ae", "cae", "ddecn"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=4, help="SDCN epochs timed")
    parser.add_argument("--update-interval", type=int, default=140, help="IDEC steps per row")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    data = load_processed(args.data)
    n, k = len(data.images), data.n_clusters
    edges = knn_graph(np.asarray(data.images, dtype=np.float32).reshape(n, -1), 3)
    adjacency = sparse_adjacency(edges, n, torch.device("cpu"))
    rows = []
    for net in args.nets:
        path = args.models.format(net=net)
        model, hparams = load_model(path)
        scale = hparams["input_scale"]
        images = torch.as_tensor(data.images, dtype=torch.float32) * scale
        split = forward_split(model, images, adjacency, k)
        # each clusterer trains the model it is given: a fresh copy of the checkpoint apiece
        sdcn = SDCN(k, epochs=args.epochs, n_init=1, random_state=0)
        sdcn.fit(data.images, model=load_model(path)[0], input_scale=scale, graph=edges)
        epoch = loop_seconds(sdcn.history_)
        idec = IDEC(
            k,
            update_interval=args.update_interval,
            max_iter=2 * args.update_interval,
            tol=0.0,
            n_init=1,
            random_state=0,
        )
        idec.fit(data.images, model=load_model(path)[0], input_scale=scale)
        step = loop_seconds(idec.history_, args.update_interval)
        row = [
            net,
            hparams["model"],
            *(f"{split[part]:.2f}" for part in ("encoder layers", "own loss", "GCN")),
            f"{epoch:.1f}",
            f"{epoch * 200 / 60:.0f}",
            f"{step * 1000:.0f}",
            f"{step * 20000 / 60:.0f}",
        ]
        print(" | ".join(row), flush=True)
        rows.append(row)
    append_table(
        f"Refiner step cost on {os.path.basename(args.data)} ({n:,} images)",
        f"torch {torch.__version__}, {args.threads} thread(s), load average {load:.2f} at the "
        "start. Forward columns: seconds over all images, no gradients; SDCN epoch: one "
        "full-batch step (forward, backward, Adam); projections: 200 SDCN epochs, 20,000 IDEC "
        "steps (its cap).",
        [
            "network",
            "model",
            "fwd encoder layers s",
            "fwd own loss s",
            "fwd GCN s",
            "SDCN epoch s",
            "200 epochs min",
            "IDEC step ms",
            "20,000 steps min",
        ],
        rows,
        args.out,
    )


if __name__ == "__main__":
    main()
