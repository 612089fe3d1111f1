"""Appending one dated, reproducible Markdown table to bench/RESULTS.md (shared by the benchmarks)."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def append_table(
    title: str, notes: str, header: list[str], rows: list[list], out: str | Path = RESULTS
) -> None:
    """``## {title} — {UTC time}``, the machine, ``notes``, the command line, then the table."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n## {title} — {stamp}\n",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs; {notes}  ",
        f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`\n",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join(str(value) for value in row) + " |" for row in rows],
    ]
    with open(out, "a") as f:
        f.write("\n".join(lines) + "\n")
