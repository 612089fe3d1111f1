"""SDCN's fusion GCN and the clustering losses of GCN clustering (SDDECC's eq. 18, SDCN's dual
self-supervision); the refiners that train them are in :mod:`deepclust.clustering.gcn`.

References
----------
- Thomas N. Kipf, Max Welling. Semi-supervised classification with graph convolutional networks.
  ICLR 2017.
- Deyu Bo, Xiao Wang, Chuan Shi, Meiqi Zhu, Emiao Lu, Peng Cui. Structural deep clustering network.
  The Web Conference (WWW) 2020. Code: github.com/bdy9527/SDCN.
- Fu Xingwu, Lü Mingming, Liu Wanjun, Wei Xian. Structured deep discriminant embedded coding
  network for image clustering (结构化深度判别嵌入编码网络图像聚类). Laser & Optoelectronics Progress 58(6):
  0610016, 2021. doi:10.3788/LOP202158.0610016. No official code. docs/papers/SDDECC.md: its tables
  beside our runs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from deepclust.clustering.idec import soft_assignment, target_distribution


class FusionGCN(nn.Module):
    """SDCN's GCN: one layer per encoder layer plus a K-way output, each fed the delta-mix.

    ``widths`` are the encoder layers' widths (the code last); layer ``l`` maps to
    ``widths[l]`` and the last to ``n_clusters``. ReLU after every layer but the last; no biases.
    """

    def __init__(self, in_dim: int, widths: list[int], n_clusters: int, delta: float = 0.5):
        super().__init__()
        from torch_geometric.nn import GCNConv

        if not 0.0 <= delta <= 1.0:
            raise ValueError(f"delta = {delta} must be in [0, 1]")
        self.delta = float(delta)
        dims = [in_dim, *widths, n_clusters]
        self.layers = nn.ModuleList(
            GCNConv(d_in, d_out, bias=False, normalize=False)
            for d_in, d_out in zip(dims[:-1], dims[1:], strict=True)
        )

    def mix(self, h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The transfer operator: ``(1 - delta) * h + delta * z``."""
        return (1.0 - self.delta) * h + self.delta * z

    def forward(
        self,
        x: torch.Tensor,
        encoder_layers: list[torch.Tensor],
        adjacency: torch.Tensor,
        edge_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits (N, K) of ``Y``. ``adjacency`` is :func:`~deepclust.clustering.graph.
        sparse_adjacency`'s CSR matrix, or an ``edge_index`` with its ``edge_weight``."""
        if len(encoder_layers) != len(self.layers) - 1:
            raise ValueError(
                f"the GCN has {len(self.layers) - 1} fused layers, the encoder gave {len(encoder_layers)}"
            )
        h = F.relu(self.layers[0](x, adjacency, edge_weight))
        for i, (layer, z) in enumerate(zip(self.layers[1:], encoder_layers, strict=True)):
            h = layer(self.mix(h, z), adjacency, edge_weight)
            if i < len(encoder_layers) - 1:
                h = F.relu(h)
        return h


CLASS_PRIORS = ("batch", "sample")


def check_class_prior(class_prior: str) -> str:
    """``class_prior`` itself, or a ValueError naming the choices."""
    if class_prior not in CLASS_PRIORS:
        raise ValueError(f"class_prior must be one of {CLASS_PRIORS}; got {class_prior!r}")
    return class_prior


def sddecc_cluster_loss(
    logits: torch.Tensor,
    code: torch.Tensor,
    logvar: torch.Tensor | None,
    centres: torch.Tensor,
    class_prior: str = "sample",
) -> torch.Tensor:
    """Eq. 18, ``KL(p(z, y | x) || q(z, y))`` averaged over the samples (additive constants
    dropped), with the uniform ``q(y)`` matched per sample or by the batch's class shares."""
    check_class_prior(class_prior)
    log_y = F.log_softmax(logits, dim=1)
    y = log_y.exp()
    sq_dist = torch.cdist(code, centres).pow(2)
    if logvar is not None:
        sq_dist = sq_dist + logvar.exp().sum(dim=1, keepdim=True)
    loss = 0.5 * (y * sq_dist).sum(dim=1).mean()
    log_k = math.log(centres.shape[0])
    if class_prior == "sample":
        loss = loss + (y * (log_y + log_k)).sum(dim=1).mean()
    else:
        shares = y.mean(dim=0)
        loss = loss + (shares * (shares.clamp_min(1e-12).log() + log_k)).sum()
    if logvar is not None:  # minus the Gaussian entropy of p(z | x), up to a constant
        loss = loss - 0.5 * logvar.sum(dim=1).mean()
    return loss


def self_supervision_losses(
    code: torch.Tensor,
    logits: torch.Tensor,
    centres: torch.Tensor,
    *,
    alpha: float,
    kl_weight: float,
    gcn_weight: float,
) -> dict[str, torch.Tensor]:
    """SDCN's dual self-supervision: ``kl_weight KL(P || Q) + gcn_weight KL(P || Y)``, ``Q`` the
    Student-t assignment of the code to the centres, ``P`` its sharpened target (a constant)."""
    q = soft_assignment(code, centres, alpha)
    p = target_distribution(q.detach())
    return {
        "kl_q": kl_weight * F.kl_div(q.log(), p, reduction="batchmean"),
        "kl_gcn": gcn_weight * F.kl_div(F.log_softmax(logits, dim=1), p, reduction="batchmean"),
    }
