"""New images into a finished run's clusters (deepclust.placement): the fitted state kept in
labels.h5, the images prepared as the run's, each method's rule, the command end to end."""

import csv
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image
from test_assignments import CLASSES, class_folder

from conftest import REPO, TINY_REFINERS, pixels_kmeans_config, report_file, snakemake
from deepclust.clustering import build_clusterer
from deepclust.io import read_state, write_h5
from deepclust.model_file import load_model, save_model
from deepclust.models import build_model
from deepclust.placement import (
    NewImages,
    Run,
    assign,
    main,
    neighbour_vote,
    place,
    read_new_images,
)


def kept_and_loaded(fitted, method, tmp_path, **params):
    """``fitted``'s state through a labels.h5 and back into a fresh clusterer."""
    write_h5(
        tmp_path / "labels.h5",
        {"labels": fitted.labels_, **{f"state/{k}": v for k, v in fitted.state_arrays().items()}},
    )
    fresh = build_clusterer(method, n_clusters=3, random_state=0, **params)
    return fresh.load_state(read_state(tmp_path / "labels.h5"), where="labels.h5")


@pytest.mark.parametrize(
    ("method", "params"),
    [("kmeans", {"standardize": True, "n_init": 2}), ("gmm", {}), ("dbscan", {"eps": 1.0})],
)
def test_a_kept_clusterer_assigns_as_the_fitted_one(method, params, blobs_images, tmp_path):
    X = blobs_images[0].reshape(120, -1).astype(np.float64)
    held = np.arange(120) % 4 == 0
    fitted = build_clusterer(method, n_clusters=3, random_state=0, **params).fit(X[~held])
    loaded = kept_and_loaded(fitted, method, tmp_path, **params)
    if method == "dbscan":
        loaded.load_components(X[~held])
    new = X[held] + 0.01
    clusters, scores = assign(loaded, new)
    expected, expected_scores = assign(fitted, new)
    np.testing.assert_array_equal(clusters, expected)
    assert (
        set(scores)
        == set(expected_scores)
        == {"kmeans": {"distance"}, "gmm": {"confidence", "distance"}, "dbscan": set()}[method]
    )
    for name in scores:
        np.testing.assert_allclose(scores[name], expected_scores[name])
    if method == "gmm":  # the state is what assigning reads: not the covariances as well
        assert set(fitted.state_arrays()) == {"weights_", "means_", "precisions_cholesky_"}
    # and its own images get the labels the fit gave them (DBSCAN: its core samples)
    own = fitted.core_sample_indices_ if method == "dbscan" else slice(None)
    np.testing.assert_array_equal(loaded.predict(X[~held][own]), fitted.labels_[own])


def test_dbscan_places_a_sample_by_its_nearest_core_sample_within_eps():
    X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2], [20.0]])
    dbscan = build_clusterer("dbscan", n_clusters=2, eps=0.5, min_samples=3).fit(X)
    assert dbscan.labels_.tolist() == [0, 0, 0, 1, 1, 1, -1]
    # 0.55 is within eps of the core sample 0.1; 0.75 is not of any; 5.6 of 5.1
    assert dbscan.predict(np.array([[0.55], [0.75], [5.6], [12.0]])).tolist() == [0, -1, 1, -1]


def test_a_label_file_without_a_state_names_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="labels.h5: no mean_, scale_ for KMeans"):
        build_clusterer("kmeans", n_clusters=3).load_state(
            {"cluster_centers_": np.zeros((3, 2))}, where="labels.h5"
        )
    with pytest.raises(ValueError, match="SDCN keeps no fitted state"):
        build_clusterer("sdcn", n_clusters=3).load_state({})


@pytest.mark.parametrize("method", ["dekm", "idec"])
def test_a_kept_refiner_assigns_as_the_fitted_one(method, blobs_images, tmp_path):
    images, _ = blobs_images
    torch.manual_seed(0)
    network, params = TINY_REFINERS[method]
    model = build_model(network, images.shape[1:], 3)
    fitted = build_clusterer(method, n_clusters=3, random_state=0, **params)
    fitted.fit(images[:90], model=model)
    hparams = {
        "model": network,
        "input_shape": list(images.shape[1:]),
        "n_clusters": 3,
        "model_args": {},
        "input_scale": 1.0,
    }
    save_model(tmp_path / "model.pt", fitted.model_, hparams)
    loaded = kept_and_loaded(fitted, method, tmp_path, **params)
    loaded.load_model(load_model(tmp_path / "model.pt")[0])
    np.testing.assert_array_equal(loaded.predict(images[:90]), fitted.labels_)
    clusters, scores = assign(loaded, images[90:])
    np.testing.assert_array_equal(clusters, fitted.predict(images[90:]))
    assert "distance" in scores and ("confidence" in scores) == (method == "idec")
    # and the same through a run's files: labels.h5's state and the refined model.pt
    record = {"dataset": "blobs", "seed": 0, "n_clusters": 3}
    run = Run(tmp_path, {**record, "params": {"method": method, "params": params}})
    new = NewImages(images[90:], [f"{i}.png" for i in range(30)], None)
    placed, placed_scores, rule = place(run, new, device="cpu")
    np.testing.assert_array_equal(placed, clusters)
    np.testing.assert_allclose(placed_scores["distance"], scores["distance"], rtol=1e-5)
    rules = {
        "idec": "the most probable cluster of the fitted idec",
        "dekm": "the nearest centre in its refined code",
    }
    assert rule == rules[method]


def test_the_nearest_fitted_samples_vote_and_a_tie_goes_to_the_nearer():
    fitted = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    labels = np.array([0, 0, 1, 1, 1])
    clusters, share = neighbour_vote(fitted, labels, np.array([[0.4], [10.4], [1.6]]), 2)
    assert clusters.tolist() == [0, 1, 1]  # 1.6: one vote each, 2.0 (cluster 1) is nearer
    assert share.tolist() == [1.0, 1.0, 0.5]


def test_a_gcn_run_or_one_without_a_kept_state_refuses_new_images_saying_why(tmp_path):
    run = Run(tmp_path, {"dataset": "d", "seed": 0, "n_clusters": 3, "params": {"method": "sdcn"}})
    new = NewImages(np.zeros((1, 1, 8, 8), np.float32), ["a.png"], None)
    with pytest.raises(ValueError, match="SDCN assigns through the kNN graph"):
        place(run, new, device="cpu")
    write_h5(tmp_path / "labels.h5", {"labels": np.zeros(5, dtype=np.int64)})  # an older run
    run.record["params"] = {"method": "kmeans"}
    with pytest.raises(ValueError, match="keeps no fitted kmeans.*snakemake -f .*metrics.json"):
        place(run, new, device="cpu")
    with pytest.raises(ValueError, match="neighbours must be at least 1, got 0"):
        neighbour_vote(np.zeros((3, 1)), np.zeros(3, dtype=np.int64), np.zeros((1, 1)), 0)


def image(path, size=(8, 8), mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size[::-1]).save(path)


def test_new_images_are_prepared_as_the_run_and_a_mismatch_is_named(tmp_path):
    attrs = {"dataset": "shapes", "image_shape": [1, 8, 8], "transforms": {"size": None}}
    image(tmp_path / "new" / "a.png")
    image(tmp_path / "new" / "b.png", size=(8, 9))
    image(tmp_path / "new" / "c.png", mode="RGB")
    with pytest.raises(
        ValueError,
        match=r"2 of 3 image\(s\) do not match .*1x8x8.*"
        r"used at their files' size.*: b.png \(1x8x9\), c.png \(3x8x8\); --resize makes "
        r"them 8x8 \(resize=True in Python\)$",
    ):
        read_new_images(tmp_path / "new", attrs)
    # resized to the run's size, the colour image alone is left, and no resize is offered
    with pytest.raises(ValueError, match=r"1 of 3 image\(s\).*: c.png \(3x8x8\)$"):
        read_new_images(tmp_path / "new", attrs, resize=True)
    # a dataset that resized and converted its images does the same to new ones
    attrs["transforms"] = {"size": [8, 8], "channels": "grey"}
    new = read_new_images(tmp_path / "new", attrs)
    assert new.images.shape == (3, 1, 8, 8) and new.sources == ["a.png", "b.png", "c.png"]
    assert new.classes is None
    image(tmp_path / "sorted" / "cats" / "x.png")
    assert read_new_images(tmp_path / "sorted", attrs).classes == ["cats"]
    image(tmp_path / "sorted" / "y.png")  # a loose image beside class folders is not skipped
    with pytest.raises(ValueError, match="both class sub-folders and loose images \\(y.png\\)"):
        read_new_images(tmp_path / "sorted", attrs)


@pytest.mark.slow
def test_a_finished_folder_run_places_new_images_with_their_class(tmp_path, capsys):
    """The README's walk-through at test size: a folder run, then new images of the same
    classes (other file numbers) placed by the command, given the grouped folder."""
    folder = class_folder(tmp_path / "shapes")
    run = snakemake(
        tmp_path,
        pixels_kmeans_config("shapes", folder, n_init=5),
        report_file("clusters", dataset="shapes"),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    fitted = list(
        csv.DictReader(open(tmp_path / "results/shapes/pixels/seed0/kmeans/assignments.csv"))
    )
    cluster_of = {r["class"]: r["cluster"] for r in fitted}
    new = class_folder(tmp_path / "new", per_class=2)  # the same classes, files 0..5
    grouped = tmp_path / report_file("clusters", dataset="shapes") / "pixels_kmeans"
    status = main([str(new), str(grouped), "--device", "cpu", "--group", str(tmp_path / "g")])
    assert status == 0
    out = tmp_path / "results/shapes/pixels/seed0/kmeans/placed/new.csv"
    rows = list(csv.DictReader(open(out)))
    assert [r["source"] for r in rows][:2] == ["circle/img00.png", "circle/img01.png"]
    assert all(r["cluster"] == cluster_of[r["class"]] for r in rows) and len(rows) == 6
    about = json.loads(out.with_suffix(".json").read_text())
    assert about["rule"].startswith("the nearest centre") and about["images"] == 6
    assert sorted(p.name for p in (tmp_path / "g").iterdir() if p.is_dir()) == [
        f"cluster_0{c}" for c in sorted({cluster_of[k] for k in CLASSES})
    ]
    # the new images' grouped folder names the same run: placing through it gives the same
    main([str(new), str(tmp_path / "g"), "--device", "cpu", "-o", str(tmp_path / "again.csv")])
    assert list(csv.DictReader(open(tmp_path / "again.csv"))) == rows
    image(tmp_path / "odd" / "big.png", size=(16, 16))
    with pytest.raises(SystemExit, match="1"):
        main([str(tmp_path / "odd"), str(grouped), "--device", "cpu"])
    assert "big.png (1x16x16)" in capsys.readouterr().err
    assert main([str(tmp_path / "odd"), str(grouped), "--device", "cpu", "--resize"]) == 0
    # the Python way docs/outputs.md shows, on this run: the same clusters as the command
    example = re.search(r"```python\n(.*?)```", (REPO / "docs" / "outputs.md").read_text(), re.S)[1]
    example = example.replace('"results/reports/own_images/clusters/mine/n2d"', repr(str(grouped)))
    example = example.replace('"new_images"', repr(str(new)))
    space: dict = {}
    exec(example, space)  # noqa: S102 - the docs' own example
    assert [str(c) for c in space["clusters"]] == [r["cluster"] for r in rows]
    with pytest.raises(SystemExit, match="1"):
        main([str(new), str(tmp_path / "results"), "--device", "cpu"])
    assert "results: not a finished run (no metrics.json)" in capsys.readouterr().err


def test_a_umap_run_places_an_image_by_its_nearest_fitted_images(blobs_images, tmp_path):
    """No fitted UMAP is kept: the fitted images nearest in the features UMAP embedded vote."""
    images, classes = blobs_images
    run_dir = tmp_path / "results" / "blobs" / "pixels" / "seed0" / "umap_gmm"
    extractor = run_dir.parent
    (extractor / "manifolds").mkdir(parents=True)
    fitted = images[:90]
    write_h5(
        extractor / "features.h5",
        {"features": fitted.reshape(90, -1)},
        {"source": "pixels", "default_layer": "pixels"},
    )
    write_h5(extractor / "manifolds" / "umap_n2d.h5", {}, {"manifold": {"method": "umap"}})
    write_h5(run_dir / "labels.h5", {"labels": (classes[:90] + 1) % 3})  # clusters named apart
    record = {"seed": 0, "n_clusters": 3, "params": {"method": "gmm", "manifold": "umap_n2d"}}
    run = Run(run_dir, {"dataset": "blobs", **record})
    new = NewImages(images[90:], [f"{i}.png" for i in range(30)], None)
    clusters, scores, rule = place(run, new, device="cpu")
    assert clusters.tolist() == ((classes[90:] + 1) % 3).tolist()
    assert scores["confidence"].min() == 1.0 and "10 nearest fitted images" in rule


def test_the_example_folders_hold_the_digits_named_by_their_digit(tmp_path):
    from deepclust.data.example_folder import write_example_folders
    from deepclust.data.readers import read_digits

    images, labels = read_digits()
    assert write_example_folders(tmp_path / "mine", tmp_path / "new", n_new=7) == (1790, 7)
    files = sorted((tmp_path / "new").iterdir())
    assert [f.name for f in files] == [f"{i}_digit{labels[i]}.png" for i in range(1790, 1797)]
    for i, file in zip(range(1790, 1797), files, strict=True):  # the digit's own pixels
        np.testing.assert_allclose(np.asarray(Image.open(file)) / 255, images[i], atol=0.5 / 255)
    assert len(list((tmp_path / "mine").iterdir())) == 1790
    with pytest.raises(ValueError, match="new: already holds files"):
        write_example_folders(tmp_path / "other", tmp_path / "new")
    assert not (tmp_path / "other").exists()  # refused before writing anything
