"""Finished sweeps shown in the report (``verify report --sweep DIR``): each becomes a
section with its phase table (verdict over expansion x sampling rate) and heat map,
read from the sweep's own result records (never recomputed)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from ..errors import invalid
from .model import FigureOut, slug


@dataclass(frozen=True)
class SweepSection:
    """A parameter sweep shown in the report: its phase table and heat map."""

    name: str
    source: str
    n_tasks: int
    n_failed: int
    table: pd.DataFrame
    figure: FigureOut

    def intro(self) -> str:
        return (f"Sweep `{self.name}` read from `{self.source}`: {self.n_tasks} tasks "
                f"({self.n_failed} recorded as failed, left out of the fractions). Each cell "
                "is the fraction of tasks whose check passed; `n` tasks per cell. The full "
                f"table is `sweeps/{self.name}-phase.csv`.")

    def record(self) -> dict:
        """The sweep as the provenance lists it."""
        return {"name": self.name, "source": self.source, "tasks": self.n_tasks,
                "failed": self.n_failed}


def load_sweeps(dirs: Iterable[str | os.PathLike]) -> list[SweepSection]:
    """Read finished sweeps (folders written by ``verify sweep``) into report sections."""
    from ..plotting import render
    from ..sweep import load_results, phase_figure, phase_table

    sections = []
    for n, d in enumerate(dirs, start=1):
        folder = Path(d)
        if not (folder / "results.jsonl").is_file():
            raise invalid("--sweep", "a folder written by `verify sweep` (with results.jsonl)",
                          str(d))
        df = load_results(folder)
        if df.empty:
            raise invalid("--sweep", "a sweep with at least one finished task", str(d))
        table = phase_table(df)
        png, note = render(lambda _df: phase_figure(_df), df)
        name = slug(folder.name) or f"sweep-{n}"
        failed = int((df["status"] == "failed").sum()) if "status" in df else 0
        sections.append(SweepSection(
            name, str(folder), len(df), failed, table,
            FigureOut(f"figures/sweep-{name}.png",
                      f"phase diagram of sweep {folder.name}: fraction passed over "
                      "expansion x sampling rate", png, note)))
    return sections


__all__ = ["SweepSection", "load_sweeps"]
