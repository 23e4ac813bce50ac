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
    """GPT-4's point method on per-problem pass counts, at ``target`` compute.

    Problems are bucketed by difficulty as ``forecast(law="pass_rate")`` does, the
    ``exclude_hardest`` hardest left out, and each bucket's mean −log pass rate over the
    problems every run solved at least once is extrapolated along a straight line in
    log-log against compute. No posterior, so no intervals: shown beside the Bayesian fit.

    Parameters
    ----------
    data : str, os.PathLike or pandas.DataFrame
        Pass counts as ``load_pass_counts`` reads them: ``compute``, ``problem``, ``n``,
        ``correct`` (one row per run and problem).
    target : float or sequence of float
        The compute (FLOPs, > 0) to forecast at.
    buckets : int, default 6
        Difficulty buckets among the kept problems (bucket 1 the easiest).
    exclude_hardest : int, default 15
        How many of the lowest-scoring problems to leave out.

    Returns
    -------
    PointForecast
        One value per target and bucket (``"all"`` included), ``to_frame()``, the bucket
        assignment (``buckets``) and how many problems were ``dropped``.

    Raises
    ------
    DataError
        When the counts are unusable (see ``load_pass_counts``) or a target is empty, not
        a number, not finite or <= 0.
    ValueError
        When ``buckets < 1``, ``exclude_hardest < 0``, or fewer problems are left after the
        exclusion than there are buckets.
    TypeError
        When ``buckets`` or ``exclude_hardest`` is not an integer.

    Warns
    -----
    ExtrapolationWarning
        For a target inside, below or more than 10^6 × past the runs' compute.
    IncompleteRunsWarning
        When some runs lack rows for problems other runs have.

    See Also
    --------
    forecast, PointForecast

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> point = bs.point_forecast(bs.example_pass_counts(), target=1e21)
    >>> point.dropped  # problems some run never solved: the method cannot use them
    49
    >>> point.to_frame()[["compute", "bucket", "value", "k"]]
    """
    counts = load_pass_counts(data)
    targets = check_targets(counts, target, stacklevel=3)
    assignment = assign_buckets(counts, buckets=buckets, exclude_hardest=exclude_hardest)
    return PointForecast(point_method(counts, assignment, np.atleast_1d(targets)), assignment)


class PointForecast:
    """What ``point_forecast`` returns: one value per target and bucket, and the bucket assignment.

    Made by ``bs.point_forecast``; not meant to be built by hand. ``dropped`` says how
    many problems the method left out because some run never solved them.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per target and bucket: ``compute``, ``bucket`` (``"1"``, ``"2"``, ...,
        ``"all"``), ``quantity`` (``"neg_log_pass_rate"``), ``value`` (the predicted
        −E[log pass rate]), ``alpha``, ``k``, ``problems_used``, ``problems_dropped``. A
        bucket with no usable problem is listed with NaN ``value``, ``alpha`` and ``k``.
    buckets : pandas.DataFrame
        The bucket assignment, one row per problem: ``problem``, ``score``, ``bucket``
        (``<NA>`` for excluded problems) and ``excluded``.

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> point = bs.point_forecast(bs.example_pass_counts(), target=[1e21, 1e22])
    >>> print(point)  # the value and k per target and bucket, and the problems dropped
    """

    def __init__(self, frame: pd.DataFrame, buckets: pd.DataFrame):
        self.frame = frame
        self.buckets = buckets

    @property
    def dropped(self) -> int:
        """Problems left out because some run never solved them."""
        return int(self.frame.attrs["dropped"]["count"])

    def to_frame(self) -> pd.DataFrame:
        """The forecast, one row per target and bucket.

        Returns
        -------
        pandas.DataFrame
            A copy of ``frame``: ``compute``, ``bucket``, ``quantity``, ``value``,
            ``alpha``, ``k``, ``problems_used``, ``problems_dropped``.

        Examples
        --------
        >>> point.to_frame().query("bucket == 'all'")[["compute", "value"]]
        """
        return self.frame.copy()

    def __repr__(self) -> str:
        table = self.frame[["compute", "bucket", "value", "k", "problems_used", "problems_dropped"]]
        return (
            f"PointForecast(GPT-4 point method, {self.dropped} problems dropped for a zero count)\n"
            + table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        )
