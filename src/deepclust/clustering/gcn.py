"""GCN clustering trained jointly with the encoder: SDDECC's and SDCN's clusterers.

Both feed a graph convolutional network, propagating over the kNN graph of the input samples,
with the encoder's layers: GCN layer ``l`` takes ``(1 - delta) * H_(l-1) + delta * Z_(l-1)``,
``H`` its own previous output and ``Z`` the matching encoder layer (the first takes the pixels);
the last layer is a softmax over the K clusters, ``Y``, and the label is ``argmax Y``. Cluster
centres ``mu`` start from K-means on the code. Training is full batch (one step per epoch, as
SDCN), and the two methods differ only in the clustering loss:

- :class:`SDDECCClustering` (eq. 18-19): ``KL(p(z, y | x) || q(z, y))`` with ``p(y | z) = Y``,
  ``q(z | y) = N(mu_y, I)`` and uniform ``q(y)``, i.e. per sample
  ``sum_y Y_y (0.5 E||z - mu_y||^2 + log(K Y_y)) - H(p(z | x))``, weighted by ``cluster_weight``
  (lambda2), plus the model's own terms (reconstruction, MI; the prior KL is what this replaces).
  ``E||z - mu_y||^2 = ||m - mu_y||^2 + sum sigma^2`` is taken in closed form for a Gaussian code.
  The paper says the uniform ``q(y)`` is there "so that the classes are as balanced as possible";
  taken per sample (``class_prior="sample"``, eq. 18 as written, the default) the
  ``log(K Y_y)`` term only pulls each sample's ``Y`` towards uniform, which balances nothing.
  ``class_prior="batch"`` applies it to the classes' share ``mean_i Y_i`` instead,
  ``sum_y Ybar_y log(K Ybar_y)``, which does; on USPS it is not better on average
  (docs/results.md, "SDDECC", the class-prior rows). ``detach=True`` feeds the GCN the encoder's
  layers as constants: eq. 18 keeps its value, but the encoder and the centres see ``Y`` as a
  constant (they move towards the centres the GCN assigns) and the GCN sees the distances as
  constants (it learns the centres' posterior); no gradient reaches the encoder through ``Y``
  (on USPS this does not stop the plain ConvAE's collapse). ``kl_weight`` / ``gcn_weight`` > 0
  add SDCN's self-supervision (below) to eq. 18: the paper builds its GCN module "as Bo et al.
  [21]" (SDCN) and joins the two networks' distributions with a KL divergence, which is one
  reading of SDCN's dual ``KL(P || Q) + KL(P || Y)``.
- :class:`SDCN`: ``kl_weight * KL(P || Q) + gcn_weight * KL(P || Y)`` plus the reconstruction,
  with ``Q`` the Student-t assignment of the code and ``P`` its sharpened target, recomputed
  every epoch.

Labels are the last epoch's (SDCN's published numbers are the best epoch *by ACC*, chosen with
labels; the log keeps per-epoch ACC when labels are given, never used for a decision).

References
----------
- Deyu Bo, Xiao Wang, Chuan Shi, Meiqi Zhu, Emiao Lu, Peng Cui. Structural deep clustering network.
  The Web Conference (WWW) 2020. Code: github.com/bdy9527/SDCN. There: k = 3, delta (sigma) = 0.5,
  Adam 1e-3, 200 epochs, 0.1 KL(P||Q) + 0.01 KL(P||Y).
- Fu Xingwu, Lü Mingming, Liu Wanjun, Wei Xian. Structured deep discriminant embedded coding
  network for image clustering (结构化深度判别嵌入编码网络图像聚类). Laser & Optoelectronics Progress 58(6):
  0610016, 2021. doi:10.3788/LOP202158.0610016. No official code. docs/papers/SDDECC.md: its tables
  beside our runs. The GCN module and its loss: its sections 3.2-3.3.
"""

from __future__ import annotations

import abc
from typing import Literal

import numpy as np
import torch
from torch import nn

from deepclust.clustering.base import keep_params
from deepclust.clustering.fusion_gcn import (
    FusionGCN,
    check_class_prior,
    sddecc_cluster_loss,
    self_supervision_losses,
)
from deepclust.clustering.graph import knn_graph, sparse_adjacency
from deepclust.clustering.refine import ModelRefiner
from deepclust.models.base import JointPass


class GCNClustering(ModelRefiner):
    """Shared loop: graph, K-means start, joint full-batch training of encoder, GCN and centres."""

    needs_graph = True
    #: nothing places a new image: its cluster comes through the graph of the fitted images
    state_names = ()
    #: feed the GCN the encoder's layers as constants (no gradient reaches the encoder via Y)
    detach = False

    @abc.abstractmethod
    def _loss(
        self, out: JointPass, logits: torch.Tensor, centres: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """The clustering loss terms (weighted) for one full-batch pass."""

    def _refine(self) -> None:
        model, device, n = self.model_, self._device, len(self._images)
        images = self._batch(slice(None))
        pixels = images.flatten(1)
        edges = self._graph
        if edges is None:
            edges = knn_graph(pixels, self.k, metric=self.metric, device=device)
        adjacency = sparse_adjacency(edges, n, device, self.normalization)

        km = self._kmeans(self._embed().cpu().numpy(), n_init=self.n_init, seed=self._seed(0))
        self.init_labels_ = km.labels_.copy()
        centres = nn.Parameter(
            torch.as_tensor(km.cluster_centers_, dtype=torch.float32, device=device)
        )
        with torch.no_grad():
            widths = [t.shape[1] for t in model.encoder_layers(images[:2])]
        torch.manual_seed(self._seed(1))
        self.gcn_ = FusionGCN(pixels.shape[1], widths, self.n_clusters, self.delta).to(device)
        joint = torch.optim.Adam(
            [*model.parameters(), *self.gcn_.parameters(), centres], lr=self.lr
        )
        head = torch.optim.Adam(self.gcn_.parameters(), lr=self.warmup_lr or self.lr)
        frozen = None
        if self.warmup_epochs:  # the encoder does not change while warming up: one pass serves all
            model.eval()
            with torch.no_grad():
                frozen = model.joint_pass(images)

        labels, converged, epoch = self.init_labels_, False, 0
        for epoch in range(1, self.warmup_epochs + self.epochs + 1):
            # warm-up: only the GCN learns, from the frozen encoder and K-means centres
            warming = epoch <= self.warmup_epochs
            self.gcn_.train()
            if warming:
                out = frozen
            else:
                model.train()
                out = model.joint_pass(images)
            gcn_inputs = [t.detach() for t in out.layers] if self.detach else out.layers
            logits = self.gcn_(pixels, gcn_inputs, adjacency)
            terms = self._loss(out, logits, centres.detach() if warming else centres)
            if not warming:
                terms = {**out.losses, **terms}
            loss = sum(terms.values())
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"{type(self).__name__} loss became {loss.item()} in epoch {epoch}; lower lr"
                )
            optimizer = head if warming else joint
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            new = logits.detach().argmax(dim=1).cpu().numpy()
            changed = float(np.mean(new != labels))
            labels = new
            self._record(
                epoch,
                labels,
                phase="warmup" if warming else "joint",
                loss=loss.item(),
                **{name: value.item() for name, value in terms.items()},
                changed=changed,
            )
            if not warming and self.tol and changed < self.tol:
                converged = True
                break
        labels = self._predict(images, pixels, adjacency)
        self.cluster_centers_ = centres.detach().cpu().numpy()
        self._finish(labels, epoch, converged if self.tol else None)

    def _self_supervision(self, out: JointPass, logits: torch.Tensor, centres: torch.Tensor):
        """SDCN's terms with this clusterer's ``alpha``, ``kl_weight`` and ``gcn_weight``."""
        return self_supervision_losses(
            out.code,
            logits,
            centres,
            alpha=self.alpha,
            kl_weight=self.kl_weight,
            gcn_weight=self.gcn_weight,
        )

    def _predict(self, images, pixels, adjacency) -> np.ndarray:
        """``argmax Y`` with the final weights (the code's mean, no sampling); ``Y`` itself is
        kept as ``soft_labels_``."""
        self.model_.eval()
        self.gcn_.eval()
        with torch.no_grad():
            layers = self.model_.encoder_layers(images)
            logits = self.gcn_(pixels, layers, adjacency)
        self.soft_labels_ = torch.softmax(logits.float(), dim=1).cpu().numpy()
        return logits.argmax(dim=1).cpu().numpy()


class SDDECCClustering(GCNClustering):
    """SDDECC's GCN module and joint loss (eq. 18-19) on a pretrained encoder.

    Parameters
    ----------
    n_clusters : K.
    cluster_weight : lambda2, the weight of the clustering KL (paper grid 1-2).
    class_prior : where the uniform class prior ``q(y)`` applies: ``"sample"``, to each
        sample's ``Y`` (eq. 18 as written); ``"batch"``, to the share of each class over all
        samples (balanced clusters).
    detach : feed the GCN the encoder's layers as constants, so that in eq. 18 the code and
        centres see ``Y`` as a constant and the GCN the distances (``False``: as written, the
        encoder also learns through ``Y``).
    kl_weight, gcn_weight, alpha : SDCN's self-supervision added to eq. 18 (0: none, the paper
        as written); see :class:`SDCN`.
    k, metric : the kNN graph of the input samples.
    normalization : of ``A + I``, ``symmetric`` or ``row`` (SDCN's code); see
        :data:`deepclust.clustering.graph.NORMALIZATIONS`.
    delta : the transfer operator's weight on the encoder layer.
    epochs, lr : full-batch Adam steps and learning rate.
    warmup_epochs : extra steps first in which only the GCN learns (encoder and centres frozen),
        so that ``Y`` starts from the K-means posterior instead of a random GCN's output, whose
        near-uniform ``Y`` otherwise pulls every code and centre together (0: the paper as
        written). The encoder is evaluated once for all of them (its mean code, no sampling).
    warmup_lr : Adam learning rate of the warm-up (``None``: ``lr``).
    tol : stop early when fewer than this fraction of labels change in an epoch (0: never).
    n_init : restarts of the K-means that initialises the centres.
    """

    def __init__(
        self,
        n_clusters: int = 10,
        cluster_weight: float = 1.0,
        class_prior: str = "sample",
        detach: bool = False,
        kl_weight: float = 0.0,
        gcn_weight: float = 0.0,
        alpha: float = 1.0,
        k: int = 3,
        metric: str = "euclidean",
        delta: float = 0.5,
        epochs: int = 200,
        warmup_epochs: int = 0,
        warmup_lr: float | None = None,
        lr: float = 0.001,
        tol: float = 0.0,
        n_init: int = 20,
        random_state: int | None = None,
        normalization: Literal["symmetric", "row"] = "symmetric",
    ):
        check_class_prior(class_prior)
        keep_params(self, locals())

    def _loss(self, out, logits, centres):
        terms = {
            "cluster_kl": self.cluster_weight
            * sddecc_cluster_loss(logits, out.code, out.logvar, centres, self.class_prior)
        }
        if self.kl_weight or self.gcn_weight:
            terms.update(self._self_supervision(out, logits, centres))
        return terms


class SDCN(GCNClustering):
    """SDCN's self-supervised loss on the same GCN: ``kl_weight KL(P||Q) + gcn_weight KL(P||Y)``.

    Parameters
    ----------
    n_clusters, k, metric, normalization, delta, epochs, warmup_epochs, warmup_lr, lr, tol,
        n_init : as :class:`SDDECCClustering`.
    kl_weight : weight of KL(P || Q), Q the Student-t assignment of the code (SDCN: 0.1).
    gcn_weight : weight of KL(P || Y), Y the GCN's prediction (SDCN: 0.01).
    alpha : Student-t degrees of freedom.
    """

    def __init__(
        self,
        n_clusters: int = 10,
        kl_weight: float = 0.1,
        gcn_weight: float = 0.01,
        alpha: float = 1.0,
        k: int = 3,
        metric: str = "euclidean",
        delta: float = 0.5,
        epochs: int = 200,
        warmup_epochs: int = 0,
        warmup_lr: float | None = None,
        lr: float = 0.001,
        tol: float = 0.0,
        n_init: int = 20,
        random_state: int | None = None,
        normalization: Literal["symmetric", "row"] = "symmetric",
    ):
        keep_params(self, locals())

    def _loss(self, out, logits, centres):
        return self._self_supervision(out, logits, centres)
