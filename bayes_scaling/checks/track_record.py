"""How well a law has forecast before: its measured coverage and error at a given distance.

``datasets/track_record.csv`` holds one row per forecast that a benchmark made of a real,
held-out run of a public ladder: the law and its options, the method (``bayes``, or the
curve_fit + bootstrap baseline), the data set, the distance of the run beyond the largest
fitted one (``ratio``), whether its 50% and 90% intervals held the measured loss, and the
error of the median. ``benchmarks/backtests.py --track-record`` writes it; nothing in it
is typed by hand. A law (or a setting of its options) with no rows has no track record:
it is "not yet measured", and says so.

``track_record(law, options, ratio)`` picks the forecasts made at about the same distance
(within a factor ``WINDOW`` either side; the nearest measured distance when none is that
close) and pools them, per data set and over all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from bayes_scaling.formatting import format_ratio

WINDOW = 3.0  # forecasts within this factor of the distance count as "at this distance"
SOURCE = "benchmarks/backtests.py"  # what wrote the shipped file (see docs/backtesting.md)


@lru_cache(maxsize=1)
def measured() -> pd.DataFrame:
    """Every forecast in the shipped track record (an empty table if there is none)."""
    path = resources.files("bayes_scaling.datasets") / "track_record.csv"
    if not path.is_file():
        return pd.DataFrame(columns=["law", "options", "method", "dataset", "ratio", "covered_50", "covered_90", "abs_pct_error"])
    with resources.as_file(path) as file:
        return pd.read_csv(file, comment="#")


def options_key(options: dict | None) -> str:
    """A law's options as the track record writes them: canonical JSON ({} for the defaults)."""
    return json.dumps(options or {}, sort_keys=True, default=str)


@dataclass(frozen=True)
class TrackRecord:
    """The measured forecasts of one law (and options) near one distance."""

    law: str
    options: str
    ratio: float
    rows: pd.DataFrame  # the forecasts at this distance, every method
    measured_range: tuple[float, float] | None  # distances measured at all for this law and options (bayes)
    nearest: bool  # no forecast within WINDOW of ratio: rows are those at the nearest measured distance

    @property
    def bayes(self) -> pd.DataFrame:
        return self.rows[self.rows["method"] == "bayes"]

    @property
    def coverage_90(self) -> float | None:
        rows = self.bayes
        return float(rows["covered_90"].mean()) if len(rows) else None

    def summary(self) -> pd.DataFrame:
        """One row per data set and method, then the pooled rows: forecasts, distances,
        coverage of the 50% and 90% intervals, median abs % error, fits that failed diagnostics."""
        out = []
        for (method, dataset), group in self.rows.groupby(["method", "dataset"], sort=False):
            out.append(_pool(group, method, dataset))
        for method, group in self.rows.groupby("method", sort=False):
            if group["dataset"].nunique() > 1:
                out.append(_pool(group, method, "all of the above"))
        return pd.DataFrame(out)

    def describe(self) -> str:
        """One sentence: what was measured at this distance, or that nothing was."""
        if self.measured_range is None:
            return (f"The {self.law} law's intervals have not yet been measured against held-out runs of public ladders "
                    f"({SOURCE} has no forecast of it with these options): its calibration is not yet measured.")
        rows = self.bayes
        lo, hi = (float(rows["ratio"].min()), float(rows["ratio"].max()))
        span = _span(lo, hi)
        where = (f"the nearest measured distance, {span}" if self.nearest else f"{span} beyond the largest fitted run")
        far = (f"Nothing was measured within {WINDOW:g}× of this forecast's {format_ratio(self.ratio)}. " if self.nearest else "")
        return (f"{far}At {where}, the {self.law} law's 90% intervals held {int(rows['covered_90'].sum())} of {len(rows)} "
                f"held-out runs of public ladders ({self.coverage_90:.0%}; median error "
                f"{rows['abs_pct_error'].median():.2f}%).")


def track_record(law: str, options: dict | None, ratio: float) -> TrackRecord:
    """The measured forecasts of ``law`` with ``options`` at about ``ratio`` × the largest fitted run."""
    table = measured()
    key = options_key(options)
    mine = table[(table["law"] == law) & (table["options"].map(_canonical) == key)]
    bayes = mine[mine["method"] == "bayes"]
    if not len(bayes):
        return TrackRecord(law, key, float(ratio), mine.iloc[:0], None, False)
    measured_range = (float(bayes["ratio"].min()), float(bayes["ratio"].max()))
    near = mine[(mine["ratio"] >= ratio / WINDOW) & (mine["ratio"] <= ratio * WINDOW)]
    nearest = not (near["method"] == "bayes").any()
    if nearest:  # the forecasts within WINDOW of the closest measured distance
        closest = float(bayes["ratio"].iloc[np.argmin(np.abs(np.log(bayes["ratio"] / ratio)))])
        near = mine[(mine["ratio"] >= closest / WINDOW) & (mine["ratio"] <= closest * WINDOW)]
    return TrackRecord(law, key, float(ratio), near.reset_index(drop=True), measured_range, nearest)


def _span(lo: float, hi: float) -> str:
    return format_ratio(lo) if format_ratio(lo) == format_ratio(hi) else f"{format_ratio(lo)}–{format_ratio(hi)}"


def _canonical(text: str) -> str:
    return options_key(json.loads(text)) if isinstance(text, str) and text else options_key({})


def _pool(group: pd.DataFrame, method: str, dataset: str) -> dict:
    return {
        "method": "bayes_scaling" if method == "bayes" else "curve_fit + bootstrap",
        "data set": dataset,
        "forecasts": len(group),
        "distance": _span(group["ratio"].min(), group["ratio"].max()),
        "90% coverage": f"{group['covered_90'].mean():.0%} ({int(group['covered_90'].sum())} of {len(group)})",
        "50% coverage": f"{group['covered_50'].mean():.0%}",
        "median abs. error": f"{group['abs_pct_error'].median():.2f}%",
        "unhealthy fits": "—" if method != "bayes" else str(int((~group["healthy"].astype(bool)).sum())),
    }
