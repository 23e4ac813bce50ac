"""The verdict on a forecast: ``ready``, ``caution`` or ``do-not-rely``, with its reasons in words.

A sampler that converged says the posterior was computed correctly, not that the law is
right where the target is. So the verdict weighs six checks, each giving a level and a
sentence; the verdict is the worst level among them:

- **sampler**: diagnostics failed (divergences, r_hat, ESS) → do-not-rely.
- **extrapolation**: the distance of the largest target beyond the largest fitted run,
  against the distances at which this law's calibration was measured on public ladders
  (``bayes_scaling.checks.track_record``). Inside the measured range, with at least
  ``MIN_FORECASTS`` measured forecasts at about this distance and a 90% coverage there that
  is not significantly below 90% (binomial, one-sided p ≥ ``CALIBRATION_P``) → ready;
  inside it with fewer forecasts or lower coverage, or beyond it → caution;
  more than ``FAR_BEYOND`` × the largest measured distance → do-not-rely. A law not yet
  measured is caution, and do-not-rely past ``UNMEASURED_FAR`` (10^4×, beyond GPT-4's
  published extrapolation).
- **self-backtest**: the law refitted on the user's own ladder without its largest run or
  two (the forecast's draws, at most ``SELF_BACKTEST_DRAWS``, and its tuning steps, at most
  the law's default or ``SELF_BACKTEST_DRAWS`` whichever is more, and the same health
  checks; a default forecast's refit reuses the sampler compiled for that shape): were those runs inside the refit's 90% intervals? A miss, or a refit that failed its diagnostics →
  caution; not possible (too few computes, per-problem counts) → caution.
- **runs**: fewer than ``FEW_RUNS`` runs → caution.
- **residual curvature** (``bayes_scaling.checks.fit_check``): the residuals bend with compute → caution.
- **trend reversal** (capability laws, ``bayes_scaling.checks.trend_reversal``): the fitted runs
  fall with compute → caution.

The CLI prints the verdict line; reports open with it. Exit statuses do not depend on it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes_scaling.checks import fit_check
from bayes_scaling.laws import get_law
from bayes_scaling.formatting import format_ratio
from bayes_scaling.scoring import score_draws
from bayes_scaling.checks.track_record import track_record
from bayes_scaling.checks.trend_reversal import REVERSAL_PROB, describe, headline

LEVELS = ("ready", "caution", "do-not-rely")
MIN_FORECASTS = 5  # measured forecasts at about this distance needed for a ready
CALIBRATION_P = 0.05  # P(as few covered | calibrated 90% intervals) below this: the intervals were too narrow
FAR_BEYOND = 100.0  # past this many times the largest measured distance: do-not-rely
UNMEASURED_FAR = 1e4  # a law with no track record: do-not-rely past this distance
FEW_RUNS = 5
# per chain, and as many tuning steps, at most; 500 of each left the loss law's ESS under 400 in 2 of 8 refits
SELF_BACKTEST_DRAWS = 1000
TWO_HELD_OUT_FROM = 6  # distinct computes from which the two largest are held out (else one; 4 at least)


@dataclass(frozen=True)
class Finding:
    """One check: its name, its level (one of LEVELS) and what it found, in words."""

    check: str
    level: str
    text: str


@dataclass(frozen=True)
class Verdict:
    """The worst level of the findings, the findings, and the self-backtest's per-run table."""

    level: str
    findings: tuple[Finding, ...]
    self_backtest: pd.DataFrame | None = field(default=None, compare=False)
    track_record: object = field(default=None, compare=False)  # the TrackRecord at the largest target

    @property
    def reasons(self) -> list[str]:
        """The findings that set the level (those at it), in words."""
        return [f.text for f in self.findings if f.level == self.level]

    def line(self) -> str:
        """One line for a terminal: ``verdict: caution — reason; reason``."""
        return f"verdict: {self.level} — " + " ".join(self.reasons)

    def __str__(self) -> str:
        return self.line()


def assess(fc, self_backtest: bool = True, progress: bool = False, refit_with=None) -> Verdict:
    """The verdict on ``fc`` (see the module docstring); ``self_backtest=False`` skips the refit and says so.

    ``refit_with`` is ``bs.forecast`` (``Forecast.verdict`` hands it over, so this module, which the
    forecast imports, imports no forecast); needed only with ``self_backtest``.
    """
    ratio = float(np.max(fc.targets) / fc.runs["compute"].max())
    record = track_record(fc.law, fc.settings.get("law_options"), ratio)
    if self_backtest and refit_with is None:
        raise TypeError("assess(self_backtest=True) needs refit_with=bs.forecast to refit the law")
    findings = [_sampler(fc), _extrapolation(fc, ratio, record)]
    table = None
    if self_backtest:
        finding, table = _self_backtest(fc, progress, refit_with)
        findings.append(finding)
    else:
        findings.append(Finding("self-backtest", "caution", "The self-backtest was not run (asked to skip it), so nothing "
                                "checked this ladder's own largest runs against a refit."))
    findings += [_runs(fc), _curvature(fc)]
    findings += _trend_reversal(fc)
    level = LEVELS[max(LEVELS.index(f.level) for f in findings)]
    return Verdict(level, tuple(findings), table, record)


def _sampler(fc) -> Finding:
    d = fc.diagnostics
    if d.ok:
        return Finding("sampler", "ready", f"Sampler: {d.chains} chains agree (largest r_hat {d.r_hat:.3f}), at least "
                       f"{min(d.ess_bulk, d.ess_tail):,.0f} effective draws, no divergent transitions.")
    return Finding("sampler", "do-not-rely", "Sampler diagnostics failed: " + "; ".join(d.problems()) + ".")


def _extrapolation(fc, ratio: float, record) -> Finding:
    distance = f"The largest target is {format_ratio(ratio)} the compute of the largest fitted run"
    if record.measured_range is None:
        level = "do-not-rely" if ratio > UNMEASURED_FAR else "caution"
        far = (f"; that is past {format_ratio(UNMEASURED_FAR)}, beyond GPT-4's published 1,000–10,000×, with nothing measured"
               if level == "do-not-rely" else "")
        return Finding("extrapolation", level, f"{distance}{far}. {record.describe()}")
    lo, hi = record.measured_range
    measured = f"calibration was measured at {format_ratio(lo)}–{format_ratio(hi)}"
    if ratio > FAR_BEYOND * hi:
        return Finding("extrapolation", "do-not-rely", f"{distance}: more than {FAR_BEYOND:.0f}× past {format_ratio(hi)}, "
                       "the farthest distance at which this law's calibration was measured. Nothing says the law still "
                       "holds there, and its intervals do not include that risk.")
    if ratio > hi:
        return Finding("extrapolation", "caution", f"{distance}, beyond the {format_ratio(lo)}–{format_ratio(hi)} at "
                       "which this law's calibration was measured on public ladders: nothing measured says how its "
                       "intervals hold this far out.")
    rows = record.bayes
    if len(rows) < MIN_FORECASTS:
        return Finding("extrapolation", "caution", f"{distance}. " + record.describe()
                       + f" Fewer than {MIN_FORECASTS} measured forecasts at this distance say little.")
    if too_narrow(int(rows["covered_90"].sum()), len(rows)):
        return Finding("extrapolation", "caution", f"{distance}. " + record.describe()
                       + " That is significantly below 90%: at this distance the law's intervals have been too narrow before.")
    where = (f"nearer than the nearest distance at which this law's calibration was measured ({format_ratio(lo)})"
             if ratio < lo else f"inside the range where this law's {measured}")
    calibrated = (f" With {len(rows)} forecasts that is not significantly below 90% (one-sided binomial p ≥ {CALIBRATION_P:g})."
                  if record.coverage_90 < 0.9 else "")
    return Finding("extrapolation", "ready", f"{distance}, {where}. " + record.describe() + calibrated)


def too_narrow(covered: int, forecasts: int, level: float = 0.9) -> bool:
    """Whether ``covered`` of ``forecasts`` is significantly fewer than calibrated ``level`` intervals would hold
    (binomial, one-sided, p < CALIBRATION_P)."""
    p = sum(math.comb(forecasts, k) * level**k * (1 - level) ** (forecasts - k) for k in range(covered + 1))
    return p < CALIBRATION_P


def _self_backtest(fc, progress: bool, refit_with) -> tuple[Finding, pd.DataFrame | None]:
    law = get_law(fc.law)
    if not fit_check.applies(fc):
        return Finding("self-backtest", "caution", f"No self-backtest: the {fc.law} law is fitted to {law.observed!r} "
                       "counts, not to the quantity it forecasts, so a held-out run cannot be scored against it."), None
    settings = fc.settings
    if "law_options" not in settings or settings.get("prior_overrides") is None:
        return Finding("self-backtest", "caution", "No self-backtest: this forecast does not record its law options and "
                       "priors in a form that can be refitted (saved by an older version, or a prior with no dict form)."), None
    runs = fc.runs
    compute = runs["compute"].to_numpy(dtype=float)
    distinct = np.unique(compute)
    if distinct.size < 4:
        return Finding("self-backtest", "caution", f"No self-backtest: the runs sit at {distinct.size} distinct computes; "
                       "refitting without the largest needs at least 4."), None
    held_count = 2 if distinct.size >= TWO_HELD_OUT_FROM else 1
    held = compute >= distinct[-held_count]
    refit, unhealthy = _refit(fc, runs[~held].reset_index(drop=True), runs[held].reset_index(drop=True), progress, refit_with)

    actual = runs.loc[held, law.observed].to_numpy(dtype=float)
    scores = score_draws(refit.draws("predictive"), actual)
    table = pd.concat(
        [runs.loc[held, [c for c in ("run", "compute") if c in runs]].reset_index(drop=True),
         pd.DataFrame({"actual": actual}), scores[["median", "lower_90", "upper_90", "covered_90", "abs_pct_error", "pit"]]],
        axis=1,
    )
    count = int(held.sum())
    which = ("largest run" if count == 1 else f"{count} largest runs" if count == held_count
             else f"{count} runs at the {held_count} largest computes")
    reach = float(compute[held].max() / compute[~held].max())
    missed = int((~table["covered_90"]).sum())
    what = (f"Self-backtest: refitted without the {which} ({format_ratio(reach)} beyond the rest), ")
    if unhealthy:
        return Finding("self-backtest", "caution", what + "but the refit's sampler diagnostics failed ("
                       + "; ".join(refit.diagnostics.problems()) + "), so it says little."), table
    errors = ", ".join(f"{e:.2f}%" for e in table["abs_pct_error"])
    if missed:
        sides = sorted({"below" if p < 0.5 else "above" for p in table.loc[~table["covered_90"], "pit"]})
        where = " and ".join(sides) if len(sides) > 1 else f"{'all ' if missed > 2 else 'both ' if missed == 2 else ''}{sides[0]} it"
        return Finding("self-backtest", "caution", what + f"{missed} of {len(table)} fell outside the refit's 90% interval "
                       f"({where}; errors {errors}): the ladder's own largest runs break from the trend "
                       "of the smaller ones."), table
    return Finding("self-backtest", "ready", what + f"{'it' if len(table) == 1 else 'all'} fell inside the refit's 90% "
                   f"interval (errors {errors})."), table


def _refit(fc, fit: pd.DataFrame, held: pd.DataFrame, progress: bool, forecast):
    """The same law, options, priors, chains and seed on ``fit``, forecast at ``held``; and whether it failed its diagnostics."""
    from pymc_extras.prior import Prior

    from bayes_scaling.tables import ExtrapolationWarning
    from bayes_scaling.inference.diagnostics import SamplerWarning

    law = get_law(fc.law)
    settings = fc.settings
    targets = law.targets_of(held)
    priors = {name: Prior.from_dict(spec) for name, spec in settings["prior_overrides"].items()} or None
    with warnings.catch_warnings(record=True) as caught:
        # the refit's own warnings are this check's findings, not the user's: its health is reported below
        warnings.simplefilter("always")
        refit = forecast(
            fit, target=targets, law=fc.law, prior=priors, draws=min(settings["draws"], SELF_BACKTEST_DRAWS),
            tune=min(settings["tune"], max(law.tune, SELF_BACKTEST_DRAWS)),  # the law's adaptation (2,000 for loss)
            chains=settings["chains"], seed=settings["seed"], progress=progress, target_accept=settings["target_accept"],
            **settings["law_options"],
        )
    unhealthy = any(issubclass(w.category, SamplerWarning) for w in caught) or not refit.ok
    for w in caught:  # anything else is not ours to swallow
        if not issubclass(w.category, (SamplerWarning, ExtrapolationWarning)) and not _is_trend_reversal(w):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return refit, unhealthy


def _is_trend_reversal(w) -> bool:
    from bayes_scaling.checks.trend_reversal import TrendReversalWarning

    return issubclass(w.category, TrendReversalWarning)


def _runs(fc) -> Finding:
    runs = fc.runs
    if "run" in runs:
        n, what = runs["run"].nunique(), "runs"
    elif fc.bucket_labels is not None:  # pass counts: many rows per run
        n, what = runs["compute"].nunique(), "runs (distinct computes)"
    else:
        n, what = len(runs), "runs"
    if n < FEW_RUNS:
        return Finding("runs", "caution", f"Only {n} {what}: with fewer than {FEW_RUNS} the exponent and the irreducible "
                       "term rest mostly on the priors.")
    return Finding("runs", "ready", f"{n} {what} fitted.")


def _curvature(fc) -> Finding:
    bend = fit_check.curvature(fit_check.posterior_predictive(fc))
    if bend is None:
        return Finding("residual curvature", "ready", "Residual curvature: not tested (needs the fitted quantity and at "
                       f"least {fit_check.MIN_COMPUTES} distinct computes).")
    if bend["bends"]:
        direction = "upward (the ends lie above the fitted curve)" if bend["coefficient"] > 0 else "downward (the ends lie below the fitted curve)"
        return Finding("residual curvature", "caution", f"The residuals bend {direction} with compute (t = {bend['t']:+.1f}): "
                       "the runs curve away from the law's shape, which grows with distance beyond the ladder.")
    return Finding("residual curvature", "ready", f"Residuals show no curvature with compute (t = {bend['t']:+.1f}, "
                   f"flagged from |t| ≥ {fit_check.CURVATURE_T}).")


def _trend_reversal(fc) -> list[Finding]:
    frame = fc.trend_reversal
    if frame is None:
        return []
    rows = headline(frame)
    falling = rows[rows["prob_falls"] >= REVERSAL_PROB]
    if len(falling):
        return [Finding("trend reversal", "caution", "Trend reversal: " + "; ".join(describe(row) for _, row in falling.iterrows())
                        + ". A law that rises with compute cannot follow that.")]
    return [Finding("trend reversal", "ready", f"No sign that the fitted runs fall with compute (largest probability "
                    f"{rows['prob_falls'].max():.0%}).")]
