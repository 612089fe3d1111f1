"""The orderings a paper's text claims (``A < B < C`` on a dataset), judged on our runs.

A chain is judged only on runs of one setting: the same data (the rows' own, or one stand-in
dataset for all) and the same schedule (the paper's, or one epochs stand-in for all; a run that
trains nothing fits any). A step whose two means differ by no more than the larger of their
seeds' standard deviations is said to lie inside the seed spread.
"""

from __future__ import annotations

from deepclust.ledger.cells import (
    DATASET_NAMES,
    MIN_SEEDS,
    first_epochs,
    honest_entries,
    marks,
    native_data,
)


def _setting(entry: dict, method: str, paper: dict) -> tuple[str, str | None]:
    """What an ordering holds fixed across its cells: the data (``native`` where the run saw the
    row's own, :func:`native_data`, else the dataset's name) and the schedule (an epochs stand-in's
    "20 epochs", "" for the paper's; None for a run that trains nothing, which fits any)."""
    data = "native" if native_data(entry, method, paper) else entry["dataset"]
    if first_epochs(entry) is None:
        return data, None
    short = [m.text for m in marks(entry, method, paper) if m.kind == "epochs"]
    return data, short[0].split(" (")[0] if short else ""


def _fits(setting: tuple[str, str | None], key: tuple[str, str]) -> bool:
    return setting[0] == key[0] and setting[1] in (None, key[1])


def _comparable(chain: list[str], dataset: str, table: list[dict], paper: dict, best: dict):
    """``(setting, entries)``: for each method of ``chain`` the entry an ordering compares on
    ``dataset``, all of one setting (:func:`_setting`), over >= 3 seeds where there are. The
    cells' own entries when they share one; else the best mean per method of a setting all
    have, the paper's schedule and the row's own data first. None when none is shared."""
    candidates = {}
    for method in chain:
        entries = honest_entries(table, method, dataset)
        candidates[method] = [e for e in entries if e["n_seeds"] >= MIN_SEEDS] or entries
    settings = {m: [(_setting(e, m, paper), e) for e in candidates[m]] for m in chain}
    keys = {
        (data, schedule if schedule is not None else "")
        for m in chain
        for (data, schedule), _ in settings[m]
    }
    shared = [k for k in keys if all(any(_fits(s, k) for s, _ in settings[m]) for m in chain)]
    shown = [best[m] for m in chain]
    for key in sorted(shared, key=lambda k: (k[1] != "", k[0] != "native", k)):
        if all(_fits(_setting(e, m, paper), key) for m, e in zip(chain, shown, strict=True)):
            return key, shown
    if not shared:
        return None
    key = min(shared, key=lambda k: (k[1] != "", k[0] != "native", k))
    picked = [
        max((e for s, e in settings[m] if _fits(s, key)), key=lambda e: e["acc_mean"])
        for m in chain
    ]
    return key, picked


def _inside_spread(a: dict, b: dict) -> bool:
    """Whether two means differ by no more than the larger of their seeds' standard deviations."""
    spread = max(a.get("acc_std") or 0.0, b.get("acc_std") or 0.0)
    return abs(b["acc_mean"] - a["acc_mean"]) <= spread


def ordering_lines(paper: dict, cells: list, table: list[dict]) -> list[str]:
    """Each claimed chain, per dataset: holds / does not hold on our means of runs on the same
    data and schedule (saying where a step lies inside the seed spread), and on the paper's."""
    by_cell = {(m, d): (theirs.get("acc"), entry) for _, m, d, theirs, entry, _ in cells}
    datasets = list(dict.fromkeys(d for _, _, d, *_ in cells))
    lines = []
    labels = {m: t["labels"][m] for t in paper["tables"] for m in t["rows"]}
    for chain in paper.get("orderings") or []:
        names = " < ".join(labels.get(m, m) for m in chain)
        for dataset in datasets:
            found = [by_cell.get((m, dataset)) for m in chain]
            if any(f is None or f[0] is None for f in found):
                continue  # the paper does not print the chain on this dataset
            theirs = [f[0] for f in found]
            paper_holds = all(a < b for a, b in zip(theirs, theirs[1:], strict=False))
            where = f"{names} on {DATASET_NAMES.get(dataset, dataset)}"
            theirs_text = " < ".join(f"{v:.4g}" for v in theirs)
            if any(f[1] is None for f in found):
                missing = [
                    labels.get(m, m) for m, f in zip(chain, found, strict=True) if f[1] is None
                ]
                lines.append(
                    f"- {where}: not measured ({', '.join(missing)} missing); paper {theirs_text}"
                )
                continue
            best = {m: f[1] for m, f in zip(chain, found, strict=True)}
            comparable = _comparable(chain, dataset, table, paper, best)
            if comparable is None:
                settings = ", ".join(
                    f"{labels.get(m, m)} `{best[m]['variant']}` on `{best[m]['dataset']}`"
                    f" ({best[m]['epochs'] or 'no'} epochs)"
                    for m in chain
                )
                lines.append(
                    f"- {where}: **not comparable**: no runs of all on the same data and"
                    f" schedule ({settings}); paper {theirs_text}"
                )
                continue
            (data, schedule), compared = comparable
            ours = [e["acc_mean"] for e in compared]
            holds = all(a < b for a, b in zip(ours, ours[1:], strict=False))
            verdict = "**holds**" if holds else "**does not hold**"
            pairs = list(zip(chain, compared, strict=True))
            inside = [
                f"{labels.get(a, a)} → {labels.get(b, b)}"
                for (a, ea), (b, eb) in zip(pairs, pairs[1:], strict=False)
                if _inside_spread(ea, eb)
            ]
            on = "the row's own data" if data == "native" else f"`{data}`"
            stand_in = [
                mark.text for m, e in pairs for mark in marks(e, m, paper) if mark.kind == "epochs"
            ]
            setting = f"on {on}" + (f", at {stand_in[0]}" if schedule and stand_in else "")
            ours_text = ", ".join(f"{e['acc_mean']:.3f} `{e['variant']}`" for e in compared)
            spread = f"; inside the seed spread: {', '.join(inside)}" if inside else ""
            lines.append(
                f"- {where}: {verdict}{spread} (ours {ours_text}, {setting};"
                f" paper {theirs_text}"
                f"{'' if paper_holds else ', which does not hold in the paper either'})"
            )
    return lines
