"""``point_forecast()``: GPT-4's point method for pass rates, kept to show beside the Bayesian fit.

A straight line in log(−E[log pass rate]) against log C per difficulty bucket, fitted only on
problems every run solved at least once: no posterior, so no intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling.buckets import assign_buckets, point_method
from bayes_scaling.tables import check_targets, load_pass_counts


def point_forecast(data, target, buckets: int = 6, exclude_hardest: int = 15) -> PointForecast:
    """GPT-4's point method on per-problem pass counts (``compute, problem, n, correct``) at ``target``
    compute: problems are bucketed by difficulty as ``forecast(law="pass_rate")`` does, the
    ``exclude_hardest`` hardest left out, and each bucket's −log pass rate extrapolated in log-log."""
    counts = load_pass_counts(data)
    targets = check_targets(counts, target, stacklevel=3)
    assignment = assign_buckets(counts, buckets=buckets, exclude_hardest=exclude_hardest)
    return PointForecast(point_method(counts, assignment, np.atleast_1d(targets)), assignment)


class PointForecast:
    """What ``point_forecast`` returns: one value per target and bucket, and the bucket assignment.

    ``dropped`` says how many problems the method left out because some run never solved them.
    """

    def __init__(self, frame: pd.DataFrame, buckets: pd.DataFrame):
        self.frame = frame
        self.buckets = buckets

    @property
    def dropped(self) -> int:
        """Problems left out because some run never solved them."""
        return int(self.frame.attrs["dropped"]["count"])

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def __repr__(self) -> str:
        table = self.frame[["compute", "bucket", "value", "k", "problems_used", "problems_dropped"]]
        return (
            f"PointForecast(GPT-4 point method, {self.dropped} problems dropped for a zero count)\n"
            + table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        )
