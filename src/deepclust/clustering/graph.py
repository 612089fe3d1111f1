"""The kNN graph that SDCN-style GCN clustering propagates over, built in O(N k) memory.

``knn_graph`` links every sample to its ``k`` nearest neighbours among the input samples
(scikit-learn's nearest-neighbour search, which works through the distance matrix in chunks of
``working_memory_mb``: never a dense N x N matrix, 19.6 GB at N = 70,000), makes the edges
symmetric and returns them as a (2, E) edge list. ``normalized_adjacency`` gives
``D^-1/2 (A + I) D^-1/2`` as an edge list with weights (torch-geometric's ``gcn_norm``).

Euclidean neighbours equal SDCN's heat-kernel graph (the kernel is monotone in the distance);
``metric="cosine"`` gives its cosine graph.
"""

from __future__ import annotations

import numpy as np
import sklearn
from sklearn.neighbors import NearestNeighbors


def knn_graph(
    X: np.ndarray,
    k: int = 3,
    *,
    metric: str = "euclidean",
    working_memory_mb: int = 256,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Symmetric kNN edges (2, E) of the rows of ``X``, each undirected edge listed both ways.

    A sample is never its own neighbour (duplicates of it may be). Self-loops are added later,
    by the normalisation.
    """
    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    n = len(X)
    if not 1 <= k < n:
        raise ValueError(f"graph k = {k} must be between 1 and n_samples - 1 = {n - 1}")
    with sklearn.config_context(working_memory=working_memory_mb):
        search = NearestNeighbors(n_neighbors=k + 1, metric=metric, n_jobs=n_jobs).fit(X)
        neighbours = search.kneighbors(X, return_distance=False)
    rows = np.arange(n)[:, None]
    # drop the sample itself (usually column 0; anywhere when it has exact duplicates), keep k
    not_self = neighbours != rows
    order = np.argsort(~not_self, axis=1, kind="stable")[:, :k]
    neighbours = np.take_along_axis(neighbours, order, axis=1)
    src = np.repeat(np.arange(n, dtype=np.int64), k)
    dst = neighbours.reshape(-1).astype(np.int64)
    # both directions, each edge once: encode (i, j) as i * n + j and deduplicate
    codes = np.unique(np.concatenate([src * n + dst, dst * n + src]))
    return np.stack([codes // n, codes % n])


def normalized_adjacency(edge_index, n_nodes: int):
    """``D^-1/2 (A + I) D^-1/2`` of an unweighted symmetric graph, as (edge_index, edge_weight)."""
    import torch
    from torch_geometric.nn.conv.gcn_conv import gcn_norm

    edges = torch.as_tensor(np.asarray(edge_index), dtype=torch.long)
    return gcn_norm(edges, None, num_nodes=n_nodes, add_self_loops=True)
