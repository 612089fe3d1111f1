"""Your own images, grouped: one folder per cluster of the chosen clustering.

For a dataset read from an image folder, ``results/reports/{name}/clusters/{dataset}/{experiment}/``
(``{name}``: the config's, :func:`deepclust.config.report_name`) holds one
folder per cluster (``cluster_03/``; DBSCAN's noise in ``noise/``) with a link to (or, with
``group.files: copy``, a copy of) each member image, named after its source with the class
folder kept (``cat__001.png``) and, where the method scores its members, ranked: ``000_...`` is
the member nearest its cluster's centre (or the most confident), the last the least. The
experiment is ``group.experiment`` or, by default, the dataset's label-free pick (table.md's
"Label-free pick"), at its lowest seed; ``selection.json`` beside the folders says which run it
is and why, and ``members.csv`` counts each cluster.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

from deepclust.io import read_csv, write_csv
from deepclust.label_free import pick_entry, pick_without_labels

#: how member files are placed
FILE_MODES = ("symlink", "copy")


def chosen_experiment(table_csv: str | Path, dataset: str, experiment: str | None) -> dict:
    """The experiment to group ``dataset`` by: ``experiment`` when given, else the label-free
    pick from ``table_csv``; ``{"experiment", "chosen_by"}``."""
    if experiment:
        return {"experiment": experiment, "chosen_by": "group.experiment in the config"}
    rows = [pick_entry(r) for r in read_csv(table_csv) if r["dataset"] == dataset]
    picks = pick_without_labels(rows)
    if not picks:
        raise ValueError(f"{table_csv}: no experiment on {dataset!r} to choose from")
    pick = picks[0]
    if pick["picked"] is None:  # still grouped, so there are folders to look at; it says so
        first = pick["candidates"][0]
        return {
            "experiment": first,
            "chosen_by": f"label-free pick {pick['decided_by']}: {' / '.join(pick['candidates'])}; "
            f"grouped by {first}, the highest modularity; set group.experiment to choose",
        }
    return {"experiment": pick["picked"], "chosen_by": f"label-free pick ({pick['decided_by']})"}


def group_dataset(
    table_csv: str | Path,
    dataset: str,
    runs: Mapping[str, str],
    image_root: str | Path,
    out_root: str | Path,
    group: Mapping,
) -> tuple[str, dict[str, int]]:
    """The workflow's ``group`` job: choose the experiment (:func:`chosen_experiment`) among
    ``runs`` (experiment -> its lowest seed's assignments.csv) and group ``dataset``'s images
    under ``out_root/{experiment}`` (:func:`group_images`). Returns the run grouped and the
    member count per folder."""
    choice = chosen_experiment(table_csv, dataset, group.get("experiment"))
    if choice["experiment"] not in runs:
        raise ValueError(
            f"group.experiment: {choice['experiment']!r} did not run on {dataset!r}; "
            f"it ran: {', '.join(runs)}"
        )
    source = runs[choice["experiment"]]
    counts = group_images(
        source,
        image_root,
        Path(out_root) / choice["experiment"],
        files=group.get("files", "symlink"),
        selection={**choice, "dataset": dataset, "run": source},
    )
    return source, counts


def group_images(
    assignments_csv: str | Path,
    image_root: str | Path,
    out_dir: str | Path,
    *,
    files: str = "symlink",
    selection: Mapping | None = None,
) -> dict[str, int]:
    """Write ``out_dir`` as one folder per cluster of ``assignments_csv``'s images (read from
    ``image_root``, the dataset's folder); returns the member count per folder. The folder is
    built beside ``out_dir`` and renamed into place, replacing an earlier grouping whole."""
    if files not in FILE_MODES:
        raise ValueError(f"group.files must be one of {FILE_MODES}, got {files!r}")
    rows = read_csv(assignments_csv)
    root = Path(image_root).resolve()
    missing = [r["source"] for r in rows if not (root / r["source"]).is_file()]
    if missing:
        raise ValueError(
            f"{assignments_csv}: {len(missing)} image(s) no longer in {root} "
            f"(first: {missing[0]}); the grouping needs the files the run read"
        )
    score, nearest_first = _ranking(rows)
    width = max(2, len(str(max(int(r["cluster"]) for r in rows))))
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # a plain mkdir (not mkdtemp's owner-only mode): the folders get the user's usual permissions
    tmp = out_dir.parent / f".{out_dir.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    counts: dict[str, int] = {}
    try:
        for cluster in sorted({int(r["cluster"]) for r in rows}):
            folder = "noise" if cluster < 0 else f"cluster_{cluster:0{width}d}"
            members = [r for r in rows if int(r["cluster"]) == cluster]
            if score:
                members.sort(key=lambda r: _order(r[score], nearest_first))
            (tmp / folder).mkdir()
            for rank, row in enumerate(members):
                name = row["source"].replace("/", "__")
                name = f"{rank:03d}_{name}" if score else name
                source = root / row["source"]
                if files == "copy":
                    shutil.copy2(source, tmp / folder / name)
                else:
                    (tmp / folder / name).symlink_to(source)
            counts[folder] = len(members)
        write_csv(tmp / "members.csv", [{"folder": k, "images": v} for k, v in counts.items()])
        ranked = f"ranked by {score} ({'nearest' if nearest_first else 'most confident'} first)"
        about = {**(selection or {}), "files": files, "order": ranked if score else "by name"}
        (tmp / "selection.json").write_text(json.dumps(about, indent=2, sort_keys=True) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return counts


def _ranking(rows: list[dict]) -> tuple[str | None, bool]:
    """The score members are ordered by: distance (nearest first), else confidence (highest
    first), else none."""
    columns = rows[0].keys() if rows else ()
    if "distance" in columns:
        return "distance", True
    if "confidence" in columns:
        return "confidence", False
    return None, True


def _order(text: str, ascending: bool) -> float:
    if text == "":
        return float("inf")  # noise: no score, last
    return float(text) if ascending else -float(text)
