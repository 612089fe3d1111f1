"""Each image's cluster back to its file (deepclust.assignments, the `assignments` rule)."""

import csv
import json
import os
import stat

import numpy as np
import pytest
from PIL import Image

from conftest import pixels_kmeans_config, report_file, snakemake
from deepclust.assignments import assignment_rows, assignment_scores, write_assignments
from deepclust.clustering import build_clusterer
from deepclust.data.dataset import load_processed
from deepclust.data.preprocess import preprocess
from deepclust.grouping import group_images
from deepclust.io import write_csv

CLASSES = ("circle", "square", "star")


def class_folder(root, per_class=5):
    """Image ``n`` of class ``k``: a bright band in rows 2k..2k+1 (its class) and ``n`` in the
    last pixel (which file it is), saved as ``{class}/img{n}.png``."""
    n = 0
    for k, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for _ in range(per_class):
            image = np.zeros((8, 8), dtype=np.uint8)
            image[2 * k : 2 * k + 2] = 250
            image[7, 7] = n
            Image.fromarray(image).save(root / name / f"img{n:02d}.png")
            n += 1
    return root


def test_a_folder_keeps_each_images_file_and_an_array_its_row(tmp_path):
    folder = class_folder(tmp_path / "shapes")
    preprocess("shapes", {"source": "folder", "path": str(folder)}, tmp_path / "s.h5")
    data = load_processed(tmp_path / "s.h5")
    assert data.sources[:2] == ["circle/img00.png", "circle/img01.png"]
    for source, image in zip(data.sources, data.images, strict=True):  # row i is file i
        assert round(float(image[0, 7, 7]) * 255) == int(source[-6:-4])
    np.savez(tmp_path / "a.npz", images=np.zeros((3, 4, 4)))
    preprocess(
        "a", {"source": "npz", "path": str(tmp_path / "a.npz"), "n_clusters": 2}, tmp_path / "a.h5"
    )
    assert load_processed(tmp_path / "a.h5").sources == ["a.npz[0]", "a.npz[1]", "a.npz[2]"]


def test_each_method_says_what_it_has(blobs_images):
    X = blobs_images[0].reshape(120, -1)
    kmeans = build_clusterer("kmeans", n_clusters=3, n_init=2, random_state=0, standardize=True)
    kmeans.fit(X)
    scores = assignment_scores(kmeans, X)
    assert set(scores) == {"distance"}  # K-means has centres, no probabilities
    np.testing.assert_allclose(scores["distance"], kmeans.transform(X).min(axis=1))
    np.testing.assert_array_equal(kmeans.predict(X), kmeans.labels_)
    gmm = build_clusterer("gmm", n_clusters=3, random_state=0).fit(X)
    scores = assignment_scores(gmm, X)
    assert set(scores) == {"confidence", "distance"}  # its components' means are centres too
    np.testing.assert_allclose(scores["confidence"], gmm.predict_proba(X).max(axis=1))
    own = gmm.centre_distances(X)[np.arange(len(X)), gmm.labels_]
    np.testing.assert_allclose(scores["distance"], own)
    np.testing.assert_array_equal(gmm.predict(X), gmm.labels_)
    dbscan = build_clusterer("dbscan", n_clusters=3, eps=0.3, min_samples=5).fit(X)
    scores = assignment_scores(dbscan, X)
    assert set(scores) == {"distance"} and (dbscan.labels_ == -1).any()  # its core distance
    noise = dbscan.labels_ == -1
    assert np.isnan(scores["distance"][noise]).all()
    core = np.zeros(len(X), dtype=bool)
    core[dbscan.core_sample_indices_] = True
    assert (scores["distance"][core] <= dbscan.eps_ + 1e-9).all()  # dense: within eps
    assert (scores["distance"][~noise & ~core] > dbscan.eps_).all()  # border members: beyond it


def test_rows_leave_what_a_method_lacks_and_noise_empty():
    rows = assignment_rows(
        np.array([1, -1]),
        {"distance": np.array([0.5, np.nan]), "confidence": None},
        ["a.png", "b.png"],
        ["cat", "dog"],
    )
    assert rows == [
        {"index": 0, "source": "a.png", "cluster": 1, "distance": "0.5", "class": "cat"},
        {"index": 1, "source": "b.png", "cluster": -1, "distance": "", "class": "dog"},
    ]
    with pytest.raises(ValueError, match="2 labels for 3 images"):
        assignment_rows(np.array([0, 1]), {}, ["a", "b", "c"])


def test_a_labels_file_of_another_dataset_is_named(tmp_path):
    folder = class_folder(tmp_path / "shapes", per_class=2)
    preprocess("shapes", {"source": "folder", "path": str(folder)}, tmp_path / "s.h5")
    from deepclust.io import write_h5

    write_h5(tmp_path / "labels.h5", {"labels": np.zeros(4, dtype=np.int64)})
    with pytest.raises(ValueError, match="labels.h5: 4 labels, but .*s.h5 has 6 images"):
        write_assignments(tmp_path / "labels.h5", tmp_path / "s.h5", tmp_path / "a.csv")


@pytest.mark.slow
def test_an_own_folder_run_maps_every_row_to_its_file(tmp_path):
    folder = class_folder(tmp_path / "shapes")
    config = pixels_kmeans_config("shapes", folder, n_init=5)
    out = "results/shapes/pixels/seed0/kmeans/assignments.csv"
    run = snakemake(tmp_path, config, out, report_file("clusters", dataset="shapes"))
    assert run.returncode == 0, run.stderr[-3000:]
    rows = list(csv.DictReader(open(tmp_path / out)))
    assert len(rows) == 15 and list(rows[0]) == ["index", "source", "cluster", "distance", "class"]
    # the file named in each row is the image of that class: one cluster per class folder
    assert all(row["source"].split("/")[0] == row["class"] for row in rows)
    clusters = {name: {r["cluster"] for r in rows if r["class"] == name} for name in CLASSES}
    assert all(len(c) == 1 for c in clusters.values()) and len(set.union(*clusters.values())) == 3
    # and the row is that file: the pixel that numbers the file, read back from the images
    data = load_processed(tmp_path / "data" / "processed" / "shapes.h5")
    for row in rows:
        pixel = float(data.images[int(row["index"]), 0, 7, 7]) * 255
        assert round(pixel) == int(row["source"][-6:-4])
        assert float(row["distance"]) >= 0

    # the images grouped: the only experiment, one folder per cluster, nearest member first,
    # each a link to the user's own file
    grouped = tmp_path / report_file("clusters", dataset="shapes") / "pixels_kmeans"
    folders = sorted(p for p in grouped.iterdir() if p.is_dir())
    assert [p.name for p in folders] == ["cluster_00", "cluster_01", "cluster_02"]
    for cluster_dir in folders:
        links = sorted(cluster_dir.iterdir())
        assert len(links) == 5 and all(p.is_symlink() for p in links)
        assert len({p.resolve().parent.name for p in links}) == 1  # one class a folder
        assert links[0].name.startswith("000_") and "__img" in links[0].name
    selection = json.loads((grouped / "selection.json").read_text())
    assert selection["experiment"] == "pixels_kmeans"
    assert selection["chosen_by"].startswith("label-free pick")


@pytest.mark.parametrize("method", ["kmeans", "gmm", "dekm", "idec"])
def test_held_back_images_join_the_cluster_of_their_class(method, blobs_images):
    """Fitted on two thirds of a separable fixture, a clusterer places the other third where
    their classes went: the cluster-to-class map of the fitted images is as right for the
    held-back ones. (DEC/IDEC on the tests' untrained network leave K-means' perfect start for
    a worse partition; held-back images follow that partition, not the classes.)"""
    import torch

    from conftest import TINY_REFINERS
    from deepclust.metrics import cluster_to_class_map
    from deepclust.models import build_model

    images, labels = blobs_images
    held = np.arange(len(images)) % 3 == 0
    if method in TINY_REFINERS:
        torch.manual_seed(0)
        network, params = TINY_REFINERS[method]
        model = build_model(network, images.shape[1:], 3)
        fitted = build_clusterer(method, n_clusters=3, random_state=0, **params)
        fitted.fit(images[~held], model=model)
        X = images
    else:
        X = images.reshape(len(images), -1)
        fitted = build_clusterer(method, n_clusters=3, random_state=0).fit(X[~held])
    mapping = cluster_to_class_map(labels[~held], fitted.labels_)

    def right(clusters, classes):
        return np.mean([mapping.get(c) == k for c, k in zip(clusters, classes, strict=True)])

    fitted_right = right(fitted.labels_, labels[~held])
    held_right = right(fitted.predict(X[held]), labels[held])
    assert fitted_right > 0.6 and held_right >= fitted_right - 0.05
    if method != "idec":
        assert held_right == 1.0


def test_grouping_ranks_copies_and_names_a_missing_image(tmp_path):
    folder = class_folder(tmp_path / "shapes", per_class=2)
    sources = [f"{c}/img{n:02d}.png" for n, c in enumerate(np.repeat(CLASSES, 2))]
    rows = [
        {"index": i, "source": s, "cluster": [0, 0, 1, 1, -1, 1][i], "confidence": c}
        for i, (s, c) in enumerate(
            zip(sources, ["0.6", "0.9", "0.7", "0.8", "", "0.99"], strict=True)
        )
    ]
    write_csv(tmp_path / "assignments.csv", rows)
    out = tmp_path / "grouped"
    counts = group_images(tmp_path / "assignments.csv", folder, out, files="copy")
    assert counts == {"noise": 1, "cluster_00": 2, "cluster_01": 3}
    assert sorted(p.name for p in (out / "cluster_00").iterdir()) == [
        "000_circle__img01.png",  # confidence 0.9 before 0.6
        "001_circle__img00.png",
    ]
    assert not any(p.is_symlink() for p in out.rglob("*.png"))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask  # not owner-only, as mkdtemp's
    assert "most confident first" in (out / "selection.json").read_text()
    (folder / "star" / "img05.png").unlink()
    with pytest.raises(ValueError, match="1 image.*no longer in .*first: star/img05.png"):
        group_images(tmp_path / "assignments.csv", folder, out)
    assert (out / "cluster_01").is_dir()  # the earlier grouping is left whole


def test_grouping_by_an_experiment_that_did_not_run_names_the_ones_that_did(tmp_path):
    from deepclust.grouping import group_dataset

    runs = {"pixels_kmeans": "results/x/assignments.csv"}
    with pytest.raises(ValueError, match="'ae_gmm' did not run on 'shapes'; it ran: pixels_kmeans"):
        group_dataset(
            tmp_path / "table.csv",
            "shapes",
            runs,
            tmp_path,
            tmp_path / "out",
            {"experiment": "ae_gmm"},
        )


def test_an_undecided_pick_still_groups_and_says_it_was_not_decided(tmp_path):
    """One seed, two experiments tied on modularity: the pick names both, the folders follow the
    first (the highest modularity) and the selection says to choose with group.experiment."""
    from deepclust.grouping import chosen_experiment
    from deepclust.io import write_csv

    columns = ["dataset", "experiment", "n_seeds", "modularity_mean", "modularity_std"]
    rows = [
        {"dataset": "mine", "experiment": "n2d", "n_seeds": "1", "modularity_mean": "0.6000"},
        {"dataset": "mine", "experiment": "ae_gmm", "n_seeds": "1", "modularity_mean": "0.6005"},
        {
            "dataset": "mine",
            "experiment": "pixels_kmeans",
            "n_seeds": "1",
            "modularity_mean": "0.3",
        },
    ]
    write_csv(tmp_path / "table.csv", rows, columns)
    choice = chosen_experiment(tmp_path / "table.csv", "mine", None)
    assert choice["experiment"] == "ae_gmm"
    assert "undecided: 2 tied on modularity, one seed: ae_gmm / n2d" in choice["chosen_by"]
    assert "set group.experiment to choose" in choice["chosen_by"]
    rows[0]["modularity_mean"] = "0.7"  # a clear lead: decided
    write_csv(tmp_path / "table.csv", rows, columns)
    assert chosen_experiment(tmp_path / "table.csv", "mine", None) == {
        "experiment": "n2d",
        "chosen_by": "label-free pick (modularity)",
    }


def test_a_gaussian_mixtures_members_are_ordered_where_its_posterior_saturates():
    """On well-separated clusters (as UMAP's embedding) nearly every posterior rounds to 1; the
    distance to the member's component (Mahalanobis) still orders it from the core outwards."""
    from deepclust.assignments import assignment_scores
    from deepclust.clustering.gmm import GMM

    rng = np.random.default_rng(0)
    offsets = np.linspace(0.0, 2.0, 21)  # known order: farther from the centre, less typical
    angles = rng.uniform(0, 2 * np.pi, len(offsets))
    ring = np.stack([offsets * np.cos(angles), offsets * np.sin(angles)], axis=1)
    cloud = rng.normal(size=(200, 2))
    X = np.concatenate([ring, cloud, cloud + 1000.0])
    gmm = GMM(n_clusters=2, random_state=0).fit(X)
    scores = assignment_scores(gmm, X)
    members = gmm.labels_ == gmm.labels_[0]
    assert np.ptp(scores["confidence"][members]) < 1e-12  # saturated: orders nothing
    distance = scores["distance"][: len(offsets)]
    ranks = np.argsort(np.argsort(distance))
    spearman = np.corrcoef(ranks, np.arange(len(offsets)))[0, 1]
    assert spearman > 0.9 and distance[0] < distance[-1]
    assert np.ptp(scores["distance"][members]) > 1.0
