"""SDEKC's convolutional autoencoder with two weighted skip connections.

The CAE of DCEC/DEKM (:class:`~deepclust.models.conv_ae.ConvAE`: conv 32 5x5 s2, 64 5x5 s2,
128 3x3 s2, FC to an embedding of ``n_clusters`` units, mirrored decoder), plus ResNet-style
additive skips between matching encoder and decoder maps: the input of the next transposed conv
is ``w1 * encoder_map + w2 * decoder_map`` for the 64- and 32-channel maps. The paper prints
w1 = 0.999 and w2 = 0.001. ``skip=False`` (or w1 = 0, w2 = 1) gives the plain CAE.

With the printed weights the decoder rebuilds the image almost entirely from the encoder maps,
so the reconstruction hardly depends on the embedding, which then learns next to nothing (on
USPS its K-means ACC is ~0.24; docs/results.md). ``w1 = 0.001, w2 = 0.999`` (a small skip
leak) is the reading that trains the embedding. :meth:`decode` on a code alone (no encoder
maps) is the decoder path with the encoder maps taken as zero.

References
----------
- SDEKC: 基于跳跃连接的深度嵌入K-means聚类 (deep embedded K-means clustering with skip connections), a
  Chinese-language journal article; the text this project reproduces from carries no author, venue
  or year line. No official code. docs/papers/SDEKC.md: its tables beside our runs. The network:
  its section 1.1 and fig. 3.
- Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun. Deep residual learning for image recognition.
  CVPR 2016.
- Wengang Guo, Kaiyan Lin, Wei Ye. Deep embedded K-means clustering. ICDM Workshops 2021. Code:
  github.com/spdj2271/DEKM.
"""

from __future__ import annotations

import torch

from deepclust.models.conv_ae import ConvAE


class SkipCAE(ConvAE):
    """:class:`ConvAE` whose decoder adds ``w1`` x the matching encoder map to ``w2`` x its own.

    Parameters
    ----------
    input_shape, n_clusters, channels, kernels, latent_dim : as :class:`ConvAE`.
    w1 : weight of the encoder map in each skip.
    w2 : weight of the decoder map in each skip.
    skip : ``False`` switches the skips off (the plain CAE, for ablations).
    """

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_clusters: int,
        channels: tuple[int, ...] = (32, 64, 128),
        kernels: tuple[int, ...] = (5, 5, 3),
        latent_dim: int | None = None,
        w1: float = 0.999,
        w2: float = 0.001,
        skip: bool = True,
    ):
        super().__init__(input_shape, n_clusters, channels, kernels, latent_dim)
        self.w1 = float(w1)
        self.w2 = float(w2)
        self.skip = bool(skip)

    def encode_with_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The code and every conv layer's activation map (shallowest first)."""
        maps = []
        for conv in self.convs:
            x = self.act(conv(x))
            maps.append(x)
        return self.embed(x.flatten(1)), maps

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_with_maps(x)[0]

    def decode(self, z: torch.Tensor, maps: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Decode ``z``; ``maps`` are the encoder's activations for the skips (None: zeros)."""
        x = self.act(self.unembed(z)).view(-1, *self.bottleneck_shape)
        targets = self.map_sizes[-2::-1]
        last = len(self.deconvs) - 1
        for i, (deconv, size) in enumerate(zip(self.deconvs, targets, strict=True)):
            x = deconv(x, output_size=size)
            if i == last:
                break
            x = self.act(x)
            if self.skip:
                # deconv i rebuilds the map of encoder conv (last - 1 - i)
                encoder_map = maps[last - 1 - i] if maps is not None else 0.0
                x = self.w1 * encoder_map + self.w2 * x
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, maps = self.encode_with_maps(x)
        return self.decode(z, maps)
