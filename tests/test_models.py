import pytest
import torch

from deepclust.models import MODELS, build_model, check_model_args

SHAPES = [(1, 8, 8), (1, 16, 16), (1, 28, 28), (1, 32, 32), (3, 32, 32), (1, 128, 128)]


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("shape", SHAPES)
def test_every_model_reconstructs_every_input_size(name, shape):
    model = build_model(name, shape, n_clusters=10)
    x = torch.rand(3, *shape)
    assert model(x).shape == x.shape
    assert model.features(x).shape[0] == 3
    loss, terms = model.loss(x)
    assert loss.ndim == 0 and torch.isfinite(loss) and terms


def test_latent_size_defaults_to_n_clusters():
    assert build_model("dense_ae", (1, 8, 8), 7).encode(torch.rand(2, 1, 8, 8)).shape == (2, 7)
    assert build_model("conv_ae", (1, 8, 8), 7, latent_dim=4).encode(
        torch.rand(2, 1, 8, 8)
    ).shape == (2, 4)


def test_dense_ae_layer_widths():
    model = build_model("dense_ae", (1, 28, 28), 10)
    widths = [m.out_features for m in model.encoder if isinstance(m, torch.nn.Linear)]
    assert widths == [500, 500, 2000, 10]


def test_unknown_model_and_argument_are_named():
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        check_model_args("nope", {})
    with pytest.raises(ValueError, match="takes no argument 'depth'"):
        build_model("conv_ae", (1, 8, 8), 3, depth=4)


@pytest.mark.parametrize("name", sorted(set(MODELS) - {"pixels"}))
def test_features_and_loss_are_the_two_calls_in_one(name, monkeypatch):
    """IDEC's step: the same features and loss as two calls, with one encoder pass for the
    plain autoencoders (two for models with their own objective or feature layers)."""
    torch.manual_seed(0)
    model = build_model(name, (1, 16, 16), 4).eval()  # eval: a VAE's code is its mean
    x = torch.rand(5, 1, 16, 16)
    torch.manual_seed(1)
    features, loss = model.features_and_loss(x)
    torch.manual_seed(1)
    torch.testing.assert_close(features, model.features(x))
    torch.testing.assert_close(loss, model.loss(x)[0])
    calls = []
    monkeypatch.setattr(model, "encode", lambda x, inner=model.encode: calls.append(1) or inner(x))
    model.features_and_loss(x)
    if name in {"conv_ae", "dense_ae"}:  # plain reconstruction: one pass
        assert calls == [1]


def test_the_models_a_gcn_can_fuse_are_those_that_expose_their_encoder_layers():
    """One source: the class. The config check and the model's own error both read it."""
    from deepclust.models import gcn_models

    assert gcn_models() == ["conv_ae", "ddecn", "dense_ae", "skip_cae"]
    x = torch.rand(3, 1, 16, 16)
    for name in gcn_models():
        assert build_model(name, (1, 16, 16), 4).encoder_layers(x)[-1].shape[0] == 3
    with pytest.raises(NotImplementedError, match="use conv_ae, ddecn, dense_ae, skip_cae"):
        build_model("ascae", (1, 16, 16), 4).encoder_layers(x)
