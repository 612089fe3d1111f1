"""DEKM: deep embedded K-means, the refinement SDEKC (and the DEKM paper) run after pretraining.

One iteration:

1. ``H`` = the encoder's features of every image; K-means on ``H`` gives assignments and centres.
2. Within-cluster scatter ``S_W = sum_i sum_{h in C_i} (h - mu_i)(h - mu_i)^T``.
3. ``S_W = V diag(e) V^T`` with eigenvalues ascending. In ``y = V^T h`` the last coordinate has
   the largest within-cluster spread, i.e. the least cluster structure.
4. Greedy target: ``y'`` = ``y`` with the last coordinate replaced by the cluster centre's.
   Train the encoder for ``update_interval`` mini-batches on ``||V^T f(x) - y'||^2``.
5. Re-embed, K-means again; stop when fewer than ``tol`` of the samples changed cluster, or
   after ``max_iter`` iterations.

The DEKM reference code re-runs K-means from scratch each time and aligns the new clusters to
the old ones (Hungarian) to count changes; ``warm_start=True`` (the default) instead starts
K-means from the old clusters' centroids in the new embedding, which keeps the numbering and
costs one K-means run instead of ``n_init``. On a GPU that warm-started K-means runs on
the device (:func:`lloyd`, scikit-learn's Lloyd iteration and stopping rule), so an iteration
does not wait for a CPU K-means over every sample; on the CPU it is scikit-learn's.

References
----------
- Wengang Guo, Kaiyan Lin, Wei Ye. Deep embedded K-means clustering. ICDM Workshops 2021. Code:
  github.com/spdj2271/DEKM. An iteration there is 40 mini-batch steps between K-means updates; it
  stops at < 0.5 % changes.
- SDEKC: 基于跳跃连接的深度嵌入K-means聚类 (deep embedded K-means clustering with skip connections), a
  Chinese-language journal article; the text this project reproduces from carries no author, venue
  or year line. No official code. docs/papers/SDEKC.md: its tables beside our runs. Its eq. 9-16
  and algorithm 1: 1,000 iterations, stop at < 0.1 %.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from deepclust.clustering.base import keep_params
from deepclust.clustering.refine import ModelRefiner, label_mapping


def within_cluster_scatter(
    H: torch.Tensor, labels: torch.Tensor, centres: torch.Tensor
) -> torch.Tensor:
    """``S_W``: the sum over clusters of the scatter of each member around its centre (d x d)."""
    diff = H - centres[labels]
    return diff.T @ diff


def sorted_eigenvectors(S: torch.Tensor) -> torch.Tensor:
    """Orthonormal eigenvectors of the symmetric ``S`` as columns, eigenvalues ascending."""
    _, vectors = torch.linalg.eigh(S.double())
    return vectors.to(S.dtype)


def lloyd(
    H: torch.Tensor, centres: torch.Tensor, *, max_iter: int = 300, tol: float = 1e-4
) -> tuple[torch.Tensor, torch.Tensor, float, int]:
    """K-means from ``centres`` on ``H``'s device: (labels, centres, inertia, iterations).

    scikit-learn's Lloyd in float64: assign, re-centre; stop when no label changed or when the
    centres moved less than ``tol`` times the mean feature variance (squared shifts summed),
    then assign once more to the final centres. A cluster left empty keeps its centre (where
    scikit-learn would move it to a far point; DEKM's warm start seldom empties one).
    """
    H = H.double()
    centres = centres.to(device=H.device, dtype=torch.float64)
    k = len(centres)
    threshold = tol * H.var(dim=0, unbiased=False).mean()
    previous = None
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007  the count is returned
        labels = torch.cdist(H, centres).argmin(dim=1)
        counts = torch.bincount(labels, minlength=k).unsqueeze(1)
        sums = torch.zeros_like(centres).index_add_(0, labels, H)
        moved = torch.where(counts > 0, sums / counts.clamp_min(1), centres)
        shift = ((moved - centres) ** 2).sum()
        centres = moved
        if previous is not None and torch.equal(labels, previous):
            break
        if shift <= threshold:
            break
        previous = labels
    distances = torch.cdist(H, centres)
    labels = distances.argmin(dim=1)
    inertia = float((distances.min(dim=1).values ** 2).sum())
    return labels, centres, inertia, n_iter


def greedy_targets(
    Y: torch.Tensor, labels: torch.Tensor, centres_rotated: torch.Tensor
) -> torch.Tensor:
    """``y'``: ``Y`` with its last coordinate replaced by its cluster centre's last coordinate."""
    target = Y.clone()
    target[:, -1] = centres_rotated[labels, -1]
    return target


class DEKM(ModelRefiner):
    """Deep embedded K-means refinement of a pretrained encoder.

    Parameters
    ----------
    n_clusters : number of clusters.
    max_iter : K-means / eigen-update iterations at most (SDEKC: 1000).
    update_interval : mini-batch steps between two K-means updates (DEKM's code: 40).
    tol : stop when fewer than this fraction of samples change cluster (SDEKC: 0.001).
    batch_size, lr : mini-batch size and Adam learning rate (1e-3, betas 0.9/0.999).
    n_init : restarts of the first K-means (and of every one without warm start).
    warm_start : start each later K-means from the previous clusters (see the module doc).
    random_state : seed for K-means and batch order.
    """

    def __init__(
        self,
        n_clusters: int = 10,
        max_iter: int = 1000,
        update_interval: int = 40,
        tol: float = 0.001,
        batch_size: int = 256,
        lr: float = 0.001,
        n_init: int = 20,
        warm_start: bool = True,
        random_state: int | None = None,
    ):
        keep_params(self, locals())

    def _refine(self) -> None:
        model, device = self.model_, self._device
        optimizer = torch.optim.Adam(model.parameters(), lr=self.lr, betas=(0.9, 0.999))
        batches = self._batches(self.batch_size)

        H = self._embed()
        km = self._kmeans(H.cpu().numpy(), n_init=self.n_init, seed=self._seed(0))
        labels, centres = km.labels_, km.cluster_centers_
        self.init_labels_ = labels.copy()
        self._record(0, labels, loss=float("nan"), changed=1.0, inertia=float(km.inertia_))

        converged, iteration = False, 0
        for iteration in range(1, self.max_iter + 1):
            labels_t = torch.as_tensor(labels, device=device)
            centres_t = torch.as_tensor(centres, dtype=H.dtype, device=device)
            V = sorted_eigenvectors(within_cluster_scatter(H, labels_t, centres_t))
            target = greedy_targets(H @ V, labels_t, centres_t @ V)

            model.train()
            loss_sum = torch.zeros((), device=device)
            for _ in range(self.update_interval):
                idx = next(batches)
                loss = F.mse_loss(model.features(self._batch(idx)) @ V, target[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += loss.detach()
            mean_loss = loss_sum.item() / self.update_interval
            if not np.isfinite(mean_loss):
                raise FloatingPointError(f"DEKM loss became {mean_loss} in iteration {iteration}")

            H = self._embed()
            H_np = H.cpu().numpy()
            if self.warm_start:
                start = _centroids(H_np, labels, self.n_clusters, fallback=centres)
                km = self._warm_kmeans(H, H_np, start, seed=self._seed(iteration))
                new = km.labels_
            else:
                km = self._kmeans(H_np, n_init=self.n_init, seed=self._seed(iteration))
                mapping = label_mapping(km.labels_, labels, self.n_clusters)
                new = mapping[km.labels_]
                km.cluster_centers_ = km.cluster_centers_[np.argsort(mapping)]
            changed = float(np.mean(new != labels))
            labels, centres = new, km.cluster_centers_
            self._record(
                iteration, labels, loss=mean_loss, changed=changed, inertia=float(km.inertia_)
            )
            if changed < self.tol:
                converged = True
                break
        self.cluster_centers_ = np.asarray(centres, dtype=np.float64)  # in the code's space
        self._finish(labels, iteration, converged)

    def _warm_kmeans(self, H: torch.Tensor, H_np: np.ndarray, start: np.ndarray, *, seed: int):
        """K-means from ``start``: on a GPU by :func:`lloyd` on ``H`` where it is, else
        scikit-learn on its host copy ``H_np``."""
        if H.device.type == "cpu":
            return self._kmeans(H_np, n_init=1, init=start, seed=seed)
        labels, centres, inertia, _ = lloyd(H, torch.as_tensor(start))
        return _Fitted(labels.cpu().numpy(), centres.cpu().numpy(), inertia)


class _Fitted:
    """What DEKM reads of a K-means fit."""

    def __init__(self, labels: np.ndarray, centres: np.ndarray, inertia: float):
        self.labels_, self.cluster_centers_, self.inertia_ = labels, centres, inertia


def _centroids(H: np.ndarray, labels: np.ndarray, k: int, *, fallback: np.ndarray) -> np.ndarray:
    """Mean of each cluster's members; an emptied cluster keeps its ``fallback`` centre."""
    sums = np.zeros((k, H.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, H)
    counts = np.bincount(labels, minlength=k)
    centres = np.array(fallback, dtype=np.float64, copy=True)
    filled = counts > 0
    centres[filled] = sums[filled] / counts[filled, None]
    return centres
