"""Data and partitions on which the scores mean little, said out loud.

A partition of N samples into N clusters, or of one class into one cluster, scores ACC 1.0 by
construction; a silhouette over one cluster is undefined. Such a run is not an error of the
code, so it runs, but every place that shows its numbers (the job log, metrics.json's
``warnings``, table.md, the report) says why they mean little. What cannot mean anything (fewer
than two clusters, as many clusters as samples) is refused before the work starts.
"""

from __future__ import annotations

import numpy as np

#: fewer samples than this per cluster on average, and a partition scores high by construction
MIN_SAMPLES_PER_CLUSTER = 5


def check_cluster_count(n_samples: int, n_clusters: int, where: str) -> None:
    """Refuse a clustering that cannot mean anything: fewer than 2 clusters, or at least as
    many clusters as samples (every sample alone). ``where`` names the config key or file."""
    if n_clusters < 2:
        raise ValueError(
            f"{where}: K = {n_clusters}: a partition into one cluster scores perfectly by "
            "construction; clustering needs at least 2 clusters (give the data 2 or more "
            "classes, or set n_clusters)"
        )
    if n_clusters >= n_samples:
        raise ValueError(
            f"{where}: K = {n_clusters} clusters for {n_samples} samples puts every sample alone; "
            "clustering needs fewer clusters than samples"
        )


def data_warnings(n_samples: int, n_clusters: int, n_classes: int | None) -> list[str]:
    """What about the data makes a run's scores suspect: K close to N, labels of one class."""
    warnings = []
    if n_samples < MIN_SAMPLES_PER_CLUSTER * n_clusters:
        warnings.append(
            f"K = {n_clusters} clusters for {n_samples} samples (fewer than "
            f"{MIN_SAMPLES_PER_CLUSTER} a cluster on average): a near-identity partition scores "
            "high on every metric by construction"
        )
    if n_classes is not None and n_classes < 2:
        warnings.append(
            f"the labels hold {n_classes} class: ACC, NMI, ARI and purity of any partition "
            "measure nothing"
        )
    return warnings


def partition_warnings(predicted: np.ndarray) -> list[str]:
    """What about a partition makes its scores suspect: one cluster, clusters of one sample
    (DBSCAN's noise, label -1, is not a cluster)."""
    predicted = np.asarray(predicted)
    _, sizes = np.unique(predicted[predicted >= 0], return_counts=True)
    warnings = []
    if len(sizes) < 2:
        warnings.append(
            f"the partition has {len(sizes)} cluster: its label-free scores are undefined and its "
            "metrics measure nothing"
        )
    singles = int((sizes == 1).sum())
    if singles:
        warnings.append(f"{singles} of {len(sizes)} clusters hold a single sample")
    return warnings


#: a layer with more than this share of dead units is warned about
DEAD_SHARE_WARN = 0.5


def constant_units(values: np.ndarray) -> int:
    """Units with the same value for every sample (a ReLU that never fires is 0 throughout; a
    linear unit merely negative for every sample is not dead): their spread over the samples is
    float rounding (batches of different sizes differ in the last bits) relative to their size."""
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    scale = np.maximum(1.0, np.abs(values).max(axis=0))
    return int((np.ptp(values, axis=0) <= 1e-6 * scale).sum())


def dead_units(layers: dict[str, np.ndarray]) -> dict[str, list[int]]:
    """``{layer: [dead, width]}`` for each of a network's feature layers, in the given order
    (the code, the default clustering layer, first)."""
    return {
        name: [constant_units(values), int(np.prod(values.shape[1:]))]
        for name, values in layers.items()
    }


def dead_unit_warnings(dead: dict[str, list[int]] | None) -> list[str]:
    """A warning per layer with more than :data:`DEAD_SHARE_WARN` of its units dead."""
    return [
        f"{n} of {width} units of layer {name} are dead (the same value for every sample): the "
        "network carries little to cluster there"
        for name, (n, width) in (dead or {}).items()
        if width and n / width > DEAD_SHARE_WARN
    ]


#: a final loss this many times the run's lowest is a spike the saved (last) model carries
SPIKE_RATIO = 1.5
#: the loss is flat when no later epoch gets more than this share below its early lowest
FLAT_SHARE = 0.01
#: ... and its lowest came within this share of the epochs (with at least FLAT_MIN_EPOCHS)
EARLY_SHARE, FLAT_MIN_EPOCHS = 0.2, 20


def training_warnings(losses: list[float], kept_epoch: int | None = None) -> list[str]:
    """What a pretraining's loss per epoch says about the model it saved (epoch ``kept_epoch``'s,
    by default the last): a spike (the saved epoch's loss :data:`SPIKE_RATIO` times the run's
    lowest or more), or
    a plateau (after the first :data:`EARLY_SHARE` of the epochs, no epoch more than
    :data:`FLAT_SHARE` below the lowest before it): most of the training changed nothing. Both
    are what a small folder trained for ``min_steps`` shows (docs/outputs.md)."""
    losses = [float(v) for v in losses]
    if len(losses) < 2:
        return []
    warnings = []
    lowest = min(losses)
    best = losses.index(lowest) + 1
    kept = kept_epoch or len(losses)
    saved = losses[kept - 1]
    if lowest > 0 and saved >= SPIKE_RATIO * lowest:
        which = "the last epoch's" if kept == len(losses) else f"epoch {kept}'s"
        warnings.append(
            f"the saved model is {which} (loss {saved:.4g}), "
            f"{saved / lowest:.1f} times the run's lowest (epoch {best}): a spike at the end; "
            "fewer epochs, a lower learning rate, or `keep: best` (the lowest-loss epoch's weights)"
        )
    early = max(1, int(EARLY_SHARE * len(losses)))
    early_lowest = min(losses[:early])
    if len(losses) >= FLAT_MIN_EPOCHS and min(losses[early:]) >= (1 - FLAT_SHARE) * early_lowest:
        warnings.append(
            f"the loss was flat after epoch {early} of {len(losses)} (no epoch more than "
            f"{FLAT_SHARE:.0%} below its lowest by then): most of the training changed nothing; "
            "fewer epochs would do"
        )
    return warnings


def refinement_warnings(refinement: dict | None, params: dict | None = None) -> list[str]:
    """A refiner that stopped at its ``max_iter`` with its stopping rule unmet (``converged``
    false): its labels were still moving, so the result depends on where the budget ended."""
    if not refinement or refinement.get("converged") is not False:
        return []
    changed = refinement.get("changed_at_stop")
    tol = (params or {}).get("tol")
    moving = "" if changed is None else f", {changed:.2%} of the labels still changing"
    rule = "" if tol is None else f" (its tol: {tol:.2%})"
    return [
        f"refinement stopped at its iteration budget ({refinement.get('iterations')} "
        f"iterations{moving}){rule}: not converged; a larger max_iter may change the result"
    ]


def dead_share(dead: dict[str, list[int]] | None) -> float | None:
    """The share of dead units in the code (the first layer of ``dead``), or None."""
    if not dead:
        return None
    n, width = next(iter(dead.values()))
    return n / width if width else None
