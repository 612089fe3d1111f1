import csv
import json
from pathlib import Path

import pytest

from deepclust.tables import (
    METRICS,
    add_paper_values,
    aggregate,
    load_rows,
    read_paper_values,
    to_markdown,
    write_table_csv,
)


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
            rec["refinement"] = {
                "iterations": 7,
                "init_metrics": {"acc": init_acc, "nmi": 0.4},
                "best_monitored_acc_uses_labels": acc + 0.05,
            }
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
    assert "ACC before refinement | best epoch ACC (uses labels) |" in text
    # the final epoch is the reported number; the label-using best epoch sits beside it
    assert (
        "| d | dekm | 2 | 0.850 ± 0.071 |" in text and "| 0.650 ± 0.071 | 0.900 ± 0.071 |" in text
    )
    assert text.rstrip().endswith("| — | — |")


PAPER_CSV = """# published numbers
method,dataset,metric,value,paper,table
sdekc,usps,acc,0.8035,SDEKC,table 3
sdekc,usps,nmi,0.8205,SDEKC,table 3
mfvc,usps,acc,0.961,MFVC,table 2
"""


def _entry(dataset, experiment, acc, nmi=0.5):
    return {
        "dataset": dataset,
        "experiment": experiment,
        "n_seeds": 3,
        "uses_labels": False,
        **{f"{m}_mean": None for m in METRICS},
        **{f"{m}_std": 0.0 for m in METRICS},
        "acc_mean": acc,
        "nmi_mean": nmi,
    }


def test_paper_values_join_through_config_names(tmp_path):
    path = tmp_path / "paper.csv"
    path.write_text(PAPER_CSV)
    values = read_paper_values(path)
    assert values["sdekc", "usps", "acc"] == {"value": 0.8035, "paper": "SDEKC", "table": "table 3"}
    table = [
        _entry("usps", "sdekc_swapped", 0.794),  # a variant, named to the paper by config
        _entry("usps32", "mfvc", 0.95),  # a resized dataset, named by paper_name
        _entry("usps", "mine", 0.7),  # nothing published: left empty
        _entry("usps", "dekm+sdekc_swapped", 0.79),  # a run shared by two experiments
    ]
    add_paper_values(table, values, {"sdekc_swapped": "sdekc"}, {"usps32": "usps"})
    swapped, mfvc, mine, shared = table
    assert swapped["acc_paper"] == 0.8035 and swapped["acc_diff"] == pytest.approx(-0.0095)
    assert swapped["nmi_paper"] == 0.8205 and swapped["paper_source"] == "SDEKC table 3"
    assert mfvc["acc_paper"] == 0.961 and mfvc["nmi_paper"] is None and mfvc["nmi_diff"] is None
    assert mine["acc_paper"] is None and mine["paper_source"] is None
    assert shared["acc_paper"] == 0.8035
    text = to_markdown(table)
    assert "paper ACC (diff)" in text and "0.8035 (-0.009)" in text
    assert "| usps | mine | 3 | 0.700 ± 0.000 | 0.500 ± 0.000 | — | — | — | — |" in text

    out = tmp_path / "table.csv"
    write_table_csv(out, table)
    rows = list(csv.DictReader(open(out)))
    assert rows[0]["acc_paper"] == "0.803500" and rows[2]["acc_paper"] == ""


@pytest.mark.parametrize(
    "text, match",
    [
        ("method,dataset,metric,value\nm,d,acc,1\n", "missing column.*paper"),
        ("method,dataset,metric,value,paper,table\nm,d,acc,high,P,t\n", "row 2.*not a number"),
        (
            "method,dataset,metric,value,paper,table\nm,d,acc,1,P,t\nm,d,acc,2,P,t\n",
            "row 3.*twice",
        ),
    ],
)
def test_bad_paper_values_name_the_file_and_row(tmp_path, text, match):
    path = tmp_path / "paper.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as err:
        read_paper_values(path)
    assert "paper.csv" in str(err.value)


def test_bundled_paper_values_cover_every_method_config():
    """Every experiment of the shipped method configs finds its paper's row on its paper dataset."""
    import yaml

    repo = Path(__file__).resolve().parents[1]
    values = read_paper_values(repo / "workflow" / "resources" / "paper_values.csv")
    methods = {method for method, _, _ in values}
    for name in ("ascae", "sdekc", "sddecc", "mfvc"):
        config = yaml.safe_load((repo / "workflow" / "configs" / f"{name}.yaml").read_text())
        assert name in methods
        named = [e["paper"] for e in config["experiments"].values() if e.get("paper")]
        assert set(named) <= methods, name
    # COIL-20: every row of the nine methods finds its published value on the paper's dataset
    config = yaml.safe_load((repo / "workflow" / "configs" / "coil20.yaml").read_text())
    for experiment, entry in config["experiments"].items():
        method = entry.get("paper", experiment)
        for dataset in entry["datasets"]:
            paper_dataset = config["datasets"][dataset]["paper_name"]
            assert (method, paper_dataset, "acc") in values, (experiment, dataset)


def test_command_line_takes_paper_names_from_a_config(tmp_path, capsys):
    from deepclust.tables import main

    record = {
        "experiment": "swapped",
        "dataset": "usps16",
        "extractor": "cae",
        "clusterer": "dekm",
        "seed": 0,
        "uses_labels": False,
        "metrics": {"acc": 0.8, "nmi": 0.8, "ari": 0.7, "purity": 0.8},
    }
    path = tmp_path / "results" / "metrics.json"
    path.parent.mkdir()
    path.write_text(json.dumps(record))
    (tmp_path / "paper.csv").write_text(PAPER_CSV)
    (tmp_path / "config.yaml").write_text(
        "datasets: {usps16: {source: usps, paper_name: usps}}\n"
        "experiments: {swapped: {extractor: cae, clusterer: dekm, paper: sdekc}}\n"
    )
    main([str(tmp_path / "results"), "--paper", str(tmp_path / "paper.csv")])
    assert "0.8035" not in capsys.readouterr().out  # not renamed: no match
    main(
        [
            str(tmp_path / "results"),
            "--paper",
            str(tmp_path / "paper.csv"),
            "--config",
            str(tmp_path / "config.yaml"),
        ]
    )
    assert "0.8035 (-0.003)" in capsys.readouterr().out
