"""Does the ladder bend away from the law? Read from the extrapolation error's posterior.

The loss law's extrapolation error (laws/extrapolation.py) is a deviation ``g`` of the log loss
from the law, nil (with its slope) at ``C_ref``, the middle of the ladder. The bend is
``g(smallest run) + g(largest run)``: level and slope at ``C_ref`` cancel from it, so it is the
curvature the law's own ``a, b, c`` could not follow. Where the runs follow one power law plus a
constant it stays around zero; where they bend (the law only ever flattens on a log-log plot, so a
ladder that steepens, or flattens faster than the law can), it moves off zero, and the scale's
posterior grows, which widens the interval by itself. This module says so in one sentence: a
warning at fit time and a caveat in the report, so a reader knows the forecast leans on a law the
ladder itself questions.
"""

from __future__ import annotations

import warnings

import numpy as np

from bayes_scaling.intervals import central_interval
from bayes_scaling.laws import extrapolation

BEND_PROB = 0.95  # posterior probability of a bend of one sign that counts as "the runs bend"


class CurvatureWarning(UserWarning):
    """The fitted runs bend away from the law: the forecast leans on a law its own data question.

    Issued by ``bs.forecast`` for a fit with the law's extrapolation error
    (``extrapolation_error="auto"``) when the bend, the extrapolation error's deviation at
    the smallest plus at the largest fitted run, has one sign with posterior probability
    at least 0.95: the loss flattens faster than one power law plus a constant, or steepens
    where the law would flatten. The forecast follows the bend and its interval widens with
    it, but a ladder that bends inside its range may bend differently beyond it.
    ``fc.curvature`` has the numbers (docs/loss-law.md, "Extrapolation error").
    """


def check(fc) -> dict | None:
    """The bend, ``g`` at the smallest plus at the largest fitted run, in % of the loss: median,
    90% interval and P(> 0). None for a forecast without the extrapolation error."""
    posterior = fc.idata.posterior
    if extrapolation.SCALE not in posterior:
        return None
    fitted_x = extrapolation.fitted_offsets(fc.idata.constant_data, fc.settings["options"])
    rng = np.random.default_rng([fc.settings["seed"], 4])
    ends = np.array([fitted_x.min(), fitted_x.max()])
    deviation = extrapolation.conditional_deviation(posterior, fitted_x, ends, rng)  # drawn jointly
    percent = 100 * np.expm1(deviation.sum(axis=-1).reshape(-1))
    lower, upper = central_interval(percent, 0.9)
    median = np.quantile(percent, 0.5)
    return {"median_pct": float(median), "lower_90_pct": float(lower), "upper_90_pct": float(upper),
            "prob_above": float((percent > 0).mean())}


def describe(summary: dict | None) -> str | None:
    """One sentence, ending with where the docs explain it, when the runs bend (one sign with
    probability >= BEND_PROB), else None."""
    if summary is None:
        return None
    p = summary["prob_above"]
    if BEND_PROB > p > 1 - BEND_PROB:
        return None
    way, prob = ("flattens faster", p) if p >= BEND_PROB else ("steepens where the law would flatten", 1 - p)
    return (
        f"The fitted runs bend away from one power law plus a constant: the loss {way} (both ends of the ladder "
        f"sit {'above' if p >= BEND_PROB else 'below'} the law fitted through its middle, together by "
        f"{summary['median_pct']:+.2f}%, 90% {summary['lower_90_pct']:+.2f}% to {summary['upper_90_pct']:+.2f}%, "
        f"P = {prob:.0%}); the forecast follows the bend and its interval widens with it, but a ladder that "
        "bends inside its range may bend differently beyond it (docs/loss-law.md, 'Extrapolation error')"
    )


def warn_if_bending(fc, stacklevel: int = 3) -> None:
    sentence = describe(check(fc))
    if sentence:
        warnings.warn(sentence, CurvatureWarning, stacklevel=stacklevel)
