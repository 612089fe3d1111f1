"""DEC and IDEC: Student-t soft assignments sharpened towards a target distribution.

``q_ij`` is a Student-t kernel between feature ``z_i`` and cluster centre ``mu_j`` (trainable,
initialised by K-means); the target ``p_ij = (q_ij^2 / f_j) / sum_j'(...)`` with
``f_j = sum_i q_ij`` is recomputed every ``update_interval`` mini-batches, and the encoder and
centres minimise ``gamma * KL(P || Q)``, plus the model's own reconstruction loss for IDEC
(``reconstruction=True``; DEC is ``reconstruction=False``). Training stops when fewer than
``tol`` of the samples change cluster between two target updates. Labels: argmax ``q``.

References
----------
- Junyuan Xie, Ross Girshick, Ali Farhadi. Unsupervised deep embedding for clustering analysis.
  ICML 2016. Code: github.com/piiswrong/dec.
- Xifeng Guo, Long Gao, Xinwang Liu, Jianping Yin. Improved deep embedded clustering with local
  structure preservation. IJCAI 2017. Code: github.com/XifengGuo/IDEC. Gamma = 0.1, update interval
  140 mini-batches of 256, tol 0.1 %.
  Their published code (github.com/XifengGuo/DEC-keras ``run_exp.py``, IDEC's ``IDEC.py``): DEC
  with SGD (lr 0.01, momentum 0.9) and the KL term alone (gamma 1); targets updated every 140
  batches on MNIST and Fashion-MNIST, every 30 on USPS; IDEC with Adam on MNIST, SGD (0.1, 0.99) on
  USPS.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from deepclust.clustering.base import keep_params
from deepclust.clustering.refine import ModelRefiner


def soft_assignment(z: torch.Tensor, centres: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Student-t similarity of each row of ``z`` to each centre, rows normalised to sum to 1."""
    q = (1.0 + torch.cdist(z, centres).pow(2) / alpha).pow(-(alpha + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """DEC's auxiliary target: squares ``q`` and divides by cluster frequency, then renormalises."""
    weight = q.pow(2) / q.sum(dim=0)
    return weight / weight.sum(dim=1, keepdim=True)


class IDEC(ModelRefiner):
    """DEC/IDEC refinement of a pretrained encoder.

    Parameters
    ----------
    n_clusters : number of clusters.
    gamma : weight of the clustering KL term (IDEC: 0.1).
    reconstruction : add the model's own loss (IDEC); ``False`` is DEC.
    alpha : Student-t degrees of freedom.
    max_iter : mini-batch steps at most (IDEC: 20,000).
    update_interval : steps between target-distribution updates (IDEC: 140).
    tol : stop when fewer than this fraction of samples change cluster between updates.
    batch_size, lr : mini-batch size and learning rate.
    optimizer : ``adam`` or ``sgd`` (with ``momentum``): DEC's published code uses SGD.
    n_init : restarts of the K-means that initialises the centres.
    random_state : seed for K-means and batch order.
    """

    def __init__(
        self,
        n_clusters: int = 10,
        gamma: float = 0.1,
        reconstruction: bool = True,
        alpha: float = 1.0,
        max_iter: int = 20000,
        update_interval: int = 140,
        tol: float = 0.001,
        batch_size: int = 256,
        lr: float = 0.001,
        optimizer: Literal["adam", "sgd"] = "adam",
        momentum: float = 0.0,
        n_init: int = 20,
        random_state: int | None = None,
    ):
        keep_params(self, locals())

    def _refine(self) -> None:
        model, device = self.model_, self._device
        km = self._kmeans(self._embed().cpu().numpy(), n_init=self.n_init, seed=self._seed(0))
        self.init_labels_ = km.labels_.copy()
        centres = torch.nn.Parameter(
            torch.as_tensor(km.cluster_centers_, dtype=torch.float32, device=device)
        )
        optimizer = self._optimizer([*model.parameters(), centres])
        batches = self._batches(self.batch_size)

        labels, converged, step, update = self.init_labels_, False, 0, 0
        loss_sum, n_steps = torch.zeros((), device=device), 0
        while True:
            # target update (and stopping check) every `update_interval` steps
            with torch.no_grad():
                q = soft_assignment(self._embed(), centres, self.alpha)
            p = target_distribution(q)
            new = q.argmax(dim=1).cpu().numpy()
            changed = float(np.mean(new != labels))
            mean_loss = loss_sum.item() / n_steps if n_steps else float("nan")
            if not (update == 0 or np.isfinite(mean_loss)):
                raise FloatingPointError(f"IDEC loss became {mean_loss} at step {step}")
            labels = new
            self._record(update, labels, step=step, loss=mean_loss, changed=changed)
            if update > 0 and changed < self.tol:
                converged = True
                break
            if step >= self.max_iter:
                break
            model.train()
            loss_sum, n_steps = torch.zeros((), device=device), 0
            for _ in range(min(self.update_interval, self.max_iter - step)):
                idx = next(batches)
                batch = self._batch(idx)
                if self.reconstruction:  # one encoder pass serves both terms
                    features, reconstruction = model.features_and_loss(batch)
                else:
                    features, reconstruction = model.features(batch), 0.0
                q_batch = soft_assignment(features, centres, self.alpha)
                kl = torch.nn.functional.kl_div(q_batch.log(), p[idx], reduction="batchmean")
                loss = self.gamma * kl + reconstruction
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += loss.detach()
                n_steps += 1
                step += 1
            update += 1
        self.cluster_centers_ = centres.detach().cpu().numpy()
        self._finish(labels, update, converged)
        # the last target update's q: the labels are its argmax
        self.soft_labels_ = q.cpu().numpy()

    def _optimizer(self, params: list) -> torch.optim.Optimizer:
        if self.optimizer == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=self.momentum)
        if self.optimizer == "adam":
            return torch.optim.Adam(params, lr=self.lr)
        raise ValueError(f"idec: optimizer {self.optimizer!r}: expected 'adam' or 'sgd'")

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Each image's Student-t soft assignment ``q`` to the centres (new images too)."""
        z = torch.as_tensor(self.embed(X))
        centres = torch.as_tensor(self.cluster_centers_, dtype=z.dtype)
        return soft_assignment(z, centres, self.alpha).numpy()
