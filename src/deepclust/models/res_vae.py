"""MFVC's residual beta-VAE with SimAM attention and multi-scale ("early") feature fusion.

Encoder: five Res-VAE-Blocks, 1 -> 16 -> 32 -> 64 -> 128 -> 256 channels, each followed by 2x2
max pooling (32x32 -> 1x1; odd sizes round up, so any input size works). A block is ``(conv3x3 + BN, LeakyReLU, conv3x3 + BN) -> SimAM`` on
the main path, ``conv1x1 + BN`` on the shortcut, summed, then LeakyReLU. Every block's output is
global-average-pooled and the five vectors concatenated (16 + 32 + 64 + 128 + 256 = 496 values),
then BN + LeakyReLU and two linear heads give the mean and log-variance of ``z``. The decoder
mirrors it: linear to 256 x 1 x 1, five (nearest upsampling to the matching encoder size +
residual block) stages back to 16 channels at full size, and a 3x3 conv with a sigmoid. Loss: ``||x - x'||^2`` summed over pixels
(per image) ``+ beta * KL(N(mu, sigma^2) || N(0, I))``; features: the mean.

Readings (the paper fixes neither): ``latent_dim`` (default 10) and ``beta`` (default 1) are
parameters; pooling is max pooling; SimAM uses the ``H*W - 1`` variance of its reference code.
The paper resizes every dataset to 32x32: set ``datasets.<name>.size: 32``.

References
----------
- Chen Junfen, Han Jinchi, Xie Bojun, Xie Zhenghao. Clustering algorithm based on variational
  autoencoder and manifold features (MFVC; 基于变分自编码器与流形特征的聚类算法). Journal of Shanxi University
  (Natural Science Edition) 47(1): 69-80, 2024. doi:10.13451/j.sxu.ns.2023139. No official code.
  docs/papers/MFVC.md: its tables beside our runs.
- Irina Higgins, Loic Matthey, Arka Pal, Christopher Burgess, Xavier Glorot, Matthew Botvinick,
  Shakir Mohamed, Alexander Lerchner. beta-VAE: learning basic visual concepts with a constrained
  variational framework. ICLR 2017.
- Lingxiao Yang, Ru-Yuan Zhang, Lida Li, Xiaohua Xie. SimAM: a simple, parameter-free attention
  module for convolutional neural networks. ICML 2021. Code: github.com/ZjjConan/SimAM.
- Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun. Deep residual learning for image recognition.
  CVPR 2016.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from deepclust.models.base import AutoEncoder, squared_error
from deepclust.models.gaussian import gaussian_kl, reparameterize


class SimAM(nn.Module):
    """Parameter-free attention: ``x * sigmoid((x - mean)^2 / (4 (var + lam)) + 0.5)`` per channel.

    ``mean`` and ``var`` are taken over each channel's H x W positions (``var`` with ``H*W - 1``).
    """

    def __init__(self, lam: float = 1e-4):
        super().__init__()
        self.lam = float(lam)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[2] * x.shape[3] - 1
        sq = (x - x.mean(dim=(2, 3), keepdim=True)).pow(2)
        energy = sq / (4 * (sq.sum(dim=(2, 3), keepdim=True) / max(n, 1) + self.lam)) + 0.5
        return x * torch.sigmoid(energy)


class ResVAEBlock(nn.Module):
    """Main path (conv + BN) x 2 then SimAM, plus a conv + BN shortcut; summed; LeakyReLU."""

    def __init__(self, c_in: int, c_out: int, simam: bool = True, slope: float = 0.2):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.LeakyReLU(slope),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            SimAM() if simam else nn.Identity(),
        )
        self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        self.act = nn.LeakyReLU(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.main(x) + self.shortcut(x))


class ResVAE(AutoEncoder):
    """MFVC's network (see the module docstring).

    Parameters
    ----------
    input_shape : (C, H, W) of the images (the paper: 32x32).
    n_clusters : unused by the network (the latent size is ``latent_dim``).
    channels : block widths.
    latent_dim : size of ``z``.
    beta : weight of the KL term.
    simam : ``False`` removes SimAM from every block (the paper's ablation).
    """

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_clusters: int,
        channels: tuple[int, ...] = (16, 32, 64, 128, 256),
        latent_dim: int = 10,
        beta: float = 1.0,
        simam: bool = True,
    ):
        super().__init__()
        self.input_shape = tuple(input_shape)
        c = self.input_shape[0]
        self.beta = float(beta)
        self.channels = tuple(channels)
        widths = [c, *channels]
        self.blocks = nn.ModuleList(
            ResVAEBlock(a, b, simam) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        # (H, W) entering each block, then after the last pooling (ceil: odd sizes lose nothing)
        self.map_sizes = [tuple(self.input_shape[1:])]
        for _ in channels:
            h, w = self.map_sizes[-1]
            self.map_sizes.append(((h + 1) // 2, (w + 1) // 2))
        self.fusion = nn.Sequential(nn.BatchNorm1d(sum(channels)), nn.LeakyReLU(0.2))
        self.fc_mu = nn.Linear(sum(channels), latent_dim)
        self.fc_logvar = nn.Linear(sum(channels), latent_dim)
        self.bottleneck_shape = (channels[-1], *self.map_sizes[-1])
        self.unembed = nn.Linear(latent_dim, math.prod(self.bottleneck_shape))
        out_widths = [*channels[::-1], channels[0]]  # 256 -> 128 -> 64 -> 32 -> 16 -> 16
        self.up_blocks = nn.ModuleList(
            ResVAEBlock(a, b, simam) for a, b in zip(out_widths[:-1], out_widths[1:], strict=True)
        )
        self.to_image = nn.Conv2d(channels[0], c, 3, padding=1)

    def fused_features(self, x: torch.Tensor) -> torch.Tensor:
        """The 496-wide early fusion: global average pools of every block's output."""
        pooled = []
        for block in self.blocks:
            x = block(x)
            pooled.append(x.mean(dim=(2, 3)))
            x = F.max_pool2d(x, 2, ceil_mode=True)
        return torch.cat(pooled, dim=1)

    def _posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.fusion(self.fused_features(x))
        return self.fc_mu(h), self.fc_logvar(h)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The latent mean: MFVC's clustering feature."""
        return self._posterior(x)[0]

    def encoder_layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each block's global average pool (what the fusion passes on), then the latent mean:
        a GCN fused layer by layer sees 16, 32, 64, 128, 256 and ``latent_dim`` wide inputs."""
        pooled = self.fused_features(x)
        h = self.fusion(pooled)
        return [*torch.split(pooled, self.channels, dim=1), self.fc_mu(h)]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.unembed(z), 0.2).view(-1, *self.bottleneck_shape)
        for block, size in zip(self.up_blocks, self.map_sizes[-2::-1], strict=True):
            x = block(F.interpolate(x, size=size, mode="nearest"))
        return torch.sigmoid(self.to_image(x))

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``||x - x'||^2`` per image (summed over pixels) + ``beta`` x KL, batch means."""
        mu, logvar = self._posterior(x)
        z = reparameterize(mu, logvar)
        recon = squared_error(self.decode(z), x)
        kl = gaussian_kl(mu, logvar)
        return recon + self.beta * kl, {"recon": recon.detach(), "kl": kl.detach()}
