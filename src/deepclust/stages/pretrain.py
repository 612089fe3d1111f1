"""Stages of ``workflow/rules/pretrain.smk``: train an extractor, encode the dataset with it."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from deepclust.config import PIXELS
from deepclust.data.dataset import load_processed
from deepclust.degenerate import dead_unit_warnings, dead_units
from deepclust.io import write_h5
from deepclust.run_lock import hold_run
from deepclust.runtime import environment_info

log = logging.getLogger("deepclust")


def run_pretrain(
    data_h5: str,
    extractor_cfg: dict,
    *,
    seed: int,
    device: str,
    model_path: str,
    log_csv: str,
    checkpoint_path: str,
    threads: int | None = None,
    compile: str | bool = False,
    checkpoint_every: int | None = None,
) -> None:
    """Train one extractor. ``compile``: ``"auto"`` (on CUDA only), true or false: torch.compile
    the loss (``training.compiled_loss``); ``checkpoint_every``: epochs between checkpoints,
    overriding the entry's. Both are settings, not part of the result (schema ``x-rerun``)."""
    from deepclust.runtime import resolve_device
    from deepclust.train_config import TrainConfig
    from deepclust.training import pretrain

    # one trainer per run, held before anything is logged: an orphan of a killed Snakemake still
    # holding it fails this job at once, and leaves the log it writes whole (runtime.logged)
    with hold_run(Path(model_path).parent, "pretraining"):
        data = load_processed(data_h5)
        torch_device = resolve_device(device, threads)
        if checkpoint_every is not None:
            extractor_cfg = {**extractor_cfg, "checkpoint_every": checkpoint_every}
        train_cfg = TrainConfig.from_dict(extractor_cfg)
        if compile == "auto":
            compile = torch_device.type == "cuda"
        log.info(
            "pretraining %s on %s (%d images %s), seed %d, device %s",
            extractor_cfg["model"],
            data_h5,
            len(data.images),
            data.image_shape,
            seed,
            torch_device,
        )
        log.info("config: %s", json.dumps(extractor_cfg, sort_keys=True))
        log.info("environment: %s", json.dumps(environment_info(torch_device), sort_keys=True))
        _, trainer = pretrain(
            extractor_cfg["model"],
            extractor_cfg.get("model_args", {}),
            train_cfg,
            data.images,
            data.n_clusters,
            seed=seed,
            device=torch_device,
            model_path=model_path,
            log_csv=log_csv,
            checkpoint_path=checkpoint_path,
            compile=bool(compile),
        )
        if trainer.resumed_from:
            log.info("resumed from epoch %d", trainer.resumed_from)
        final = trainer.history[-1]
        log.info(
            "done: final loss %.5g, %.0f img/s, %s%s",
            final["loss"],
            final["img_per_s"],
            trainer.precision,
            ", compiled" if trainer.compile else "",
        )


def run_features(
    data_h5: str,
    extractor_cfg: dict,
    output: str,
    *,
    device: str,
    model_path: str | None = None,
    threads: int | None = None,
    batch_size: int | None = None,
) -> None:
    """Encode every image with a trained extractor (or take its pixels); every layer the model
    exposes goes to ``output``. ``batch_size``: images per batch (the entry's
    ``feature_batch_size`` unless given); evaluation mode, so it does not change the features."""
    from deepclust.features import extract_features, pixel_features

    data = load_processed(data_h5)
    tic = time.perf_counter()
    pretraining = None
    if extractor_cfg["model"] == PIXELS:
        layers, default, source = {"pixels": pixel_features(data.images)}, "pixels", "pixels"
        dead = None  # a constant pixel (a border) is the data's, not a network's
    else:
        from deepclust.model_file import load_model
        from deepclust.runtime import resolve_device

        torch_device = resolve_device(device, threads)
        model, hparams = load_model(model_path, torch_device)
        batch_size = batch_size or extractor_cfg.get("feature_batch_size", 1024)
        try:
            layers = extract_features(
                model,
                data.images,
                device=torch_device,
                batch_size=batch_size,
                input_scale=hparams["input_scale"],
            )
        except FloatingPointError as err:
            raise FloatingPointError(f"{model_path}: {err}") from err
        default, source = model.default_feature_layer, str(model_path)
        pretraining = hparams.get("trained_on")
        # units with one value for every sample carry nothing to cluster: count them per layer
        dead = dead_units({default: layers[default], **layers})
        log.info("dead units per layer (dead, width): %s", json.dumps(dead))
        for warning in dead_unit_warnings(dead):
            log.warning("%s: %s", model_path, warning)
    seconds = time.perf_counter() - tic
    # The default layer is stored once, as `features`; other layers under `layers/{name}`.
    arrays = {
        "features": layers[default],
        "labels": data.labels,
        **{f"layers/{k}": v for k, v in layers.items() if k != default},
    }
    attrs = {
        "source": source,
        "default_layer": default,
        "layers": sorted(layers),
        "n_clusters": data.n_clusters,
        "dataset_attrs": data.attrs,
        "pretraining": pretraining,
        "dead_units": dead,
        "seconds": seconds,
    }
    write_h5(output, arrays, attrs)
    log.info(
        "features %s (layers %s) from %s in %.2fs (%.0f img/s)",
        layers[default].shape,
        sorted(layers),
        source,
        seconds,
        len(data.images) / max(seconds, 1e-9),
    )
