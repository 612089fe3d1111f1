"""SDDECC's deep discriminant embedded coding network (DDECN): a conv AE with a Gaussian code
trained with Deep-InfoMax mutual-information terms and a standard-normal prior.

Encoder: 3x3 convs (ReLU), a Gaussian code ``(mu, logvar)`` from the last map, ``z`` by
reparameterisation (``mu`` is the clustering feature). Decoder: FC and mirrored transposed convs.
Pretraining loss (paper eq. 12-13)::

    1/(2N) ||X - X_hat||^2  +  mi_weight * (global JSD-MI + mean local JSD-MI)
                            +  prior_weight * KL(N(mu, sigma^2) || N(0, I))

with the Jensen-Shannon MI estimator ``-(log sigmoid T(pos) + log(1 - sigmoid T(neg)))``; negatives
pair each ``z_i`` with another image of the batch (in-batch shuffle). ``T1`` (global) scores the
flattened last conv map with ``z``; ``T2`` (local) scores every position of an intermediate map
with ``z`` broadcast to it, by three 1x1 convs.

Readings of the paper (it gives channels and kernel sizes only), each a parameter here:

- ``channels``: USPS-sized inputs (<= 16 px) get (16, 32), larger ones (16, 16, 32, 32) (table 2).
- ``strides``: every conv downsamples by 2 (as the DCEC/DEKM CAE). This keeps the flattened layer
  widths, which the GCN's matching layers take, small enough for full-batch training.
- ``local_layer``: the local MI map is the output of conv ``len(channels) // 2 - 1`` (8x8 on USPS,
  7x7 on MNIST), an intermediate map as in Deep InfoMax; ``-1`` is the last (deepest) map.
- ``global_input``: ``T1`` sees the last conv map (``"map"``, as Deep InfoMax's global critic),
  of which the code's mean is an affine function, so telling true pairs from shuffled ones is
  nearly trivial; ``"image"`` scores ``T1(x, z)`` on the pixels, as eq. 11 writes it.
- ``latent_dim``: ``n_clusters`` (as SDCN's 10-d code).
- ``reduction``: eq. 13's ``1/(2N) ||X - X_hat||_F^2`` is half the per-image squared error summed
  over pixels (``"sum"``, as written). ``"mean"`` averages over the pixels too (SDCN's MSE): with
  the sum, lambda1 <= 0.1 leaves the MI terms negligible beside 256 (USPS) or 784 pixels.
- The ablation "ConvAE" is ``mi_weight=0, prior_weight=0, variational=False``; "ConvAE + MI" is
  the full DDECN.

References
----------
- Fu Xingwu, Lü Mingming, Liu Wanjun, Wei Xian. Structured deep discriminant embedded coding
  network for image clustering (结构化深度判别嵌入编码网络图像聚类). Laser & Optoelectronics Progress 58(6):
  0610016, 2021. doi:10.3788/LOP202158.0610016. No official code. docs/papers/SDDECC.md: its tables
  beside our runs. The network: its section 3.1.
- R Devon Hjelm, Alex Fedorov, Samuel Lavoie-Marchildon, Karan Grewal, Phil Bachman, Adam
  Trischler, Yoshua Bengio. Learning deep representations by mutual information estimation and
  maximization (Deep InfoMax). ICLR 2019.
- Diederik P. Kingma, Max Welling. Auto-encoding variational Bayes. ICLR 2014.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from deepclust.models.base import (
    AutoEncoder,
    JointPass,
    check_reduction,
    squared_error,
    xavier_init,
)
from deepclust.models.gaussian import gaussian_kl, reparameterize


def jsd_mi_loss(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Negative Jensen-Shannon MI estimate: ``-(log sigmoid(pos) + log(1 - sigmoid(neg)))``, averaged.

    ``2 log 2`` when the critic cannot tell pairs apart, 0 when it separates them perfectly;
    written with softplus for stability.
    """
    return F.softplus(-positive).mean() + F.softplus(negative).mean()


GLOBAL_INPUTS = ("map", "image")


class GlobalCritic(nn.Module):
    """``T1(x, z)``: an MLP on the flattened last conv map (or the image) concatenated with ``z``."""

    def __init__(self, map_size: int, latent_dim: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(map_size + latent_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, feature_map: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([feature_map.flatten(1), z], dim=1)).squeeze(1)


class LocalCritic(nn.Module):
    """``T2(C_ij, z)``: three 1x1 convs over the map with ``z`` broadcast to every position."""

    def __init__(self, channels: int, latent_dim: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels + latent_dim, hidden, 1),
            nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1),
            nn.ReLU(),
            nn.Conv2d(hidden, 1, 1),
        )

    def forward(self, feature_map: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        tiled = z[:, :, None, None].expand(-1, -1, *feature_map.shape[2:])
        return self.net(torch.cat([feature_map, tiled], dim=1)).squeeze(1)  # (N, M, M)


class DDECN(AutoEncoder):
    """Conv AE with a Gaussian code, Deep-InfoMax critics and a prior (SDDECC's feature network).

    Parameters
    ----------
    input_shape : (C, H, W) of the images.
    n_clusters : code size when ``latent_dim`` is not given.
    channels : conv filters (all 3x3); ``None`` picks the paper's list by image size.
    strides : per conv; ``None`` is 2 everywhere.
    latent_dim : code size.
    mi_weight : lambda1, weight of the global and local MI terms (paper grid 0.001-0.1).
    prior_weight : lambda2, weight of the KL to N(0, I) (paper grid 1-2).
    variational : Gaussian code with reparameterisation; ``False`` is a plain AE code.
    local_layer : index of the conv whose map the local critic scores.
    critic_dim : hidden units of both critics.
    reduction : ``"sum"`` (eq. 13 as written) or ``"mean"`` over the pixels of the
        reconstruction term (the factor 1/2 is kept in both).
    global_input : what the global critic pairs with ``z``: ``"map"`` (the last conv map) or
        ``"image"`` (the pixels, eq. 11's ``T1(x, z)``).
    """

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_clusters: int,
        channels: tuple[int, ...] | None = None,
        strides: tuple[int, ...] | None = None,
        latent_dim: int | None = None,
        mi_weight: float = 0.01,
        prior_weight: float = 1.0,
        variational: bool = True,
        local_layer: int | None = None,
        critic_dim: int = 32,
        reduction: str = "sum",
        global_input: str = "map",
    ):
        super().__init__()
        self.reduction = check_reduction(reduction)
        if global_input not in GLOBAL_INPUTS:
            raise ValueError(f"global_input must be one of {GLOBAL_INPUTS}; got {global_input!r}")
        self.global_input = global_input
        self.input_shape = tuple(input_shape)
        if channels is None:
            channels = (16, 32) if max(input_shape[1:]) <= 16 else (16, 16, 32, 32)
        channels = tuple(channels)
        strides = tuple(strides) if strides is not None else (2,) * len(channels)
        if len(strides) != len(channels):
            raise ValueError(f"strides {strides} and channels {channels} must have the same length")
        if prior_weight and not variational:
            raise ValueError(
                "prior_weight > 0 needs variational=True (a KL to N(0, I) needs a Gaussian code)"
            )
        if mi_weight < 0 or prior_weight < 0:
            raise ValueError("mi_weight and prior_weight must be >= 0")
        local_layer = len(channels) // 2 - 1 if local_layer is None else int(local_layer)
        if not -len(channels) <= local_layer < len(channels):
            raise ValueError(f"local_layer {local_layer} is not one of the {len(channels)} convs")
        self.mi_weight = float(mi_weight)
        self.prior_weight = float(prior_weight)
        self.variational = bool(variational)
        self.local_layer = local_layer % len(channels)
        latent_dim = latent_dim or n_clusters

        widths = [input_shape[0], *channels]
        self.convs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, 3, stride=s, padding=1)
            for c_in, c_out, s in zip(widths[:-1], widths[1:], strides, strict=True)
        )
        self.deconvs = nn.ModuleList(
            nn.ConvTranspose2d(c_out, c_in, 3, stride=s, padding=1)
            for c_in, c_out, s in reversed(list(zip(widths[:-1], widths[1:], strides, strict=True)))
        )
        self.map_sizes = [tuple(input_shape[1:])]
        for s in strides:
            h, w = self.map_sizes[-1]
            self.map_sizes.append(((h - 1) // s + 1, (w - 1) // s + 1))
        self.bottleneck_shape = (channels[-1], *self.map_sizes[-1])
        flat = math.prod(self.bottleneck_shape)
        self.fc_mu = nn.Linear(flat, latent_dim)
        self.fc_logvar = nn.Linear(flat, latent_dim) if self.variational else None
        self.unembed = nn.Linear(latent_dim, flat)
        global_size = flat if global_input == "map" else math.prod(self.input_shape)
        self.global_critic = GlobalCritic(global_size, latent_dim, critic_dim)
        self.local_critic = LocalCritic(channels[self.local_layer], latent_dim, critic_dim)
        xavier_init(self)

    # -- encoder / decoder ------------------------------------------------------------------

    def _encode_all(self, x: torch.Tensor):
        maps = []
        for conv in self.convs:
            x = F.relu(conv(x))
            maps.append(x)
        flat = x.flatten(1)
        mu = self.fc_mu(flat)
        logvar = self.fc_logvar(flat) if self.fc_logvar is not None else None
        return maps, mu, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code's mean: the clustering feature."""
        return self._encode_all(x)[1]

    def encoder_layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps, mu, _ = self._encode_all(x)
        return [*(m.flatten(1) for m in maps), mu]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.unembed(z)).view(-1, *self.bottleneck_shape)
        for i, (deconv, size) in enumerate(zip(self.deconvs, self.map_sizes[-2::-1], strict=True)):
            x = deconv(x, output_size=size)
            if i < len(self.deconvs) - 1:
                x = F.relu(x)
        return x

    def sample(self, mu: torch.Tensor, logvar: torch.Tensor | None) -> torch.Tensor:
        """Reparameterised ``z`` while training; the mean otherwise (or for a plain code)."""
        if logvar is None or not self.training:
            return mu
        return reparameterize(mu, logvar)

    # -- objective --------------------------------------------------------------------------

    def mutual_information_losses(
        self, x: torch.Tensor, maps: list[torch.Tensor], z: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Global and local JSD-MI losses; negatives pair ``z_i`` with the maps (or images) of a
        shuffled batch."""
        perm = torch.randperm(len(z), device=z.device)
        last = maps[-1] if self.global_input == "map" else x
        local = maps[self.local_layer]
        global_loss = jsd_mi_loss(self.global_critic(last, z), self.global_critic(last[perm], z))
        local_loss = jsd_mi_loss(self.local_critic(local, z), self.local_critic(local[perm], z))
        return global_loss, local_loss

    def _own_terms(self, x: torch.Tensor):
        """Encoder outputs and the weighted loss terms every objective of this model shares."""
        maps, mu, logvar = self._encode_all(x)
        z = self.sample(mu, logvar)
        # eq. 13: 1/(2N) ||X - X_hat||_F^2: half the per-image squared error (or its per-pixel
        # mean), batch mean
        recon = 0.5 * squared_error(self.decode(z), x, self.reduction)
        terms = {"recon": recon}
        if self.mi_weight:
            global_mi, local_mi = self.mutual_information_losses(x, maps, z)
            terms["mi_global"] = self.mi_weight * global_mi
            terms["mi_local"] = self.mi_weight * local_mi
        return maps, mu, logvar, terms

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Eq. 12 + 13: reconstruction, weighted MI terms and the weighted prior KL."""
        _, mu, logvar, terms = self._own_terms(x)
        if self.variational and self.prior_weight:
            terms["prior_kl"] = self.prior_weight * gaussian_kl(mu, logvar)
        total = sum(terms.values())
        return total, {name: value.detach() for name, value in terms.items()}

    def joint_pass(self, x: torch.Tensor) -> JointPass:
        """Eq. 19 without its clustering term: the prior KL is replaced by the GCN's clustering KL."""
        maps, mu, logvar, terms = self._own_terms(x)
        return JointPass([*(m.flatten(1) for m in maps), mu], logvar=logvar, losses=terms)
