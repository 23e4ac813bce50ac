"""``Forecast``, what ``forecast()`` returns: the answers at the targets, the verdict, and its output.

A ``Forecast`` is a thin view over one ``arviz.InferenceData``: the posterior, the
posterior predictive at the targets, the data it was fitted on and the settings
(data hash, priors, versions, seed) in its attrs. Everything it reports is computed
from that object, so a forecast saved to netCDF and loaded back answers identically.
Its own module, apart from the fit (``forecast.py``); what it records of the fit is its
base, ``ForecastRecord`` (``forecast_record.py``), and ``load_forecast`` reads one back
(``forecast_file.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_scaling.quiet import quietly

with quietly():  # often the first import of ArviZ
    import arviz as az

from bayes_scaling.forecast_record import ForecastRecord
from bayes_scaling.intervals import central_interval, interval_frame
from bayes_scaling.laws import get_law

KINDS = ("predictive", "mean")
_ATTR = "bayes_scaling"  # the attribute of the InferenceData that holds a forecast's settings, as JSON


class Forecast(ForecastRecord):
    """The posterior predictive of a law at one or more target computes.

    Made by ``bs.forecast`` and ``bs.load_forecast``. Every answer is computed from
    ``idata``, so a forecast saved and loaded back answers identically.

    Parameters
    ----------
    idata : arviz.InferenceData
        What ``forecast()`` stored (see ``idata`` below).
    refit : callable, optional
        The function that refits the law for the verdict's self-backtest: ``bs.forecast``,
        which ``bs.forecast`` and ``bs.load_forecast`` pass. Without it ``verdict()`` needs
        ``self_backtest=False``.

    Attributes
    ----------
    idata : arviz.InferenceData
        The posterior, the predictions at the targets (``predictions``), the data fitted
        (``observed_data``, ``constant_data``) and the settings (in ``attrs``).
    settings : dict
        What reproduces the fit: ``law``, ``law_options``, ``priors``, ``seed``,
        ``draws``, ``tune``, ``chains``, ``target_accept``, the data's hashes and source,
        package ``versions`` and when it was ``created``.

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> fc = bs.forecast(bs.example_runs(), target=[1e21, 1e22], seed=0)
    >>> print(fc)  # the intervals at each target and whether the sampler is healthy
    """

    def __init__(self, idata: az.InferenceData, refit=None):
        self.idata = idata
        self.settings = json.loads(idata.attrs[_ATTR])
        # handed in, not imported: forecast() makes Forecasts, so importing it here would be a cycle
        self._refit = refit
        self._verdicts = {}  # self_backtest -> Verdict: the self-backtest refits, so it is made once

    # -- the answers ---------------------------------------------------------------------
    def draws(self, kind: str = "predictive", quantity: str | None = None, bucket: str | None = None) -> np.ndarray:
        """Draws at the targets, shape (n_draws, n_targets).

        Parameters
        ----------
        kind : {"predictive", "mean"}, default "predictive"
            One new run (with run-to-run noise, where the law has it), or the mean curve.
        quantity : str, optional
            One of ``quantities``; default the law's first (``loss``, ``pass_rate``).
        bucket : str, optional
            Per-bucket laws only: one of ``bucket_labels``; default ``"all"``.

        Returns
        -------
        numpy.ndarray
            One row per posterior draw (chains × draws), one column per target.

        Raises
        ------
        ValueError
            When ``kind``, ``quantity`` or ``bucket`` is not one of this forecast's.

        Examples
        --------
        >>> fc.draws().shape  # 4 chains × 1000 draws, 2 targets
        (4000, 2)
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        quantity = self.quantities[0] if quantity is None else quantity
        if quantity not in self.quantities:
            raise ValueError(f"quantity must be one of {self.quantities}, got {quantity!r}")
        name = f"mean_{quantity}" if kind == "mean" and f"mean_{quantity}" in self.idata.predictions else quantity
        values = self.idata.predictions[name]
        labels = self.bucket_labels
        if labels is None:
            if bucket is not None:
                raise ValueError(f"the {self.law!r} law has no buckets")
        else:
            bucket = "all" if bucket is None else str(bucket)
            if bucket not in labels:
                raise ValueError(f"bucket must be one of {labels}, got {bucket!r}")
            values = values.sel(bucket=bucket)
        values = values.to_numpy()
        return values.reshape(-1, values.shape[-1])

    def interval(self, prob: float = 0.9, kind: str = "predictive", quantity: str | None = None, bucket: str | None = None):
        """Equal-tailed credible interval ``(lower, upper)``: floats for one target, arrays for several.

        Equal-tailed (not HDI) so that ``P(below lower) = P(above upper) = (1 - prob)/2``,
        the same tails ``prob_below`` and ``prob_above`` speak of.

        Parameters
        ----------
        prob : float, default 0.9
            The probability inside the interval, in (0, 1).
        kind, quantity, bucket
            Which draws, as for ``draws``.

        Returns
        -------
        tuple

        Raises
        ------
        ValueError
            When ``prob`` is not in (0, 1), and as ``draws``.

        Examples
        --------
        >>> lower, upper = fc.interval(0.9)  # one new run at each target
        """
        lower, upper = central_interval(self.draws(kind, quantity, bucket), prob)
        return self._per_target(lower), self._per_target(upper)

    def prob_below(self, threshold: float, kind: str = "predictive", quantity: str | None = None, bucket: str | None = None):
        """P(value < threshold) at each target.

        Parameters
        ----------
        threshold : float
            In the quantity's units (e.g. a loss).
        kind, quantity, bucket
            Which draws, as for ``draws`` (which says what raises ``ValueError``).

        Returns
        -------
        float or numpy.ndarray
            The share of draws below ``threshold``: a float for one target, an array for
            several.

        Examples
        --------
        >>> fc.prob_below(2.2)  # P(a new run's loss < 2.2) at 1e21 and 1e22
        """
        return self._per_target((self.draws(kind, quantity, bucket) < threshold).mean(axis=0))

    def prob_above(self, threshold: float, kind: str = "predictive", quantity: str | None = None, bucket: str | None = None):
        """P(value > threshold) at each target.

        Parameters
        ----------
        threshold : float
            In the quantity's units (e.g. a loss).
        kind, quantity, bucket
            Which draws, as for ``draws`` (which says what raises ``ValueError``).

        Returns
        -------
        float or numpy.ndarray
            The share of draws above ``threshold``: a float for one target, an array for
            several.

        Examples
        --------
        >>> fc.prob_above(2.2, kind="mean")  # P(the mean curve lies above 2.2)
        """
        return self._per_target((self.draws(kind, quantity, bucket) > threshold).mean(axis=0))

    def to_frame(self, kind: str = "predictive", quantity: str | None = None) -> pd.DataFrame:
        """One row per target (and bucket and quantity, for per-bucket laws).

        Parameters
        ----------
        kind : {"predictive", "mean"}, default "predictive"
            One new run, or the mean curve (as for ``draws``, which says what raises ``ValueError``).
        quantity : str, optional
            Per-bucket laws: keep only this quantity's rows (default: every quantity).
            Other laws: the quantity summarised (default: the law's first).

        Returns
        -------
        pandas.DataFrame
            Columns compute, mean, median, lower_50, upper_50, lower_90, upper_90,
            ``extrapolation_distance`` (the target's compute over the largest fitted compute;
            with ``params_outside`` and ``tokens_outside`` for the chinchilla law, see
            ``extrapolation_distance()``), and for per-bucket laws also ``bucket`` (``"all"``
            for all kept problems) and ``quantity``.

        Examples
        --------
        >>> fc.to_frame()[["compute", "median", "lower_90", "upper_90"]]
        """
        labels = self.bucket_labels
        distance = self.extrapolation_distance().drop(columns="compute")
        if labels is None:
            return pd.concat([interval_frame(self.draws(kind, quantity), compute=self.targets), distance], axis=1)
        frames = [
            pd.concat([interval_frame(self.draws(kind, name, bucket), compute=self.targets), distance], axis=1).assign(bucket=bucket, quantity=name)
            for name in (self.quantities if quantity is None else [quantity])
            for bucket in labels
        ]
        return pd.concat(frames, ignore_index=True)

    def parameters(self, var_names=None, **summary) -> pd.DataFrame:
        """Posterior summary of the law's parameters, without per-problem ones unless named.

        Parameters
        ----------
        var_names : list of str, optional
            The parameters to summarise (default: every parameter the law diagnoses,
            except those with one value per problem).
        **summary
            Passed to ``arviz.summary`` (e.g. ``hdi_prob=0.9``, ``kind="stats"``).

        Returns
        -------
        pandas.DataFrame
            ``arviz.summary``'s table: one row per parameter (and element), with mean, sd,
            HDI bounds, MCSE, ESS and r_hat.

        Examples
        --------
        >>> fc.parameters()[["mean", "sd", "r_hat"]]
        """
        per_problem = get_law(self.law).per_problem_variables  # one per problem: too many rows
        names = [n for n in self.settings["parameters"] if n not in per_problem] if var_names is None else var_names
        return az.summary(self.idata, var_names=list(names), **summary)

    def verdict(self, self_backtest: bool = True, progress: bool = False):
        """``ready``, ``caution`` or ``do-not-rely``, with its reasons (``bayes_scaling.checks.verdict``).

        Parameters
        ----------
        self_backtest : bool, default True
            Refit the law without the largest run or two and ask whether they fell inside
            its intervals: one more, shorter fit, made once per forecast and kept.
            ``False`` skips it, and the verdict says so.
        progress : bool, default False
            Show the refit's progress.

        Returns
        -------
        Verdict
            ``level``, ``reasons`` (the findings that set it), ``findings`` (every check's
            level and text) and ``line()``, the one line the command line prints.

        Raises
        ------
        ValueError
            If ``self_backtest`` is asked of a ``Forecast`` made without ``refit``.

        Examples
        --------
        >>> v = fc.verdict()
        >>> v.level, v.reasons
        """
        from bayes_scaling.checks.verdict import assess

        if self_backtest and self._refit is None:
            raise ValueError(
                "this Forecast was made without a refit function, which the self-backtest needs: "
                "ask for verdict(self_backtest=False), or make it with bs.forecast or bs.load_forecast"
            )
        if self_backtest not in self._verdicts:
            self._verdicts[self_backtest] = assess(self, self_backtest=self_backtest, progress=progress, refit_with=self._refit)
        return self._verdicts[self_backtest]

    # -- output ----------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write everything (posterior, predictions, data, settings) to one netCDF file.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write it; a file there is replaced.

        Returns
        -------
        pathlib.Path
            ``path``, which ``bs.load_forecast`` reads back.

        Examples
        --------
        >>> path = fc.save("fc.nc")
        """
        path = Path(path)
        self.idata.to_netcdf(str(path))
        return path

    def plot(self, path=None, ax=None, kind: str = "predictive", thresholds=(), actual=None):
        """Fan chart: data, median curve and 50/90% bands out to the targets (log compute), and thresholds.

        Per-bucket laws get one panel per bucket instead, and take ``path`` only.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Also write the figure there (e.g. ``.png``, ``.pdf``).
        ax : matplotlib.axes.Axes, optional
            Draw into these axes instead of a new figure.
        kind : {"predictive", "mean"}, default "predictive"
            The bands of one new run, or of the mean curve.
        thresholds : float or sequence of float, default ()
            Drawn as labelled horizontal lines.
        actual : pandas.DataFrame, optional
            Runs measured after the forecast (``compute`` and the quantity), drawn as stars.

        Returns
        -------
        matplotlib.figure.Figure
            The chart (not a pyplot figure: it goes when its last reference does).

        Raises
        ------
        ValueError
            When ``actual`` lacks ``compute`` or the quantity, or ``kind`` is unknown.

        Examples
        --------
        >>> figure = fc.plot("fan_chart.png", thresholds=[2.2])
        """
        from bayes_scaling.output.plotting import fan_chart

        return fan_chart(self, path=path, ax=ax, kind=kind, thresholds=thresholds, actual=actual)

    def report(self, path, thresholds=(), self_backtest: bool = True) -> Path:
        """Write a risk-review report: self-contained HTML, or Markdown with PNGs beside it.

        Parameters
        ----------
        path : str or os.PathLike
            Ending in ``.html`` or ``.md``; missing folders are made.
        thresholds : float or sequence of float, default ()
            Values whose probabilities the report gives, drawn on its charts.
        self_backtest : bool, default True
            ``False`` skips the verdict's refit (and the report says so).

        Returns
        -------
        pathlib.Path
            The report written.

        Raises
        ------
        ValueError
            When ``path`` ends in neither ``.html`` nor ``.md`` (before any refit).

        Examples
        --------
        >>> path = fc.report("review.html", thresholds=[2.2])
        """
        from bayes_scaling.output.report import SUFFIXES, write_report

        if Path(path).suffix.lower() not in SUFFIXES:  # before the verdict's refit
            raise ValueError(f"report path must end in .html or .md, got {Path(path).name!r}")
        return write_report(self, path, thresholds=thresholds, verdict=self.verdict(self_backtest))

    def __repr__(self) -> str:
        frame = self.to_frame(quantity=self.quantities[0])
        what = f"{self.quantities[0]} per bucket" if "bucket" in frame else "predictive intervals for one new run"
        table = frame.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        health = "ok" if self.ok else "FAILED: " + "; ".join(self.diagnostics.problems())
        fitted = f"{len(self.runs)} pass counts" if self.bucket_labels is not None else f"{len(self.runs)} runs"
        return (
            f"Forecast(law={self.law!r}, {fitted}, seed={self.settings['seed']})\n"
            f"{what}:\n{table}\ndiagnostics: {health}"
        )

    def _per_target(self, values: np.ndarray):
        return float(values[0]) if values.shape[0] == 1 else values
