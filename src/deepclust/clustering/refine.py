"""What the clusterers that fine-tune the extractor's encoder (DEKM, DEC/IDEC) share.

They keep scikit-learn's shape, ``fit(X, y=None, *, model=...)`` then ``labels_``, but ``X`` is
the images, not features, and ``model`` is a pretrained
:class:`~deepclust.models.base.AutoEncoder` that ``fit`` trains further (``model_``).
``y``, when given, is only *monitored* (ACC/NMI per iteration in ``history_``); no decision
depends on it, so these clusterers never use labels.

Each also records ``init_labels_`` (the K-means it starts from), ``n_iter_``, ``converged_``
and ``seconds_per_iter_``, so a run can show that refinement improved on its initialisation.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Iterator

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans as _SKKMeans
from sklearn.utils.validation import check_is_fitted

from deepclust.clustering.base import FittedState
from deepclust.metrics import evaluate

log = logging.getLogger("deepclust")


class ModelRefiner(FittedState, ClusterMixin, BaseEstimator, metaclass=abc.ABCMeta):
    """Base class: batching, embedding, K-means initialisation and the per-iteration record."""

    uses_labels = False
    #: with the refined model (saved beside labels.h5), what :meth:`predict` needs
    state_names = ("cluster_centers_",)
    #: whether ``fit`` wants the kNN graph of the samples (``graph=``; GCN clustering)
    needs_graph = False

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        *,
        model: torch.nn.Module,
        input_scale: float = 1.0,
        device: torch.device | str = "cpu",
        graph: np.ndarray | None = None,
    ) -> ModelRefiner:
        """Refine ``model`` on images ``X``; ``graph`` is a (2, E) edge list for the
        clusterers that propagate over one (built from ``X`` when not given)."""
        images = np.asarray(X, dtype=np.float32)
        if images.ndim != 4:
            raise ValueError(
                f"{type(self).__name__} clusters images (N, C, H, W); got {images.shape}"
            )
        if self.n_clusters > len(images):
            raise ValueError(f"n_clusters = {self.n_clusters} exceeds the {len(images)} samples")
        self._device = torch.device(device)
        self._images = torch.as_tensor(images, device=self._device)
        self._scale = float(input_scale)
        self._y = None if y is None else np.asarray(y)
        self._graph = None if graph is None else np.asarray(graph)
        if self._graph is not None and (
            self._graph.ndim != 2 or self._graph.shape[0] != 2 or self._graph.max() >= len(images)
        ):
            raise ValueError(
                f"graph must be a (2, E) edge list over the {len(images)} samples; got shape "
                f"{self._graph.shape}"
            )
        self._generator = torch.Generator().manual_seed(
            0 if self.random_state is None else int(self.random_state)
        )
        self._tic = time.perf_counter()
        self.history_: list[dict] = []
        self.model_ = model.to(self._device)
        try:
            self._refine()
        finally:
            del self._images, self._graph
        return self

    def fit_predict(self, X, y=None, **fit_params):
        return self.fit(X, y, **fit_params).labels_

    def embed(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The refined encoder's code of images ``X`` (N, C, H, W): the space it clusters."""
        check_is_fitted(self, "model_")
        self._images = torch.as_tensor(np.asarray(X, dtype=np.float32), device=self._device)
        try:
            return self._embed(batch_size).cpu().numpy()
        finally:
            del self._images

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Each image's distance to every centre, in the refined code's space."""
        from sklearn.metrics.pairwise import euclidean_distances

        self.check_out_of_sample()
        return euclidean_distances(self.embed(X), self.cluster_centers_)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The nearest centre of each image, new ones too: what the fit assigns its own."""
        return self.transform(X).argmin(axis=1).astype(np.int64)

    def load_model(
        self,
        model: torch.nn.Module,
        *,
        input_scale: float = 1.0,
        device: torch.device | str = "cpu",
    ) -> ModelRefiner:
        """A finished run's refined ``model`` (its ``{clusterer}/model.pt``), to embed new
        images; with :meth:`load_state`'s centres, :meth:`predict` needs no fit."""
        self._device = torch.device(device)
        self._scale = float(input_scale)
        self.model_ = model.to(self._device).eval()
        return self

    @classmethod
    def check_out_of_sample(cls) -> None:
        """Refuse, saying why, when the method cannot place images it was not fitted on."""
        if cls.needs_graph:
            raise ValueError(
                f"{cls.__name__} assigns through the kNN graph of the images it was "
                "fitted on: a new image would change that graph and every assignment with it. "
                "Add the images to the dataset and run the workflow again"
            )

    @abc.abstractmethod
    def _refine(self) -> None:
        """Cluster and fine-tune ``self.model_`` on the images; end with :meth:`_finish`."""

    # -- helpers for subclasses ------------------------------------------------------------

    def _batch(self, idx: torch.Tensor | slice) -> torch.Tensor:
        """Images ``idx`` at the scale the model was trained on."""
        batch = self._images[idx]
        return batch * self._scale if self._scale != 1.0 else batch

    def _embed(self, batch_size: int = 1024) -> torch.Tensor:
        """The model's clustering features for every image (no gradients), on the device."""
        self.model_.eval()
        with torch.inference_mode():
            parts = [
                self.model_.features(self._batch(slice(start, start + batch_size)))
                for start in range(0, len(self._images), batch_size)
            ]
        # clone: tensors made under inference_mode cannot take part in autograd later
        features = torch.cat(parts).float().clone()
        if not torch.isfinite(features).all():
            raise FloatingPointError("the encoder produced NaN or Inf while refining; lower lr")
        return features

    def _batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        """Index batches over reshuffled epochs, forever (seeded). The permutation is drawn on
        the CPU (the same on every device) and copied to the device once per epoch, not once per
        batch (each copy is a host sync)."""
        n = len(self._images)
        while True:
            order = torch.randperm(n, generator=self._generator).to(self._device)
            for start in range(0, n, batch_size):
                yield order[start : start + batch_size]

    def _kmeans(self, H: np.ndarray, *, n_init: int, init: np.ndarray | None = None, seed: int = 0):
        return _SKKMeans(
            n_clusters=self.n_clusters,
            n_init=1 if init is not None else n_init,
            init=init if init is not None else "k-means++",
            random_state=seed,
        ).fit(H.astype(np.float64))

    def _seed(self, offset: int) -> int:
        return (0 if self.random_state is None else int(self.random_state)) * 100_003 + offset

    def _record(self, iteration: int, labels: np.ndarray, **values) -> dict:
        """One row of the refinement log; ACC/NMI only when labels were given to monitor."""
        row = {"iteration": iteration, **values}
        if self._y is not None:
            scores = evaluate(self._y, labels)
            row.update(acc=scores["acc"], nmi=scores["nmi"])
        row["elapsed_s"] = time.perf_counter() - self._tic
        self.history_.append(row)
        log.info(
            "%s iteration %d: %s",
            type(self).__name__,
            iteration,
            ", ".join(
                f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
            ),
        )
        return row

    def _finish(self, labels: np.ndarray, n_iter: int, converged: bool | None) -> None:
        self.labels_ = np.asarray(labels, dtype=np.int64)
        self.n_iter_ = int(n_iter)
        # None: the method has no stopping criterion (it ran its fixed number of iterations)
        self.converged_ = None if converged is None else bool(converged)
        elapsed = time.perf_counter() - self._tic
        self.seconds_per_iter_ = elapsed / max(n_iter, 1)
        # the space the labels partition, for the label-free scores (deepclust.label_free)
        self.embedding_ = self._embed().cpu().numpy()
        self.model_.eval()


def label_mapping(new: np.ndarray, old: np.ndarray, n_clusters: int) -> np.ndarray:
    """``mapping`` with ``mapping[new]`` agreeing with ``old`` as much as possible (Hungarian).

    K-means restarted from scratch numbers its clusters arbitrarily; counting "changed
    assignments" between two runs needs the numbering aligned first.
    """
    counts = np.zeros((n_clusters, n_clusters), dtype=np.int64)
    np.add.at(counts, (new, old), 1)
    rows, cols = linear_sum_assignment(-counts)
    mapping = np.empty(n_clusters, dtype=np.int64)
    mapping[rows] = cols
    return mapping
