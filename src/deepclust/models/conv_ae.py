"""The plain convolutional autoencoder of DCEC/DEKM, the "CAE" baseline.

conv 32 (5x5, s2) -> conv 64 (5x5, s2) -> conv 128 (3x3, s2) -> FC -> embedding (n_clusters),
mirrored by FC and transposed convolutions. Every conv pads by k // 2, and each transposed conv
is asked for the exact size of the matching encoder map, so any input size works (8x8 digits,
16x16 USPS, 28x28 MNIST, 32x32, 128x128).

References
----------
- Xifeng Guo, Xinwang Liu, En Zhu, Jianping Yin. Deep clustering with convolutional autoencoders.
  ICONIP 2017. Code: github.com/XifengGuo/DCEC.
- Wengang Guo, Kaiyan Lin, Wei Ye. Deep embedded K-means clustering. ICDM Workshops 2021. Code:
  github.com/spdj2271/DEKM.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from deepclust.models.base import AutoEncoder, xavier_init


class ConvAE(AutoEncoder):
    """Strided conv encoder, FC embedding, mirrored transposed-conv decoder; ReLU throughout.

    Parameters
    ----------
    input_shape : (C, H, W) of the images.
    n_clusters : embedding size when ``latent_dim`` is not given.
    channels : filters of the three conv layers.
    kernels : their kernel sizes.
    latent_dim : embedding size.
    """

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_clusters: int,
        channels: tuple[int, ...] = (32, 64, 128),
        kernels: tuple[int, ...] = (5, 5, 3),
        latent_dim: int | None = None,
    ):
        super().__init__()
        if len(channels) != len(kernels):
            raise ValueError(f"channels {channels} and kernels {kernels} must have the same length")
        self.input_shape = tuple(input_shape)
        widths = [input_shape[0], *channels]
        self.convs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, k, stride=2, padding=k // 2)
            for c_in, c_out, k in zip(widths[:-1], widths[1:], kernels, strict=True)
        )
        self.deconvs = nn.ModuleList(
            nn.ConvTranspose2d(c_out, c_in, k, stride=2, padding=k // 2)
            for c_in, c_out, k in reversed(list(zip(widths[:-1], widths[1:], kernels, strict=True)))
        )
        self.map_sizes = self._encoder_map_sizes()  # (H, W) entering each conv, then the last map
        self.bottleneck_shape = (channels[-1], *self.map_sizes[-1])
        latent_dim = latent_dim or n_clusters
        self.embed = nn.Linear(math.prod(self.bottleneck_shape), latent_dim)
        self.unembed = nn.Linear(latent_dim, math.prod(self.bottleneck_shape))
        self.act = nn.ReLU(inplace=True)
        xavier_init(self)

    def _encoder_map_sizes(self) -> list[tuple[int, int]]:
        sizes = [tuple(self.input_shape[1:])]
        for conv in self.convs:
            h, w = sizes[-1]
            k, p = conv.kernel_size[0], conv.padding[0]
            sizes.append(((h + 2 * p - k) // 2 + 1, (w + 2 * p - k) // 2 + 1))
        return sizes

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder_layers(x)[-1]

    def encoder_layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each conv map (after ReLU) flattened, then the embedding."""
        maps = []
        for conv in self.convs:
            x = self.act(conv(x))
            maps.append(x)
        return [*(m.flatten(1) for m in maps), self.embed(x.flatten(1))]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        x = self.act(self.unembed(z)).view(-1, *self.bottleneck_shape)
        targets = self.map_sizes[-2::-1]
        for i, (deconv, size) in enumerate(zip(self.deconvs, targets, strict=True)):
            x = deconv(x, output_size=size)
            if i < len(self.deconvs) - 1:
                x = self.act(x)
        return x
