"""ASCAE: the asymmetric strided convolutional autoencoder, and its symmetric ablation SCAE.

Encoder: C1 25 filters 3x3 stride 3 (non-overlapping patches), C2 50 3x3 stride 2, C3 50 3x3
stride 1, C4 50 filters whose kernel covers the whole remaining map (output 1x1), flattened to
the 50-d **F layer**; then FC D1 (50) and FC D2 (k = n_clusters). Decoder: FC D3 (50, the size
of F), then transposed convolutions T4..T1 mirroring C4..C1 and an output layer. ReLU throughout,
no pooling. Objective (eq. 2):

    J = 1/N sum ||x - x_hat||^2 + lambda/N sum ||b - g||^2,  b = F output, g = D3 output,

on pixels in [0, 255] (set the extractor's ``input_scale: 255``), lambda = 20.

Readings chosen where the paper is silent (each is a constructor argument):

* Padding: every conv uses TensorFlow-style "same" padding (output = ceil(input / stride)).
  With no padding USPS's 16x16 would shrink to 2x2 before C3's 3x3 kernel, so the paper must
  pad; "same" gives 28 -> 10 -> 5 -> 5 -> 1 and 16 -> 6 -> 3 -> 3 -> 1. C4's kernel is derived
  from the shape, never hard-coded. Each transposed conv is the exact adjoint: it crops the
  padding the matching conv added.
* "C1 and T1 have 25 filters, the rest 50": T4, T3, T2 output 50 maps, T1 outputs 25, and a
  linear 1x1 conv gives the image channels.
* D1, D2 and D3 use ReLU like every other layer (the paper: "ASCAE uses ReLU"); the output
  layer is linear, since the target is unnormalised grey levels.
* "G(0, 0.12)" is read as a Gaussian with standard deviation 0.1 (``init_std``); biases start at 0.
  ``init_std: null`` gives Glorot-uniform instead, to test that reading.
* ``decoder="paper"``: T1 keeps 25 filters (the paper: "C1 and T1 have 25 filters") and a
  linear 1x1 output layer maps them to the image. ``decoder="mirror"`` is the plain transpose of
  the encoder that a Keras user would write: T2 outputs 25 maps, T1 outputs the image channels,
  linear, and there is no extra layer.
* ``reduction="sum"``: squared norms are summed over pixels (or F's 50 values) and averaged
  over the samples, as eq. 2 writes them. ``reduction="mean"`` averages over the elements too
  (Keras' ``mse``): the paper's table 5 objective values (MNIST: SCAE 838.1, ASCAE 809.0) fit a
  per-pixel mean on [0, 255] (an RMS error of ~29 grey levels), not a sum over 784 pixels
  (~6e5). Under means lambda weighs the 50-value consistency term against a per-pixel error,
  i.e. ``pixels / 50`` times more than under sums (5.1x on USPS, 15.7x on MNIST).

SCAE is the same network without D1 (``asymmetric=False``, named ``scae`` in :data:`~deepclust.models.base.MODELS`).

References
----------
- ASCAE: 基于无监督学习视觉特征的深度聚类方法 (Deep clustering method based on unsupervised visual features
  learning), a Chinese-language journal article; the text this project reproduces from carries no
  author, venue or year line. No official code. docs/papers/ASCAE.md: its tables beside our runs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from deepclust.models.base import (
    AutoEncoder,
    check_reduction,
    squared_error,
    xavier_init,
)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "same" padding (before, after) for one spatial axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class _SameConv(nn.Module):
    """Conv2d with "same" (or, with ``valid=True``, no) padding for a fixed input size.

    Two shapes of ASCAE's convolutions are matrix products in disguise, and run as one, which
    oneDNN's convolutions at these tiny sizes do several times slower (bench/RESULTS.md): a
    kernel that covers the whole map (C4: ``path == "whole"``, one product per image) and a
    kernel equal to its stride (C1, 3x3 stride 3: ``"patches"``, one product per
    non-overlapping patch). The parameters are those of ``self.conv`` either way, so the
    network, its checkpoints and its maths are the same; only the order of float sums differs.
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: tuple[int, int],
        stride: int,
        in_size: tuple[int, int],
        valid: bool = False,
    ):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride)
        self.in_size = tuple(in_size)
        if valid:
            self.pads = [(0, 0), (0, 0)]
            self.out_size = tuple(
                (s - k) // stride + 1 for s, k in zip(in_size, kernel, strict=True)
            )
        else:
            self.pads = [same_padding(s, k, stride) for s, k in zip(in_size, kernel, strict=True)]
            self.out_size = tuple(math.ceil(s / stride) for s in in_size)
        self.path = _matmul_path(tuple(kernel), stride, self.in_size, valid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.conv.weight, self.conv.bias
        if self.path == "whole":
            return F.linear(x.flatten(1), weight.flatten(1), bias)[:, :, None, None]
        (top, bottom), (left, right) = self.pads
        x = F.pad(x, (left, right, top, bottom))
        if self.path == "conv":
            return self.conv(x)
        (h, w), k = self.out_size, self.conv.stride[0]
        n, c = x.shape[:2]
        patches = x[..., : h * k, : w * k].reshape(n, c, h, k, w, k).permute(0, 2, 4, 1, 3, 5)
        y = F.linear(patches.reshape(n * h * w, c * k * k), weight.flatten(1), bias)
        return y.view(n, h, w, -1).permute(0, 3, 1, 2)  # NCHW, stored channels-last


def _matmul_path(kernel: tuple[int, int], stride: int, size: tuple[int, int], valid: bool) -> str:
    """How a :class:`_SameConv` (or its transpose) computes: ``"whole"`` where the kernel
    covers the whole unpadded map, ``"patches"`` where the kernel equals the stride (square),
    else ``"conv"``."""
    if valid and kernel == size and stride == 1:
        return "whole"
    if kernel[0] == kernel[1] == stride > 1:
        return "patches"
    return "conv"


class _SameDeconv(nn.Module):
    """The transpose of a :class:`_SameConv`: maps its output size back to its input size
    by cropping the padding the convolution added.

    As its convolution, it runs as a matrix product where the kernel covers the whole output
    (T4, from a 1x1 map) or equals the stride (T1): each input pixel then writes its own
    ``k x k`` patch of the output, which no other pixel touches.
    """

    def __init__(self, c_in: int, c_out: int, forward: _SameConv):
        super().__init__()
        kernel, stride = forward.conv.kernel_size, forward.conv.stride[0]
        self.deconv = nn.ConvTranspose2d(c_in, c_out, kernel, stride=stride)
        self.crop = [p[0] for p in forward.pads]
        self.out_size = forward.in_size
        self.path = forward.path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.path == "patches":
            return self.patches_then(x)
        if self.path == "whole":
            weight, bias = self.deconv.weight, self.deconv.bias  # (c_in, c_out, kh, kw)
            kh, kw = weight.shape[2:]
            y = F.linear(x.flatten(1), weight.flatten(1).t(), bias.repeat_interleave(kh * kw))
            return y.view(len(x), -1, kh, kw)
        y = self.deconv(x)
        top, left = self.crop
        return y[..., top : top + self.out_size[0], left : left + self.out_size[1]]

    def patches_then(self, x: torch.Tensor, pointwise: nn.Conv2d | None = None) -> torch.Tensor:
        """The ``"patches"`` path, optionally followed by ReLU and a 1x1 convolution
        (``pointwise``, ASCAE's output layer) while the output is still one row per pixel:
        both act per pixel, so they commute with the patch shuffle and the crop, and run on
        a contiguous (pixels, channels) matrix instead of the large strided map."""
        weight, bias = self.deconv.weight, self.deconv.bias  # (c_in, c_out, k, k)
        k = self.deconv.stride[0]
        n, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(n * h * w, c)
        # one row per input pixel, its k x k patch of c_out channels laid out (ky, kx, channel)
        y = F.linear(rows, weight.permute(0, 2, 3, 1).reshape(c, -1).t(), bias.repeat(k * k))
        y = y.view(n * h * w * k * k, -1)
        if pointwise is not None:
            y = F.linear(F.relu(y), pointwise.weight.flatten(1), pointwise.bias)
        out = y.view(n, h, w, k, k, -1).permute(0, 5, 1, 3, 2, 4).reshape(n, -1, h * k, w * k)
        top, left = self.crop
        return out[..., top : top + self.out_size[0], left : left + self.out_size[1]]


class ASCAE(AutoEncoder):
    """The ASCAE network; ``asymmetric=False`` drops D1 (SCAE).

    Parameters
    ----------
    input_shape : (C, H, W) of the images.
    n_clusters : k, the width of D2.
    lam : lambda, the weight of the F/D3 consistency term.
    asymmetric : keep D1 (ASCAE) or not (SCAE).
    feature_layer : ``"F"`` (the paper's choice) or ``"D2"``, the layer clustering sees by
        default. Both are saved with the features, so a clusterer can also pick one with its
        ``layer`` key without retraining (the paper's F-vs-D2 comparison).
    init_std : standard deviation of the Gaussian weight initialisation; ``None`` uses
        Glorot-uniform instead (Keras' default, in case the paper's code kept it).
    reduction : ``"sum"`` (eq. 2 as written) or ``"mean"`` (per-element means, what the
        paper's reported objective values fit) for both squared norms.
    decoder : ``"paper"`` (T1 with 25 filters, then a 1x1 output layer) or ``"mirror"`` (the
        encoder's exact transpose, T1 giving the image).
    """

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_clusters: int,
        lam: float = 20.0,
        asymmetric: bool = True,
        feature_layer: str = "F",
        init_std: float | None = 0.1,
        reduction: str = "sum",
        decoder: str = "paper",
    ):
        super().__init__()
        self.reduction = check_reduction(reduction)
        if decoder not in {"paper", "mirror"}:
            raise ValueError(f"decoder must be 'paper' or 'mirror', got {decoder!r}")
        if feature_layer not in {"F", "D2"}:
            raise ValueError(f"feature_layer must be 'F' or 'D2', got {feature_layer!r}")
        self.lam = float(lam)
        self.feature_layer = feature_layer
        channels, size = input_shape[0], tuple(input_shape[1:])
        c1 = _SameConv(channels, 25, (3, 3), 3, size)
        c2 = _SameConv(25, 50, (3, 3), 2, c1.out_size)
        c3 = _SameConv(50, 50, (3, 3), 1, c2.out_size)
        c4 = _SameConv(
            50, 50, c3.out_size, 1, c3.out_size, valid=True
        )  # kernel = the whole map: 1x1 out
        self.convs = nn.ModuleList([c1, c2, c3, c4])
        self.d1 = nn.Linear(50, 50) if asymmetric else None
        self.d2 = nn.Linear(50, n_clusters)
        self.d3 = nn.Linear(n_clusters, 50)
        if decoder == "paper":
            deconvs = [(50, 50, c4), (50, 50, c3), (50, 50, c2), (50, 25, c1)]
            self.output = nn.Conv2d(25, channels, 1)
        else:  # each T_i maps C_i's output channels back to its input channels
            deconvs = [(50, 50, c4), (50, 50, c3), (50, 25, c2), (25, channels, c1)]
            self.output = None
        self.deconvs = nn.ModuleList([_SameDeconv(*args) for args in deconvs])
        if init_std is None:
            xavier_init(self)
        else:
            for module in self.modules():
                if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                    nn.init.normal_(module.weight, 0.0, init_std)
                    nn.init.zeros_(module.bias)

    def encode_all(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """F (the flattened C4 output) and D2."""
        for conv in self.convs:
            x = F.relu(conv(x))
        f = x.flatten(1)
        h = F.relu(self.d1(f)) if self.d1 is not None else f
        return {"F": f, "D2": F.relu(self.d2(h))}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_all(x)["D2"]

    def encoder_layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        """C1-C4 (after ReLU) flattened: the last is F, the layer clustering sees by default, so
        a GCN's code is the feature its K-means start was computed on. With ``feature_layer:
        D2``, D1 (ASCAE) and D2 follow."""
        maps = []
        for conv in self.convs:
            x = F.relu(conv(x))
            maps.append(x.flatten(1))
        if self.feature_layer == "D2":
            if self.d1 is not None:
                maps.append(F.relu(self.d1(maps[-1])))
            maps.append(F.relu(self.d2(maps[-1])))
        return maps

    def feature_layers(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.encode_all(x)

    @property
    def default_feature_layer(self) -> str:
        return self.feature_layer

    def _d3(self, d2: torch.Tensor) -> torch.Tensor:
        return F.relu(self.d3(d2))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self._decode_from_d3(self._d3(z))

    def _decode_from_d3(self, g: torch.Tensor) -> torch.Tensor:
        x = g.view(-1, 50, 1, 1)
        *inner, last = self.deconvs
        for deconv in inner:
            x = F.relu(deconv(x))
        if self.output is None:  # "mirror": T1 gives the image, linear
            return last(x)
        if last.path == "patches":  # T1, ReLU and the output layer, one row per pixel
            return last.patches_then(x, pointwise=self.output)
        return self.output(F.relu(last(x)))

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        codes = self.encode_all(x)
        g = self._d3(codes["D2"])
        x_hat = self._decode_from_d3(g)
        reconstruction = squared_error(x, x_hat, self.reduction)
        consistency = squared_error(codes["F"], g, self.reduction)
        total = reconstruction + self.lam * consistency
        return total, {
            "reconstruction": reconstruction.detach(),
            "consistency": consistency.detach(),
        }


class SCAE(ASCAE):
    """The symmetric ablation: ASCAE without D1."""

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_clusters: int,
        lam: float = 20.0,
        feature_layer: str = "F",
        init_std: float | None = 0.1,
        reduction: str = "sum",
        decoder: str = "paper",
    ):
        super().__init__(
            input_shape,
            n_clusters,
            lam=lam,
            asymmetric=False,
            feature_layer=feature_layer,
            init_std=init_std,
            reduction=reduction,
            decoder=decoder,
        )
