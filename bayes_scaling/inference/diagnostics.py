"""Whether the sampler can be trusted: r_hat, effective sample sizes and divergences, and ``SamplerWarning``.

Its own module because what counts as healthy (the thresholds, the advice for each failure, the
warning users filter on) is read by more than the sampler: ``Forecast.diagnostics``, ``bs.compare``,
``bs.stack`` and the verdict. This is the one module that reads ArviZ's diagnostics.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from bayes_scaling.quiet import quietly

with quietly():  # the first import of ArviZ when diagnostics is imported first
    import arviz as az

R_HAT_MAX = 1.01
ESS_MIN = 400


@dataclass(frozen=True)
class Diagnostics:
    """Sampler health: worst r_hat and ESS over the parameters, and divergences."""

    r_hat: float
    ess_bulk: float
    ess_tail: float
    divergences: int
    draws: int
    chains: int

    @property
    def ok(self) -> bool:
        return (
            self.divergences == 0
            and self.r_hat <= R_HAT_MAX
            and self.ess_bulk >= ESS_MIN
            and self.ess_tail >= ESS_MIN
        )

    def problems(self) -> list[str]:
        """What failed, each with what to do about it."""
        out = []
        if self.divergences:
            out.append(
                f"{self.divergences} divergent transitions: the posterior has regions NUTS cannot "
                "explore, so intervals may be too narrow; raise target_accept, or give tighter "
                "priors on the parameters the data cannot pin down"
            )
        if self.r_hat > R_HAT_MAX:
            out.append(f"r_hat {self.r_hat:.3f} > {R_HAT_MAX}: chains disagree; run more tune and draws")
        if min(self.ess_bulk, self.ess_tail) < ESS_MIN:
            out.append(
                f"effective sample size {min(self.ess_bulk, self.ess_tail):.0f} < {ESS_MIN}: "
                "intervals are noisy; run more draws"
            )
        return out

    def as_dict(self) -> dict:
        return {
            "r_hat": self.r_hat,
            "ess_bulk": self.ess_bulk,
            "ess_tail": self.ess_tail,
            "divergences": self.divergences,
            "ok": self.ok,
        }

    def __getitem__(self, key):
        return self.as_dict()[key]


class SamplerWarning(UserWarning):
    """Diagnostics failed: the forecast may not be trustworthy.

    Issued by ``bs.forecast`` after sampling when r_hat exceeds 1.01, an effective sample
    size (bulk or tail) is below 400, or there are divergent transitions; the message says
    what failed and what to do about it (more draws and tune, a higher ``target_accept``,
    tighter priors). ``bs.compare`` and ``bs.stack`` issue it too when a member's
    diagnostics failed. ``fc.ok`` and ``fc.diagnostics`` say the same afterwards, and
    ``bs.register`` refuses such a forecast unless told ``allow_unhealthy=True``.

    Examples
    --------
    >>> import warnings
    >>> warnings.simplefilter("error", bs.SamplerWarning)  # make a failed fit an error
    """


def diagnose(idata: az.InferenceData, var_names: list[str]) -> Diagnostics:
    """Worst-case r_hat, ESS and the number of divergences after tuning."""
    # unrounded: ArviZ rounds to 2 decimals by default, which let an r_hat of 1.014 pass as 1.01
    summary = az.summary(idata, var_names=var_names, kind="diagnostics", round_to="none")
    posterior = idata.posterior
    return Diagnostics(
        r_hat=float(summary["r_hat"].max()),
        ess_bulk=float(summary["ess_bulk"].min()),
        ess_tail=float(summary["ess_tail"].min()),
        divergences=int(idata.sample_stats["diverging"].sum()),
        draws=int(posterior.sizes["draw"]),
        chains=int(posterior.sizes["chain"]),
    )


def warn_if_unhealthy(diagnostics: Diagnostics) -> None:
    if not diagnostics.ok:
        warnings.warn(
            "sampler diagnostics failed — " + "; ".join(diagnostics.problems()),
            SamplerWarning,
            stacklevel=3,
        )
