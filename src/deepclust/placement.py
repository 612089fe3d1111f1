"""New images into a finished run's clusters, without training anything again.

``python -m deepclust.placement NEW_FOLDER RUN`` reads a folder of images (flat, or one
sub-folder per class), prepares them as the run's dataset was prepared (its grey/RGB setting and
size, from the processed file's ``transforms``), encodes them with the run's network and assigns
them with its clusterer, fitted state and all (kept in labels.h5:
:class:`~deepclust.clustering.base.FittedState`). ``RUN`` is a run folder
(``results/{dataset}/{extractor}/seed{seed}/{clusterer}``) or a grouped folder
(``results/reports/{name}/clusters/{dataset}/{experiment}``, whose selection.json names its
run). It writes ``RUN/placed/{folder}.csv`` (the columns of assignments.csv) and a ``.json``
saying how, and with ``--group DIR`` the new images as one folder per cluster
(:func:`deepclust.grouping.group_images`).

How each method places a new image:

- K-means, DEKM: the nearest centre (``distance`` kept), in K-means' (scaled) feature space or
  DEKM's refined code, as the fit assigned its own images.
- Gaussian mixture, DEC/IDEC: the most probable cluster (``confidence`` kept).
- DBSCAN: the cluster of the nearest core sample within ``eps``, else noise.
- A clusterer of a UMAP embedding (N2D, MFVC): the workflow keeps no fitted UMAP, so the image
  takes the cluster held by most of its ``neighbours`` nearest fitted images, found in the
  network's feature space that UMAP embedded (the neighbours UMAP's own ``transform`` starts
  from); ``confidence`` is their share.
- GCN clusterers (SDCN, SDDECC) are refused: a new image would change the kNN graph that every
  assignment came through.

Images whose size or channels differ from the run's (after the dataset's resize, where it sets
one) are refused, each named: a network reads one image shape.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepclust import cli
from deepclust.assignments import assignment_rows
from deepclust.clustering import build_clusterer, get_clusterer, is_refiner
from deepclust.data import readers
from deepclust.data.dataset import load_index
from deepclust.data.preprocess import prepare_image
from deepclust.io import read_features, read_h5, read_labels, read_state, write_csv
from deepclust.paths import CLUSTERING_DIR, PATHS, in_folder

#: how many nearest fitted images vote where a method has no rule of its own (UMAP)
NEIGHBOURS = 10
#: a grouped folder: one experiment's images, one folder per cluster (:mod:`deepclust.grouping`)
GROUPED = f"{PATHS['clusters']}/{{experiment}}"


@dataclass
class Run:
    """A finished clustering run: its folder and what its metrics.json records."""

    path: Path
    record: dict

    @property
    def root(self) -> Path:
        """The workflow's folder: the one holding ``results/`` (else the current one)."""
        parents = self.path.resolve().parents
        return parents[4] if len(parents) > 4 and parents[3].name == "results" else Path.cwd()

    @property
    def data_h5(self) -> Path:
        return self.root / "data" / "processed" / f"{self.record['dataset']}.h5"

    @property
    def extractor_dir(self) -> Path:
        return self.path.parent

    @property
    def clusterer_cfg(self) -> dict:
        return self.record.get("params") or {}


def find_run(path: str | Path) -> Run:
    """The run at ``path``: a run folder, or a grouped folder's run (its selection.json)."""
    path = Path(path)
    selection = path / "selection.json"
    if selection.is_file():
        named = Path(json.loads(selection.read_text()).get("run", path))
        named = named.parent if named.suffix == ".csv" else named  # the run's assignments.csv
        # the grouped folder is GROUPED; its run is named from the workflow's folder, the
        # folder above the grouped folders' pattern
        parents, depth = path.resolve().parents, len(Path(PATHS["clusters"]).parts)
        root = parents[depth] if len(parents) > depth else Path.cwd()
        path = named if named.is_absolute() else root / named
    metrics = in_folder("metrics", path)
    if not metrics.is_file():
        raise ValueError(
            f"{path}: not a finished run (no {metrics.name}); pass a run folder "
            f"({CLUSTERING_DIR}) or a grouped folder ({GROUPED})"
        )
    record = json.loads(metrics.read_text())
    if "method" not in (record.get("params") or {}) or "seed" not in record:
        raise ValueError(
            f"{path}: not one seed's clustering (a consensus of seeds has no fitted model); "
            "pass one of its seeds' runs"
        )
    return Run(path, record)


@dataclass
class NewImages:
    """Images (N, C, H, W) in [0, 1] prepared as a run's dataset, with each one's file (relative
    to the folder) and its class folder's name (``None`` for a flat folder)."""

    images: np.ndarray
    sources: list[str]
    classes: list[str] | None


def read_new_images(folder: str | Path, attrs: dict, *, resize: bool = False) -> NewImages:
    """The images of ``folder``, converted and resized as the processed dataset with ``attrs``
    was; with ``resize``, resized to the dataset's height x width whatever its preparation
    did. Every one whose shape still differs from the dataset's is named in the error."""
    root = Path(folder)
    groups = readers.image_groups(root)
    files = [(name, file) for name, group in groups for file in group]
    transforms = attrs.get("transforms") or {}
    channels, size = transforms.get("channels"), transforms.get("size")
    expected = tuple(attrs["image_shape"])
    if resize:
        size = expected[1:]
    images, mismatched = [], []
    for _, file in files:
        array, _ = readers.read_image(file, channels)
        image = prepare_image(array, channels, size, str(file))
        if image.shape[1:] != expected:
            mismatched.append((file.relative_to(root).as_posix(), image.shape[1:]))
        images.append(image)
    if mismatched:
        prepared = (f"resized to {size[0]}x{size[1]}" if size else "used at their files' size") + (
            f", converted to {channels}" if channels else ", grey or colour as read"
        )
        named = [f"{name} ({_shape(shape)})" for name, shape in mismatched[:5]]
        resizable = any(tuple(shape[1:]) != expected[1:] for _, shape in mismatched)
        raise ValueError(
            f"{root}: {len(mismatched)} of {len(files)} image(s) do not match the run's images "
            f"(channels x height x width {_shape(expected)}; {attrs.get('dataset')}'s images "
            f"were {prepared}): {', '.join(named)}"
            + (f" and {len(mismatched) - 5} more" if len(mismatched) > 5 else "")
            + (
                f"; --resize makes them {expected[1]}x{expected[2]} (resize=True in Python)"
                if resizable and not resize
                else ""
            )
        )
    return NewImages(
        images=np.concatenate(images),
        sources=[file.relative_to(root).as_posix() for _, file in files],
        classes=[name for name, _ in files] if groups[0][0] else None,
    )


def _shape(shape) -> str:
    return "x".join(str(int(n)) for n in shape)


def place(
    run: Run, new: NewImages, *, device: str = "auto", neighbours: int = NEIGHBOURS
) -> tuple[np.ndarray, dict[str, np.ndarray], str]:
    """Assign ``new``'s images with ``run``: ``(clusters, scores, rule)``, the scores by name
    (``distance``, ``confidence``) as in assignments.csv, ``rule`` how the clusters were found."""
    from deepclust.runtime import resolve_device

    cfg = run.clusterer_cfg
    method = cfg["method"]
    labels_h5 = in_folder("labels", run.path)
    torch_device = resolve_device(device)
    check = getattr(get_clusterer(method), "check_out_of_sample", None)
    if check is not None:  # a refiner that cannot place new images says why (a GCN's graph)
        try:
            check()
        except ValueError as err:
            raise ValueError(f"{run.path}: {err}") from err
    if cfg.get("manifold"):  # no fitted UMAP kept: the nearest fitted images vote
        manifold_h5 = in_folder("manifold", run.extractor_dir, manifold=cfg["manifold"])
        layer = (read_h5(manifold_h5, ())[1].get("manifold") or {}).get("layer")
        fitted, _, _ = read_features(str(in_folder("features", run.extractor_dir)), layer)
        fitted_labels, _ = read_labels(labels_h5)
        clusters, share = neighbour_vote(
            fitted, fitted_labels, _encode(run, new.images, layer, torch_device), neighbours
        )
        rule = (
            f"the cluster most of the {min(neighbours, len(fitted))} nearest fitted images hold, "
            f"in the network's feature space that {cfg['manifold']} embedded (no fitted UMAP "
            "is kept); confidence = their share"
        )
        return clusters, {"confidence": share}, rule
    state = read_state(labels_h5)
    if not state:
        raise ValueError(
            f"{labels_h5}: keeps no fitted {method} (written before runs kept it); rerun this "
            f"clustering with its config: snakemake -f {in_folder('metrics', run.path)} "
            "--configfile ..."
        )
    estimator = build_clusterer(
        method,
        n_clusters=int(run.record["n_clusters"]),
        random_state=run.record["seed"],
        **cfg.get("params", {}),
    ).load_state(state, where=str(labels_h5))
    if is_refiner(method):
        from deepclust.model_file import load_model

        model, hparams = load_model(in_folder("refined_model", run.path), torch_device)
        estimator.load_model(model, input_scale=hparams["input_scale"], device=torch_device)
        X, space = new.images, "its refined code"
    else:
        X, space = _encode(run, new.images, cfg.get("layer"), torch_device), "the features"
        if method == "dbscan":
            fitted, _, _ = read_features(
                str(in_folder("features", run.extractor_dir)), cfg.get("layer")
            )
            estimator.load_components(fitted)
    clusters, scores = assign(estimator, X)
    rules = {
        "distance": f"the nearest centre in {space}",
        "confidence": f"the most probable cluster of the fitted {method}",
    }
    rule = next((rules[name] for name in ("confidence", "distance") if name in scores), None)
    return clusters, scores, rule or f"the nearest core sample within eps in {space}, else noise"


def assign(estimator, X: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A fitted (or loaded) clusterer's clusters for ``X`` and the scores it has for them."""
    rows = np.arange(len(X))
    scores, clusters = {}, None
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X)
        clusters = proba.argmax(axis=1)
        scores["confidence"] = proba[rows, clusters]
    if hasattr(estimator, "transform") and hasattr(estimator, "cluster_centers_"):
        distances = estimator.transform(X)
        clusters = distances.argmin(axis=1) if clusters is None else clusters
        scores["distance"] = distances[rows, clusters]
    elif hasattr(estimator, "centre_distances"):  # a mixture: to its component's mean
        distances = estimator.centre_distances(X)
        clusters = distances.argmin(axis=1) if clusters is None else clusters
        scores["distance"] = distances[rows, clusters]
    if clusters is None:
        clusters = estimator.predict(X)
    return np.asarray(clusters, dtype=np.int64), scores


def neighbour_vote(
    fitted: np.ndarray, fitted_labels: np.ndarray, new: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each new sample's most common cluster among its ``k`` nearest fitted samples (a tie goes
    to the cluster of the nearer one), and that cluster's share of the ``k``."""
    from sklearn.neighbors import NearestNeighbors

    if int(k) < 1:
        raise ValueError(f"neighbours must be at least 1, got {k}")
    k = min(int(k), len(fitted))
    nearest = NearestNeighbors(n_neighbors=k).fit(fitted).kneighbors(new, return_distance=False)
    clusters, shares = [], []
    for votes in fitted_labels[nearest]:  # nearest first
        counts = Counter(votes.tolist())
        top = max(counts.values())
        clusters.append(next(c for c in votes.tolist() if counts[c] == top))
        shares.append(top / k)
    return np.asarray(clusters, dtype=np.int64), np.asarray(shares)


def _encode(run: Run, images: np.ndarray, layer: str | None, device) -> np.ndarray:
    """The new images' features as the run's features job computed its own."""
    from deepclust.features import extract_features, pixel_features

    _, attrs = read_h5(in_folder("features", run.extractor_dir), ())
    if attrs.get("source") == "pixels":
        return pixel_features(images)
    from deepclust.model_file import load_model

    model, hparams = load_model(in_folder("model", run.extractor_dir), device)
    layers = extract_features(model, images, device=device, input_scale=hparams["input_scale"])
    return layers[layer or attrs["default_layer"]]


def place_folder(
    folder: str | Path,
    run_path: str | Path,
    out_csv: str | Path | None = None,
    *,
    device: str = "auto",
    neighbours: int = NEIGHBOURS,
    resize: bool = False,
) -> tuple[Path, dict]:
    """The command's work: place ``folder``'s images with the run at ``run_path`` (``resize``:
    to the run's image size); writes the CSV (default ``RUN/placed/{folder}.csv``) and its
    ``.json``; returns the CSV and the json."""
    run = find_run(run_path)
    if not run.data_h5.is_file():
        raise ValueError(
            f"{run.data_h5}: the run's processed dataset is not there (needed: how its images were prepared)"
        )
    _, _, attrs = load_index(run.data_h5)
    new = read_new_images(folder, attrs, resize=resize)
    clusters, scores, rule = place(run, new, device=device, neighbours=neighbours)
    out_csv = (
        Path(out_csv) if out_csv else run.path / "placed" / f"{Path(folder).resolve().name}.csv"
    )
    write_csv(out_csv, assignment_rows(clusters, scores, new.sources, new.classes))
    about = {
        "run": str(run.path),
        "folder": str(folder),
        "images": len(new.sources),
        "rule": rule,
        "clusters": {str(c): n for c, n in sorted(Counter(clusters.tolist()).items())},
    }
    out_csv.with_suffix(".json").write_text(json.dumps(about, indent=2, sort_keys=True) + "\n")
    return out_csv, about


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m deepclust.placement", __doc__)
    parser.add_argument("folder", help="the new images (flat, or one sub-folder per class)")
    parser.add_argument(
        "run",
        help=f"a run folder {CLUSTERING_DIR}, or a grouped folder {GROUPED}",
    )
    parser.add_argument("-o", "--out", help="the CSV to write (default RUN/placed/FOLDER.csv)")
    parser.add_argument("--group", help="also group the new images, one folder per cluster, here")
    parser.add_argument("--files", default="symlink", choices=("symlink", "copy"))
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--neighbours", type=int, default=NEIGHBOURS, help="voters (UMAP runs)")
    parser.add_argument(
        "--resize",
        action="store_true",
        help="resize the new images to the run's height x width (when their size differs)",
    )
    args = parser.parse_args(argv)

    def body() -> None:
        out_csv, about = place_folder(
            args.folder,
            args.run,
            args.out,
            device=args.device,
            neighbours=args.neighbours,
            resize=args.resize,
        )
        print(f"{out_csv}: {about['images']} image(s) placed by {about['rule']}")
        print("per cluster: " + ", ".join(f"{c}: {n}" for c, n in about["clusters"].items()))
        if args.group:
            from deepclust.grouping import group_images

            group_images(out_csv, args.folder, args.group, files=args.files, selection=about)
            print(f"{args.group}: one folder per cluster")

    return cli.run(parser, body)


if __name__ == "__main__":
    raise SystemExit(main())
