"""The kNN graph that SDCN-style GCN clustering propagates over, exact, in O(N k) memory.

``knn_graph`` links every sample to its ``k`` nearest neighbours among the input samples, makes
the edges symmetric and returns them as a (2, E) edge list. ``normalized_adjacency`` gives
``D^-1/2 (A + I) D^-1/2`` as an edge list with weights (torch-geometric's ``gcn_norm``), and
``sparse_adjacency`` the same as a CSR matrix, which a GCN layer multiplies without building
torch-geometric's (edges x width) message tensor (estimated at ~35-40 GB at 70,000 images for
the CAEs; bench/gpu_check.py measures the GCN stage's peak memory).

The search is exact and brute force, in float32 on the job's device (:func:`knn_indices`): the
distance matrix is computed a square block at a time by GEMM (never the dense N x N matrix, 19.6
GB at N = 70,000), each block serves both its rows and, transposed, its columns (so only the
upper triangle of block pairs is computed: half the GEMM work), and each row keeps a running
top-k. At 70,000 x 784 this is ~3.9 TFLOP: 51 s on 2 CPU cores, where scikit-learn's exact
search took 197 s (bench/knn_graph.py, bench/RESULTS.md); bench/gpu_check.py times it on a GPU.

Euclidean neighbours equal SDCN's heat-kernel graph (the kernel is monotone in the distance);
``metric="cosine"`` gives its cosine graph.

References
----------
- Deyu Bo, Xiao Wang, Chuan Shi, Meiqi Zhu, Emiao Lu, Peng Cui. Structural deep clustering network.
  The Web Conference (WWW) 2020. Code: github.com/bdy9527/SDCN. Its kNN graph.
- Thomas N. Kipf, Max Welling. Semi-supervised classification with graph convolutional networks.
  ICLR 2017. The normalisation.
"""

from __future__ import annotations

import warnings

import numpy as np

METRICS = ("euclidean", "cosine")


def knn_indices(
    X,
    k: int,
    *,
    metric: str = "euclidean",
    device=None,
    working_memory_mb: float = 256,
) -> np.ndarray:
    """The ``k`` nearest other samples of every row of ``X`` (n, k), nearest first.

    A sample is never its own neighbour (an exact duplicate of it may be). Distances are float32,
    so near-ties may order differently from a float64 search; a tie's members are equally near.
    ``working_memory_mb`` bounds one block of the distance matrix.
    """
    import torch

    if metric not in METRICS:
        raise ValueError(f"graph metric must be one of {list(METRICS)}, got {metric!r}")
    if isinstance(X, torch.Tensor):
        X = X.detach().to(device=device, dtype=torch.float32).reshape(len(X), -1)
    else:
        X = torch.as_tensor(np.asarray(X, dtype=np.float32).reshape(len(X), -1), device=device)
    n = len(X)
    if not 1 <= k < n:
        raise ValueError(f"graph k = {k} must be between 1 and n_samples - 1 = {n - 1}")
    if metric == "cosine":  # 1 - cos is half the squared distance of unit vectors
        X = torch.nn.functional.normalize(X, dim=1)
    block = max(k + 1, int((working_memory_mb * 2**20 / 4) ** 0.5))
    nearest = _RunningTopK(n, k, X.device)
    matmul_precision = torch.get_float32_matmul_precision()
    # full float32 GEMMs even where a GPU job turned TF32 on (10-bit mantissas reorder neighbours)
    torch.set_float32_matmul_precision("highest")
    try:
        with torch.inference_mode():
            _search(X, block, nearest)
    finally:
        torch.set_float32_matmul_precision(matmul_precision)
    return nearest.indices.cpu().numpy()


class _RunningTopK:
    """The k smallest distances seen so far for every row, and their columns."""

    def __init__(self, n: int, k: int, device):
        import torch

        self.k = k
        self.distances = torch.full((n, k), float("inf"), device=device)
        self.indices = torch.zeros((n, k), dtype=torch.long, device=device)

    def merge(self, rows: slice, distances, columns) -> None:
        """Fold a block of candidate ``distances`` (rows x len(columns)) into ``rows``' top-k."""
        import torch

        d, j = torch.topk(distances, min(self.k, distances.shape[1]), dim=1, largest=False)
        d = torch.cat([self.distances[rows], d], dim=1)
        i = torch.cat([self.indices[rows], columns[j]], dim=1)
        d, j = torch.topk(d, self.k, dim=1, largest=False, sorted=True)
        self.distances[rows], self.indices[rows] = d, torch.gather(i, 1, j)


def _search(X, block: int, nearest: _RunningTopK) -> None:
    """Every upper-triangle block pair of the squared-distance matrix, used for both its sides."""
    import torch

    n = len(X)
    squared = (X * X).sum(dim=1)
    starts = range(0, n, block)
    for a in starts:
        rows_a = slice(a, min(a + block, n))
        cols_a = torch.arange(rows_a.start, rows_a.stop, device=X.device)
        for b in starts[a // block :]:
            rows_b = slice(b, min(b + block, n))
            # ||x||^2 + ||y||^2 - 2 x.y, by one GEMM
            d = torch.addmm(squared[rows_b][None, :], X[rows_a], X[rows_b].T, alpha=-2.0)
            d += squared[rows_a][:, None]
            if a == b:
                d.fill_diagonal_(float("inf"))
            nearest.merge(rows_a, d, torch.arange(rows_b.start, rows_b.stop, device=X.device))
            if a != b:
                nearest.merge(rows_b, d.T, cols_a)


def knn_graph(
    X: np.ndarray,
    k: int = 3,
    *,
    metric: str = "euclidean",
    device=None,
    working_memory_mb: int = 256,
) -> np.ndarray:
    """Symmetric kNN edges (2, E) of the rows of ``X``, each undirected edge listed both ways.

    A sample is never its own neighbour (duplicates of it may be). Self-loops are added later,
    by the normalisation.
    """
    n = len(X)
    neighbours = knn_indices(
        X, k, metric=metric, device=device, working_memory_mb=working_memory_mb
    )
    src = np.repeat(np.arange(n, dtype=np.int64), k)
    dst = neighbours.reshape(-1).astype(np.int64)
    # both directions, each edge once: encode (i, j) as i * n + j and deduplicate
    codes = np.unique(np.concatenate([src * n + dst, dst * n + src]))
    return np.stack([codes // n, codes % n])


#: how ``A + I`` is normalised: ``symmetric``, ``D^-1/2 (A + I) D^-1/2`` (Kipf and Welling's
#: GCN, torch-geometric's ``gcn_norm``); ``row``, ``D^-1 (A + I)``, each node the mean of itself
#: and its neighbours (what SDCN's code, bdy9527/SDCN ``utils.load_graph``, feeds its GCN)
NORMALIZATIONS = ("symmetric", "row")


def normalized_adjacency(edge_index, n_nodes: int, normalization: str = "symmetric"):
    """``A + I`` of an unweighted symmetric graph, normalised (:data:`NORMALIZATIONS`), as
    (edge_index, edge_weight)."""
    import torch
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.utils import add_self_loops, degree

    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization {normalization!r}: expected one of {list(NORMALIZATIONS)}")
    edges = torch.as_tensor(np.asarray(edge_index), dtype=torch.long)
    if normalization == "symmetric":
        return gcn_norm(edges, None, num_nodes=n_nodes, add_self_loops=True)
    edges, _ = add_self_loops(edges, num_nodes=n_nodes)
    target = edges[1]
    return edges, degree(target, n_nodes).pow(-1)[target]


def sparse_adjacency(edge_index, n_nodes: int, device=None, normalization: str = "symmetric"):
    """The normalised ``A + I`` (:func:`normalized_adjacency`) as a sparse CSR matrix, in the
    layout torch-geometric's layers take in place of ``edge_index`` (``adj_t``: row = target,
    column = source)."""
    from torch_geometric.utils import to_torch_csr_tensor

    edges, weight = normalized_adjacency(edge_index, n_nodes, normalization)
    with warnings.catch_warnings():  # torch's notes on its sparse CSR support, once per job
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly")
        return to_torch_csr_tensor(edges.flip(0), weight, size=(n_nodes, n_nodes)).to(device)
