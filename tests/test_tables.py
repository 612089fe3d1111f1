import pytest

from deepclust.tables import aggregate, to_markdown


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
