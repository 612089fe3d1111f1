"""ASCAE / SCAE: shapes for every input size, the F layer, the ablation, the loss terms."""

import pytest
import torch

from deepclust.models import build_model
from deepclust.models.ascae import same_padding

SHAPES = [(1, 8, 8), (1, 16, 16), (1, 28, 28), (1, 32, 32), (3, 32, 32), (1, 128, 128)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["ascae", "scae"])
def test_shapes_for_every_input_size(name, shape):
    model = build_model(name, shape, n_clusters=7)
    x = torch.rand(2, *shape) * 255
    assert model(x).shape == x.shape
    assert model.features(x).shape == (2, 50)  # the F layer
    assert model.encode(x).shape == (2, 7)  # D2 has k units
    assert model.convs[-1].out_size == (1, 1)  # C4 covers the whole map
    assert [c.conv.out_channels for c in model.convs] == [25, 50, 50, 50]
    assert model.convs[0].conv.stride == (3, 3) and model.convs[1].conv.stride == (2, 2)


def test_c4_kernel_is_derived_from_the_shape():
    assert build_model("ascae", (1, 28, 28), 10).convs[-1].conv.kernel_size == (5, 5)
    assert build_model("ascae", (1, 16, 16), 10).convs[-1].conv.kernel_size == (3, 3)
    assert build_model("ascae", (1, 128, 128), 10).convs[-1].conv.kernel_size == (22, 22)


def test_same_padding_matches_tensorflow():
    assert same_padding(28, 3, 3) == (1, 1)  # out 10: (10-1)*3+3-28 = 2
    assert same_padding(10, 3, 2) == (0, 1)  # out 5: total 1, the extra on the far side
    assert same_padding(5, 3, 1) == (1, 1)


def test_scae_has_no_d1_and_ascae_does():
    ascae, scae = build_model("ascae", (1, 16, 16), 10), build_model("scae", (1, 16, 16), 10)
    assert isinstance(ascae.d1, torch.nn.Linear) and scae.d1 is None
    n_d1 = 50 * 50 + 50
    assert (
        sum(p.numel() for p in ascae.parameters()) - sum(p.numel() for p in scae.parameters())
        == n_d1
    )


def test_feature_layer_option_selects_d2():
    model = build_model("ascae", (1, 16, 16), 10, feature_layer="D2")
    assert model.features(torch.rand(3, 1, 16, 16)).shape == (3, 10)
    with pytest.raises(ValueError, match="feature_layer"):
        build_model("ascae", (1, 16, 16), 10, feature_layer="D1")


def test_loss_terms_are_the_papers_equation():
    torch.manual_seed(0)
    model = build_model("ascae", (1, 16, 16), 10, lam=20.0)
    x = torch.rand(4, 1, 16, 16) * 255
    total, terms = model.loss(x)
    codes = model.encode_all(x)
    g = torch.relu(model.d3(codes["D2"]))
    expected_rec = ((x - model(x)) ** 2).sum(dim=(1, 2, 3)).mean()
    expected_con = ((codes["F"] - g) ** 2).sum(dim=1).mean()
    assert terms["reconstruction"] == pytest.approx(expected_rec.item(), rel=1e-5)
    assert terms["consistency"] == pytest.approx(expected_con.item(), rel=1e-5)
    assert total.item() == pytest.approx((expected_rec + 20.0 * expected_con).item(), rel=1e-5)
    zero_lambda = build_model("ascae", (1, 16, 16), 10, lam=0.0)
    zero_lambda.load_state_dict(model.state_dict())
    assert zero_lambda.loss(x)[0].item() == pytest.approx(expected_rec.item(), rel=1e-5)


def test_gaussian_init_with_sd_0_1():
    torch.manual_seed(0)
    weights = build_model("ascae", (1, 128, 128), 10).convs[-1].conv.weight
    assert (
        weights.std().item() == pytest.approx(0.1, rel=0.02) and abs(weights.mean().item()) < 0.01
    )


def test_glorot_init_on_request():
    glorot = build_model("ascae", (1, 28, 28), 10, init_std=None)
    bound = (6 / (50 * 9 + 50 * 9)) ** 0.5
    g_weight = glorot.convs[2].conv.weight
    assert g_weight.abs().max().item() <= bound and g_weight.std().item() < 0.06
    assert torch.count_nonzero(glorot.d2.bias) == 0


@pytest.mark.parametrize("name", ["ascae", "scae"])
def test_mean_reduction_divides_each_term_by_its_size(name):
    """Eq. 2 under per-element means (the scale the paper's table 5 fits): the reconstruction
    is divided by the pixel count, the consistency by F's 50 units; lambda is not rescaled."""
    torch.manual_seed(0)
    summed = build_model(name, (1, 16, 16), 10, lam=20.0)
    mean = build_model(name, (1, 16, 16), 10, lam=20.0, reduction="mean")
    mean.load_state_dict(summed.state_dict())
    x = torch.rand(4, 1, 16, 16) * 255
    _, sum_terms = summed.loss(x)
    total, terms = mean.loss(x)
    assert terms["reconstruction"].item() == pytest.approx(
        sum_terms["reconstruction"].item() / 256, rel=1e-5
    )
    assert terms["consistency"].item() == pytest.approx(
        sum_terms["consistency"].item() / 50, rel=1e-5
    )
    expected = terms["reconstruction"] + 20.0 * terms["consistency"]
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(ValueError, match="reduction must be one of"):
        build_model(name, (1, 16, 16), 10, reduction="avg")


@pytest.mark.parametrize("shape", [(1, 16, 16), (1, 28, 28), (3, 32, 32)])
@pytest.mark.parametrize("name", ["ascae", "scae"])
def test_mirror_decoder_is_the_encoders_transpose(name, shape):
    """The plain mirror: T_i maps C_i's output channels back to its input channels, the last
    one gives the image with no output layer and no ReLU (it can go negative)."""
    torch.manual_seed(0)
    mirror = build_model(name, shape, 10, decoder="mirror")
    paper = build_model(name, shape, 10)
    assert mirror.output is None and isinstance(paper.output, torch.nn.Conv2d)
    mirrored = [(c.conv.out_channels, c.conv.in_channels) for c in reversed(mirror.convs)]
    assert [(d.deconv.in_channels, d.deconv.out_channels) for d in mirror.deconvs] == mirrored
    assert [d.deconv.out_channels for d in paper.deconvs] == [50, 50, 50, 25]
    x = torch.rand(3, *shape) * 255
    assert mirror(x).shape == x.shape
    assert (mirror(x) < 0).any()  # a linear last layer
    with pytest.raises(ValueError, match="decoder must be"):
        build_model(name, shape, 10, decoder="unet")


def _as_convolutions(model, x):
    """The ASCAE computed with its conv and transposed-conv modules as they are, layer by layer:
    the reference the matrix-product paths (C1, C4, T4, T1 + output) must agree with."""
    for c in model.convs:
        (top, bottom), (left, right) = c.pads
        x = torch.relu(c.conv(torch.nn.functional.pad(x, (left, right, top, bottom))))
    f = x.flatten(1)
    h = torch.relu(model.d1(f)) if model.d1 is not None else f
    y = torch.relu(model.d3(torch.relu(model.d2(h)))).view(-1, 50, 1, 1)
    for i, d in enumerate(model.deconvs):
        (top, left), (height, width) = d.crop, d.out_size
        y = d.deconv(y)[..., top : top + height, left : left + width]
        if i < len(model.deconvs) - 1 or model.output is not None:
            y = torch.relu(y)
    return f, y if model.output is None else model.output(y)


@pytest.mark.parametrize("shape", [(1, 16, 16), (1, 20, 20), (1, 28, 29), (3, 32, 32)])
@pytest.mark.parametrize("decoder", ["paper", "mirror"])
@pytest.mark.parametrize("name", ["ascae", "scae"])
def test_matrix_product_paths_compute_the_convolutions(name, decoder, shape):
    """C1 (kernel = stride), C4 (kernel = map) and their transposes run as matrix products;
    F, the reconstruction and every gradient are the convolutions' up to float rounding."""
    torch.manual_seed(0)
    model = build_model(name, shape, 10, decoder=decoder, init_std=None)
    assert [c.path for c in model.convs] == ["patches", "conv", "conv", "whole"]
    assert [d.path for d in model.deconvs] == ["whole", "conv", "conv", "patches"]
    x = torch.rand(6, *shape)
    codes = model.encode_all(x)
    x_hat = model._decode_from_d3(model._d3(codes["D2"]))
    ref_f, ref_x_hat = _as_convolutions(model, x)
    torch.testing.assert_close(codes["F"], ref_f, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(x_hat, ref_x_hat, rtol=1e-5, atol=1e-6)
    grads = torch.autograd.grad(x_hat.square().sum(), list(model.parameters()))
    ref_grads = torch.autograd.grad(ref_x_hat.square().sum(), list(model.parameters()))
    for grad, ref in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(grad, ref, rtol=1e-4, atol=1e-6)
