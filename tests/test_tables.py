import json

import pytest

from deepclust.tables import aggregate, load_rows, to_markdown


def test_mean_std_and_count_over_seeds():
    rows = [
        {
            "dataset": "d",
            "experiment": "e",
            "seed": s,
            "acc": a,
            "nmi": "0.5",
            "ari": "",
            "purity": "1",
            "uses_labels": "False",
        }
        for s, a in ((0, "0.6"), (1, "0.8"), (2, "0.7"))
    ]
    rows.append(
        {
            "dataset": "d",
            "experiment": "f",
            "seed": 0,
            "acc": "0.9",
            "nmi": "",
            "ari": "",
            "purity": "",
            "uses_labels": "True",
        }
    )
    e, f = aggregate(rows)
    assert e["n_seeds"] == 3 and e["seeds"] == [0, 1, 2]
    assert e["acc_mean"] == pytest.approx(0.7) and e["acc_std"] == pytest.approx(0.1)  # sample std
    assert e["ari_mean"] is None  # unlabelled metrics stay empty
    assert f["acc_std"] == 0.0 and f["uses_labels"]
    text = to_markdown([e, f])
    assert "| d | e | 3 | 0.700 ± 0.100 | 0.500 ± 0.000 | — |" in text
    assert "f (uses labels)" in text


def test_table_from_a_results_folder_shows_the_refiners_start(tmp_path):
    def record(experiment, seed, acc, init_acc=None):
        rec = {
            "experiment": experiment,
            "dataset": "d",
            "extractor": "cae",
            "clusterer": experiment,
            "seed": seed,
            "uses_labels": False,
            "metrics": {"acc": acc, "nmi": 0.5, "ari": 0.4, "purity": acc},
        }
        if init_acc is not None:
            rec["refinement"] = {"iterations": 7, "init_metrics": {"acc": init_acc, "nmi": 0.4}}
        return rec

    for seed, (acc, init) in enumerate(((0.8, 0.7), (0.9, 0.6))):
        for name, rec in (
            ("dekm", record("dekm", seed, acc, init)),
            ("km", record("km", seed, 0.5)),
        ):
            path = tmp_path / "d" / "cae" / f"seed{seed}" / name / "metrics.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(rec))
    rows = load_rows([tmp_path])
    assert len(rows) == 4 and {r["refine_iterations"] for r in rows} == {7, None}
    text = to_markdown(aggregate(rows))
    assert "ACC before refinement" in text
    assert "| d | dekm | 2 | 0.850 ± 0.071 |" in text and text.rstrip().endswith("| — |")
