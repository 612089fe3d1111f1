"""The trainer: determinism, checkpoint/resume after a real SIGKILL, and model files."""

import csv
import os
import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest
import torch

from deepclust.model_file import load_model
from deepclust.models import MODELS, build_model
from deepclust.optimizers import make_optimizer
from deepclust.train_config import TrainConfig
from deepclust.training import (
    Trainer,
    pretrain,
    restore_cuda_rng,
    run_fingerprint,
)

CPU = torch.device("cpu")


def _images(n=64):
    return np.random.default_rng(0).uniform(0, 1, (n, 1, 8, 8)).astype(np.float32)


def _train(tmp_path, tag, cfg, **kw):
    return pretrain(
        "conv_ae",
        {},
        cfg,
        _images(),
        4,
        seed=3,
        device=CPU,
        model_path=tmp_path / f"{tag}.pt",
        log_csv=tmp_path / f"{tag}.csv",
        **kw,
    )


def test_same_seed_same_weights_on_cpu(tmp_path):
    cfg = TrainConfig(epochs=3, batch_size=16)
    a, _ = _train(tmp_path, "a", cfg)
    b, _ = _train(tmp_path, "b", cfg)
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb)


@pytest.mark.parametrize("name", sorted(set(MODELS) - {"pixels"}))
def test_channels_last_trains_the_same_model(name):
    """NHWC is a memory layout, not a different network: every model trains under it to the
    same losses (up to float rounding), and a checkpoint resumes across layouts."""
    images = np.random.default_rng(0).uniform(0, 1, (32, 1, 16, 16)).astype(np.float32)
    losses = {}
    for channels_last in (False, True):
        cfg = TrainConfig(epochs=2, batch_size=16, channels_last=channels_last)
        torch.manual_seed(0)
        trainer = Trainer(cfg, CPU)
        trainer.fit(build_model(name, (1, 16, 16), 4), images, seed=0)
        losses[channels_last] = [row["loss"] for row in trainer.history]
    # the first step is the same sum in another order; Adam's early steps (update ~ lr * sign)
    # then carry that rounding into the weights: 0.1 % on the Res-VAE after four steps
    np.testing.assert_allclose(losses[True], losses[False], rtol=5e-3)
    assert TrainConfig(channels_last=False).fingerprint({}) == TrainConfig().fingerprint({})


def test_loss_decreases_and_log_has_one_row_per_epoch(tmp_path):
    _, trainer = _train(tmp_path, "a", TrainConfig(epochs=8, batch_size=16, lr=3e-3))
    rows = list(csv.DictReader(open(tmp_path / "a.csv")))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 9))
    assert {"loss", "mse", "lr", "seconds", "img_per_s"} <= set(rows[0])
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])


def test_model_file_roundtrip_without_pickle(tmp_path):
    model, _ = _train(tmp_path, "a", TrainConfig(epochs=1, batch_size=16, input_scale=2.0))
    loaded, hparams = load_model(tmp_path / "a.pt")
    assert hparams["model"] == "conv_ae" and hparams["input_scale"] == 2.0
    for name, value in model.state_dict().items():  # trained channels-last, reloaded NCHW
        assert torch.equal(loaded.state_dict()[name], value), name
    x = torch.rand(2, 1, 8, 8)
    torch.testing.assert_close(loaded.encode(x), model.eval().encode(x), rtol=1e-5, atol=1e-6)
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="bad.pt: not a deepclust model file"):
        load_model(tmp_path / "bad.pt")


_KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np, torch
    from deepclust.train_config import TrainConfig
    from deepclust.training import pretrain
    out = sys.argv[1]
    images = np.random.default_rng(0).uniform(0, 1, (64, 1, 8, 8)).astype(np.float32)
    kill_at = int(sys.argv[2])
    def die(epoch, row):
        if epoch == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    pretrain("conv_ae", {}, TrainConfig(epochs=6, batch_size=16, checkpoint_every=2), images, 4,
             seed=3, device=torch.device("cpu"), model_path=f"{out}/model.pt",
             log_csv=f"{out}/log.csv", checkpoint_path=f"{out}/ckpt.pt", callbacks=(die,))
    """
)


def test_killed_run_resumes_from_checkpoint_and_matches_uninterrupted(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    killed = subprocess.run([sys.executable, "-c", _KILLED_RUN, str(tmp_path), "3"], env=env)
    assert killed.returncode == -9  # really killed, mid-run, after epoch 3
    assert (tmp_path / "ckpt.pt").exists() and not (tmp_path / "model.pt").exists()
    assert torch.load(tmp_path / "ckpt.pt", weights_only=True)["epoch"] == 2
    # a live run's log is never under the output's name (issue 35): a killed run leaves no
    # half-written train_log an interrupted Snakemake could mistake for complete
    assert not (tmp_path / "log.csv").exists()
    assert len(list(csv.DictReader(open(tmp_path / "log.live.csv")))) == 3

    cfg = TrainConfig(epochs=6, batch_size=16, checkpoint_every=2)
    images = _images()
    _, trainer = pretrain(
        "conv_ae",
        {},
        cfg,
        images,
        4,
        seed=3,
        device=CPU,
        model_path=tmp_path / "model.pt",
        log_csv=tmp_path / "log.csv",
        checkpoint_path=tmp_path / "ckpt.pt",
    )
    assert trainer.resumed_from == 2
    assert not (tmp_path / "ckpt.pt").exists()  # removed once the model is written
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert not (tmp_path / "log.live.csv").exists()

    fresh, _ = pretrain(
        "conv_ae", {}, cfg, images, 4, seed=3, device=CPU, model_path=tmp_path / "fresh.pt"
    )
    resumed, _ = load_model(tmp_path / "model.pt")
    for pa, pb in zip(resumed.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(pa, pb)


def test_run_killed_after_its_last_epoch_still_writes_the_log(tmp_path):
    """Killed between the last checkpoint and the model: the rerun trains nothing, and must
    still write its training log (an output; the killed job's copy is gone)."""
    cfg = TrainConfig(epochs=2, batch_size=16, checkpoint_every=1)
    paths = {"checkpoint_path": tmp_path / "ckpt.pt", "log_csv": tmp_path / "log.csv"}
    Trainer(cfg, CPU, fingerprint="run", **paths).fit(
        build_model("conv_ae", (1, 8, 8), 4), _images(), seed=0
    )
    (tmp_path / "log.csv").unlink()
    again = Trainer(cfg, CPU, fingerprint="run", **paths)
    again.fit(build_model("conv_ae", (1, 8, 8), 4), _images(), seed=0)
    assert again.resumed_from == 2
    assert [int(r["epoch"]) for r in csv.DictReader(open(tmp_path / "log.csv"))] == [1, 2]


def test_checkpoint_from_another_config_is_not_resumed(tmp_path):
    ckpt = tmp_path / "ckpt.pt"

    # Leave a checkpoint behind by interrupting a run in-process.
    class Stop(Exception):
        pass

    def stop(epoch, row):
        raise Stop

    with pytest.raises(Stop):
        _train(
            tmp_path,
            "a",
            TrainConfig(epochs=4, batch_size=16, checkpoint_every=1),
            checkpoint_path=ckpt,
            callbacks=(stop,),
        )
    assert ckpt.exists()
    _, trainer = _train(
        tmp_path,
        "b",
        TrainConfig(epochs=4, batch_size=16, checkpoint_every=1, lr=5e-4),
        checkpoint_path=ckpt,
    )
    assert trainer.resumed_from == 0


def _interrupt_after(tmp_path, cfg, epochs_done):
    """Train with ``cfg`` and stop it after ``epochs_done`` epochs, leaving its checkpoint."""

    class Stop(Exception):
        pass

    def stop(epoch, row):
        if epoch == epochs_done:
            raise Stop

    with pytest.raises(Stop):
        _train(tmp_path, "first", cfg, checkpoint_path=tmp_path / "ckpt.pt", callbacks=(stop,))


@pytest.mark.parametrize(
    ("scheduler", "new_epochs", "resumed"),
    [("none", 6, 2), ("none", 1, 0), ("cosine", 6, 0)],
)
def test_raising_epochs_resumes_only_without_a_schedule(tmp_path, scheduler, new_epochs, resumed):
    # Without a schedule epochs 1-2 of a 4- and of a 6-epoch run are the same computation;
    # a cosine schedule depends on the total, and a 1-epoch run cannot start at epoch 2.
    _interrupt_after(
        tmp_path, TrainConfig(epochs=4, batch_size=16, scheduler=scheduler, checkpoint_every=1), 2
    )
    cfg = TrainConfig(epochs=new_epochs, batch_size=16, scheduler=scheduler, checkpoint_every=3)
    continued, trainer = _train(tmp_path, "second", cfg, checkpoint_path=tmp_path / "ckpt.pt")
    assert trainer.resumed_from == resumed
    if resumed:
        fresh, _ = _train(tmp_path, "fresh", cfg)
        for pa, pb in zip(
            continued.state_dict().values(), fresh.state_dict().values(), strict=True
        ):
            assert torch.equal(pa, pb)


def test_diverging_loss_fails_clearly(tmp_path):
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        _train(tmp_path, "a", TrainConfig(epochs=3, batch_size=16, lr=1e30))


def test_a_checkpoint_resumes_only_on_the_same_device_kind_and_precision(monkeypatch):
    cfg, hparams = TrainConfig(), {"model": "conv_ae"}
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": False})
    cpu = run_fingerprint(cfg, hparams, 64, CPU)
    # auto on a CPU without native bf16 computes in float32, as amp: false does
    assert run_fingerprint(TrainConfig(amp=False), hparams, 64, CPU) == cpu
    cpu_bf16 = run_fingerprint(TrainConfig(amp=True), hparams, 64, CPU)
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": True})
    assert run_fingerprint(cfg, hparams, 64, CPU) == cpu_bf16  # auto: native bf16 here
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    gpu_bf16 = run_fingerprint(cfg, hparams, 64, torch.device("cuda", 0))
    gpu_fp32 = run_fingerprint(TrainConfig(amp=False), hparams, 64, torch.device("cuda", 0))
    assert len({cpu, cpu_bf16, gpu_bf16, gpu_fp32}) == 4


def test_a_checkpoint_in_one_precision_is_not_resumed_in_the_other(tmp_path):
    _interrupt_after(tmp_path, TrainConfig(epochs=4, batch_size=16, amp=False), 2)
    _, trainer = _train(
        tmp_path, "bf16", TrainConfig(epochs=4, batch_size=16, amp=True),
        checkpoint_path=tmp_path / "ckpt.pt",
    )  # fmt: skip
    assert trainer.resumed_from == 0 and trainer.precision == "bf16-autocast"
    assert len(trainer.history) == 4


@pytest.mark.parametrize("name", sorted(set(MODELS) - {"pixels"}))
def test_bf16_and_fp32_losses_agree_on_a_tiny_batch(name):
    """bf16 autocast keeps a float32 master copy and sums in float32: the same network's loss
    on one batch differs by bf16's rounding (8 bits of mantissa, ~0.4 %), not by an error."""
    torch.manual_seed(0)
    model = build_model(name, (1, 16, 16), 4).eval()
    x = torch.rand(16, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.manual_seed(2)  # the VAEs sample their code
        fp32, _ = model.loss(x)
        torch.manual_seed(2)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16, _ = model.loss(x)
    np.testing.assert_allclose(bf16.float().item(), fp32.item(), rtol=0.03)


def test_min_steps_raises_the_epochs_of_a_small_dataset(tmp_path):
    """64 images at batch 16 are 4 steps an epoch: min_steps 20 trains 5 epochs where 2 were
    asked; a dataset that reaches the steps in its epochs trains them unchanged."""
    cfg = TrainConfig(epochs=2, batch_size=16, min_steps=20)
    assert cfg.for_samples(64).epochs == 5
    assert cfg.for_samples(65).epochs == 4  # 5 steps an epoch (the last batch is short)
    assert cfg.for_samples(1000).epochs == 2
    assert cfg.for_samples(64).for_samples(64) == cfg.for_samples(64)
    _, trainer = _train(tmp_path, "a", cfg)
    assert [row["epoch"] for row in trainer.history] == [1, 2, 3, 4, 5]
    # the fingerprint is that of the epochs it trains, whatever said so
    assert cfg.for_samples(64).fingerprint({}) == TrainConfig(epochs=5, batch_size=16).fingerprint(
        {}
    )
    cosine = TrainConfig(epochs=2, batch_size=16, min_steps=20, scheduler="cosine")
    assert cosine.for_samples(64).fingerprint({}) != cosine.for_samples(1000).fingerprint({})


def test_checkpoints_are_spaced_in_time_where_epochs_are_fast(tmp_path):
    """On a GPU `checkpoint_every` epochs can be seconds: a minimum spacing thins them out, and
    the last epoch's checkpoint is still written."""
    seen = {}
    for spacing in (0.0, 3600.0):
        ckpt = tmp_path / f"ckpt{spacing}.pt"
        exists = []
        trainer = Trainer(
            TrainConfig(epochs=3, batch_size=16, checkpoint_every=1),
            CPU,
            checkpoint_path=ckpt,
            checkpoint_min_seconds=spacing,
            callbacks=(lambda epoch, row, ckpt=ckpt, exists=exists: exists.append(ckpt.exists()),),
        )
        trainer.fit(build_model("conv_ae", (1, 8, 8), 4), _images(), seed=0)
        seen[spacing] = exists
    assert seen == {0.0: [True, True, True], 3600.0: [False, False, True]}
    assert Trainer(TrainConfig(), torch.device("cuda", 0)).checkpoint_min_seconds == 60.0
    assert Trainer(TrainConfig(), CPU).checkpoint_min_seconds == 0.0


def test_cuda_rng_is_restored_for_the_gpus_a_requeued_job_still_sees(monkeypatch):
    restored = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, i: restored.append((state, i)))
    restore_cuda_rng(["state of GPU 0", "state of GPU 1"])  # saved on a two-GPU job
    assert restored == [("state of GPU 0", 0)]
    restore_cuda_rng([])
    assert len(restored) == 1


@pytest.mark.parametrize(("amp", "precision"), [(False, "fp32"), (True, "bf16-autocast")])
def test_the_model_file_says_where_and_in_what_precision_it_was_trained(tmp_path, amp, precision):
    _, trainer = _train(tmp_path, "m", TrainConfig(epochs=1, batch_size=16, amp=amp))
    _, hparams = load_model(tmp_path / "m.pt")
    kept = {"keep": "last", "epoch": 1, "loss": trainer.history[0]["loss"]}
    assert hparams["trained_on"] == {
        "device": "cpu",
        "precision": precision,
        "kept": kept,
        "warnings": [],
    }


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_the_fused_optimizer_on_the_cpu_makes_the_same_update(optimizer):
    cfg = TrainConfig(optimizer=optimizer, weight_decay=0.01, lr=1e-2)
    weights = {}
    for fused in (True, False):
        torch.manual_seed(0)
        model = build_model("dense_ae", (1, 8, 8), 4, hidden_dims=[16])
        opt = make_optimizer(model, cfg, CPU)
        if not fused:  # the per-tensor loop, as torch runs it on the CPU unless asked
            opt = type(opt)(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        assert opt.defaults["fused"] is (True if fused else None)
        for step in range(5):
            loss, _ = model.loss(
                torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(step))
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
        weights[fused] = torch.cat([p.detach().flatten() for p in model.parameters()])
    torch.testing.assert_close(weights[True], weights[False], rtol=1e-5, atol=1e-6)


def test_sgd_with_momentum_is_the_fused_heavy_ball_update_and_keeps_adam_fingerprints():
    """DEC's published MNIST recipe: SGD, lr 1, momentum 0.9. The optimizer steps as torch's own
    SGD does; momentum is part of an SGD run's fingerprint and absent from Adam's, so the
    checkpoints of runs configured before the key existed still resume."""
    cfg = TrainConfig(optimizer="sgd", lr=0.5, momentum=0.9)
    torch.manual_seed(0)
    model = build_model("dense_ae", (1, 8, 8), 4, hidden_dims=[16])
    opt = make_optimizer(model, cfg, CPU)
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["momentum"] == 0.9
    assert opt.defaults["fused"] is True
    before = [p.detach().clone() for p in model.parameters()]
    velocity = None
    for step in range(3):
        loss, _ = model.loss(torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(step)))
        opt.zero_grad()
        loss.backward()
        grads = [p.grad.detach().clone() for p in model.parameters()]
        velocity = (
            grads
            if velocity is None
            else [0.9 * v + g for v, g in zip(velocity, grads, strict=True)]
        )
        before = [b - 0.5 * v for b, v in zip(before, velocity, strict=True)]
        opt.step()
    for expected, p in zip(before, model.parameters(), strict=True):
        torch.testing.assert_close(p.detach(), expected, rtol=1e-5, atol=1e-6)
    assert TrainConfig(momentum=0.5).fingerprint({}) == TrainConfig().fingerprint({})
    assert cfg.fingerprint({}) != TrainConfig(optimizer="sgd", lr=0.5, momentum=0.5).fingerprint({})
    with pytest.raises(ValueError, match="optimizer must be one of .*'sgd'.*got 'rmsprop'"):
        make_optimizer(model, TrainConfig(optimizer="rmsprop"), CPU)


def test_training_defaults_are_the_schemas():
    """TrainConfig's defaults and the config schema's say the same: a default the schema leaves
    out (adding one would change every extractor's params and rerun them) is stated at the
    start of the key's description instead ("Default 0.")."""
    import dataclasses
    from pathlib import Path

    import yaml

    schema = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml").read_text()
    )
    properties = schema["$defs"]["extractor"]["properties"]
    for field in dataclasses.fields(TrainConfig):
        spec = properties[field.name]
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        if "default" in spec:
            assert spec["default"] == default, field.name
        else:
            stated = yaml.safe_dump(default).split("\n")[0]
            assert spec["description"].startswith(f"Default {stated}."), field.name


def test_an_unknown_training_key_is_refused_not_dropped():
    assert TrainConfig.from_dict({"model": "dense_ae", "epochs": 3}).epochs == 3
    with pytest.raises(ValueError, match="'lrate'.*not a training setting"):
        TrainConfig.from_dict({"model": "dense_ae", "lrate": 0.1})


def _spiking_run(cfg: TrainConfig, spike_at: int, stop_at: int | None = None, **kw):
    """A conv AE on 64 images whose weights are thrown off after epoch ``spike_at`` (its loss
    already recorded): the epochs after it are worse. ``stop_at``: the run dies after that
    epoch's checkpoint, as a killed job. Returns the trainer, the model and the weights at
    the end of epoch ``spike_at``, before the throw."""
    torch.manual_seed(0)
    model = build_model("conv_ae", (1, 8, 8), 4)
    before = {}

    def spike(epoch, row):
        if epoch == spike_at:
            before.update({k: v.clone() for k, v in model.state_dict().items()})
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(torch.randn_like(p))
        if epoch == stop_at:
            raise KeyboardInterrupt

    trainer = Trainer(cfg, CPU, callbacks=(spike,), **kw)
    try:
        trainer.fit(model, _images(), seed=0)
    except KeyboardInterrupt:
        pass
    return trainer, model, before


def test_keep_best_saves_the_lowest_loss_epochs_weights_and_says_which():
    """A run thrown off after epoch 4 of 6: `keep: best` ends with epoch 4's weights and says
    so; `keep: last` (the default) with the thrown-off ones, which the spike warning names."""
    from deepclust.degenerate import training_warnings

    cfg = TrainConfig(epochs=6, batch_size=16, lr=3e-3, keep="best")
    trainer, model, before = _spiking_run(cfg, spike_at=4)
    losses = [row["loss"] for row in trainer.history]
    assert min(losses[4:]) > 1.5 * losses[3] and losses.index(min(losses)) == 3
    assert trainer.kept == {"keep": "best", "epoch": 4, "loss": losses[3]}
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name
    assert training_warnings(losses, kept_epoch=4) == []

    last, model, before = _spiking_run(replace(cfg, keep="last"), spike_at=4)
    assert last.kept == {"keep": "last", "epoch": 6, "loss": last.history[-1]["loss"]}
    assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items())
    (warning,) = training_warnings([row["loss"] for row in last.history])
    assert warning.startswith("the saved model is the last epoch's") and "keep: best" in warning
    # `last` keeps the fingerprints of checkpoints written before the key; `best` has its own
    assert replace(cfg, keep="last").fingerprint({}) == TrainConfig(
        epochs=6, batch_size=16, lr=3e-3
    ).fingerprint({})
    assert cfg.fingerprint({}) != replace(cfg, keep="last").fingerprint({})
    with pytest.raises(ValueError, match="keep: 'first' is not one of"):
        TrainConfig.from_dict({"keep": "first"})


def test_a_resumed_keep_best_run_keeps_the_best_weights_from_before_its_stop(tmp_path):
    """The best epoch (4) lies before the stop (after epoch 5): the checkpoint carries its
    weights, and the resumed run ends as the uninterrupted one."""
    cfg = TrainConfig(epochs=6, batch_size=16, lr=3e-3, keep="best", checkpoint_every=1)
    whole, whole_model, _ = _spiking_run(cfg, spike_at=4)
    checkpoint = tmp_path / "checkpoint.pt"
    _spiking_run(cfg, spike_at=4, stop_at=5, checkpoint_path=checkpoint, fingerprint="f")
    resumed, resumed_model, _ = _spiking_run(
        cfg, spike_at=4, checkpoint_path=checkpoint, fingerprint="f"
    )
    assert resumed.resumed_from == 5 and resumed.kept == whole.kept
    assert resumed.kept["epoch"] == 4
    for name, value in resumed_model.state_dict().items():
        assert torch.equal(value, whole_model.state_dict()[name]), name


def test_keep_best_is_said_in_the_model_file(tmp_path):
    _, trainer = _train(tmp_path, "m", TrainConfig(epochs=5, batch_size=16, keep="best"))
    _, hparams = load_model(tmp_path / "m.pt")
    losses = [row["loss"] for row in trainer.history]
    best = losses.index(min(losses)) + 1
    assert hparams["trained_on"]["kept"] == {"keep": "best", "epoch": best, "loss": min(losses)}
