"""``ForecastRecord``, the base of ``Forecast``: what a forecast records of its fit, read back from its InferenceData.

The law, the targets and quantities forecast, the table fitted (and the pass-rate law's buckets),
where the data came from, the sampler's health and the checks on the ladder (curvature, trend
reversal). Its own module so that ``forecast_result.py`` holds what a forecast answers and
writes; every property here reads ``self.idata`` and ``self.settings``, which ``Forecast`` sets.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from bayes_scaling.inference.diagnostics import Diagnostics, diagnose
from bayes_scaling.laws import get_law
from bayes_scaling.checks.curvature import check as check_curvature
from bayes_scaling.checks.trend_reversal import check as check_trend_reversal


class ForecastRecord:
    """What was forecast and how the fit went; ``Forecast`` adds the answers and the output."""

    # -- what was forecast -------------------------------------------------------------
    @property
    def law(self) -> str:
        """The law fitted: ``"loss"``, ``"pass_rate"``, ``"two_step"`` or ``"chinchilla"``."""
        return self.settings["law"]

    @property
    def targets(self) -> np.ndarray:
        """The target computes (FLOPs) forecast at, in the order given."""
        return self.idata.predictions_constant_data["compute"].to_numpy()

    def extrapolation_distance(self) -> pd.DataFrame:
        """How far each target lies from the fitted runs: one row per target.

        Returns
        -------
        pandas.DataFrame
            ``compute`` and ``extrapolation_distance``, the target's compute over the largest
            fitted compute (below 1: inside or below the ladder). For laws whose targets have
            ``params`` and ``tokens`` (``"chinchilla"``), also ``params_outside`` and
            ``tokens_outside``: how many times beyond the fitted range of N and of D the
            target lies (1 inside it; the factor past the nearer end outside it).

        Examples
        --------
        >>> fc.extrapolation_distance()
           compute  extrapolation_distance
        0    1e+21                    33.3
        """
        fitted = self.runs
        frame = pd.DataFrame({"compute": self.targets, "extrapolation_distance": self.targets / float(fitted["compute"].max())})
        stored = self.idata.predictions_constant_data
        for name in get_law(self.law).target_columns:
            values = stored[name].to_numpy().astype(float)
            low, high = float(fitted[name].min()), float(fitted[name].max())
            frame[f"{name}_outside"] = np.maximum.reduce([np.ones_like(values), values / high, low / values])
        return frame

    @property
    def quantities(self) -> list[str]:
        """What is forecast; the first is the default of ``interval``, ``prob_below``..."""
        return list(self.settings["quantities"])

    @property
    def bucket_labels(self) -> list[str] | None:
        """Per-bucket laws: the buckets (``"1"``, ..., ``"all"``); None for the others."""
        predictions = self.idata.predictions
        return [str(b) for b in predictions["bucket"].to_numpy()] if "bucket" in predictions.dims else None

    @cached_property
    def runs(self) -> pd.DataFrame:
        """The table the law was fitted on (runs, or pass counts of the kept problems)."""
        constant = self.idata.constant_data
        columns = {name: constant[name].to_numpy() for name in constant.data_vars if constant[name].dims == ("row",)}
        observed = self.settings["observed"]
        columns[observed] = self.idata.observed_data[observed].to_numpy()
        frame = pd.DataFrame(columns)
        first = [name for name in ("run", "compute", "problem", observed) if name in frame]
        return frame[first + [name for name in frame.columns if name not in first]]

    @cached_property
    def buckets(self) -> pd.DataFrame | None:
        """Pass-rate law: each problem's difficulty score and bucket (0 = left out as too hard); None for the others.

        With soft buckets also the prior and posterior probability that a problem follows a
        neighbouring bucket's exponent.
        """
        constant = self.idata.constant_data
        if "benchmark_problem" not in constant.dims:
            return None
        frame = pd.DataFrame(
            {name: constant[name].to_numpy() for name in constant.data_vars if constant[name].dims == ("benchmark_problem",)}
        ).rename(columns={"problem_name": "problem"})
        describe = get_law(self.law).describe_buckets  # e.g. soft buckets' membership
        return frame if describe is None else describe(frame, self.idata.posterior, constant)

    @property
    def provenance(self) -> dict:
        """Where the fitted data came from: ``source``, ``file_sha256``, ``sha256`` and ``note``.

        ``source`` is a file path, or "DataFrame"; ``file_sha256`` the hash of the file's bytes
        (None for a DataFrame); ``sha256`` that of the validated table, whatever its format;
        ``note`` what the data are (e.g. synthetic; None if nobody said).
        """
        s = self.settings
        return {
            "source": s["data_source"],
            "file_sha256": s.get("data_file_sha256"),  # absent from forecasts saved before it existed
            "sha256": s["data_sha256"],
            "note": s.get("data_note"),
        }

    @cached_property
    def diagnostics(self) -> Diagnostics:
        """Sampler health: worst r_hat, bulk and tail ESS over the law's parameters, and divergences."""
        return diagnose(self.idata, var_names=list(self.settings["parameters"]))

    @property
    def ok(self) -> bool:
        """Whether the diagnostics passed: no divergences, r_hat <= 1.01, ESS >= 400."""
        return self.diagnostics.ok

    @cached_property
    def curvature(self) -> dict | None:
        """Does the ladder bend away from the loss law? The extrapolation error's bend (``bayes_scaling.checks.curvature``)."""
        return check_curvature(self)

    @cached_property
    def trend_reversal(self) -> pd.DataFrame | None:
        """Capability laws: P(the fitted runs' performance falls with compute); docs/trend-reversal.md."""
        return check_trend_reversal(self)
