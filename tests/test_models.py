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


def test_dense_ae_activation_and_init_are_options_with_n2d_defaults():
    """ReLU and Glorot by default (DEC's and N2D's code); LeakyReLU and PyTorch's default init
    as ClustPy's autoencoders have them; a wrong value is named."""
    torch.manual_seed(0)
    plain = build_model("dense_ae", (1, 8, 8), 3)
    assert [type(m).__name__ for m in plain.encoder][:2] == ["Linear", "ReLU"]
    bound = (6 / (64 + 500)) ** 0.5  # Glorot uniform's bound for the first layer
    assert plain.encoder[0].weight.abs().max() <= bound and plain.encoder[0].bias.abs().max() == 0
    peer = build_model("dense_ae", (1, 8, 8), 3, activation="leaky_relu", init="torch")
    assert (
        isinstance(peer.encoder[1], torch.nn.LeakyReLU) and peer.encoder[1].negative_slope == 0.01
    )
    assert peer.encoder[0].bias.abs().max() > 0  # PyTorch's default draws the biases too
    assert len(peer.encoder_layers(torch.rand(2, 1, 8, 8))) == 4  # three hidden + the code
    torch.manual_seed(0)
    dec_keras = build_model("dense_ae", (1, 8, 8), 3, init="variance_scaling")
    first, last = dec_keras.encoder[0], dec_keras.decoder[-1]
    # Keras' VarianceScaling(1/3, fan_in, uniform): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), zero biases
    assert first.weight.abs().max() <= 64**-0.5 and first.weight.abs().max() > 0.9 * 64**-0.5
    assert last.weight.abs().max() <= 500**-0.5 and last.weight.abs().max() > 0.9 * 500**-0.5
    assert first.bias.abs().max() == 0 and last.bias.abs().max() == 0
    with pytest.raises(ValueError, match="dense_ae: activation 'tanh'"):
        build_model("dense_ae", (1, 8, 8), 3, activation="tanh")
    with pytest.raises(ValueError, match="dense_ae: init 'he'"):
        build_model("dense_ae", (1, 8, 8), 3, init="he")


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


def test_every_bundled_model_exposes_its_encoder_layers_ending_with_its_clustering_feature():
    """Every network can be fused with a GCN (issue 22's every network x every clusterer): the last
    layer is what clustering sees by default, the space the GCN's K-means start is taken in."""
    from deepclust.models import MODELS, gcn_models

    assert gcn_models() == sorted(MODELS)
    x = torch.rand(3, 1, 16, 16)
    for name in gcn_models():
        model = build_model(name, (1, 16, 16), 4).eval()
        layers = model.encoder_layers(x)
        assert all(t.shape[0] == 3 and t.dim() == 2 for t in layers), name
        torch.testing.assert_close(layers[-1], model.features(x).flatten(1))


@pytest.mark.parametrize(
    ("name", "args", "widths"),
    [
        ("ascae", {}, [25 * 6 * 6, 50 * 3 * 3, 50 * 3 * 3, 50]),  # C1-C3 maps, F last
        ("ascae", {"feature_layer": "D2"}, [900, 450, 450, 50, 50, 4]),  # then D1, D2
        ("scae", {"feature_layer": "D2"}, [900, 450, 450, 50, 4]),  # no D1
        ("res_vae", {}, [16, 32, 64, 128, 256, 10]),  # each block's pool, then the latent mean
    ],
)
def test_encoder_layers_of_ascae_and_res_vae(name, args, widths):
    model = build_model(name, (1, 16, 16), 4, **args).eval()
    assert [t.shape[1] for t in model.encoder_layers(torch.rand(2, 1, 16, 16))] == widths


def test_joint_pass_trains_on_the_models_own_objective():
    """A plain AE adds the code's reconstruction (one pass); a model with its own objective adds
    that objective, so a GCN stage fine-tunes it on what it was pretrained with."""
    torch.manual_seed(0)
    x = torch.rand(4, 1, 16, 16)
    plain = build_model("conv_ae", (1, 16, 16), 4)
    assert set(plain.joint_pass(x).losses) == {"mse"}
    for name in ("ascae", "res_vae", "skip_cae"):
        model = build_model(name, (1, 16, 16), 4).eval()  # eval: no sampling, same value twice
        torch.manual_seed(1)
        own = model.joint_pass(x).losses["own"]
        torch.manual_seed(1)
        assert own.item() == pytest.approx(model.loss(x)[0].item(), rel=1e-5), name
