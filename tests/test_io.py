import os
import stat

import numpy as np
import pytest

from deepclust.io import atomic_path, read_h5, write_h5, write_json


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"  # the cached result is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_written_files_follow_the_umask(tmp_path):
    write_json(tmp_path / "a.json", {"x": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o666 & ~umask


def test_h5_roundtrip_with_attrs_and_missing_arrays(tmp_path):
    write_h5(
        tmp_path / "x.h5",
        {"a": np.arange(5000.0), "b": None},
        {"d": {"k": [1, 2]}, "n": 3, "none": None},
    )
    arrays, attrs = read_h5(tmp_path / "x.h5", ("a", "b"))
    assert arrays["b"] is None and arrays["a"].sum() == sum(range(5000))
    assert attrs == {"d": {"k": [1, 2]}, "n": 3, "none": None}
