"""The loss law's curve sampled as deviations from the data's own fit, in units that shrink with the noise.

Why: with few runs the posterior is a funnel. As the run noise ``sigma`` shrinks, the curve's
parameters must thread the points ever more tightly, so the region NUTS must explore narrows
with ``sigma``: one step size cannot fit both ends, and four-run ladders diverged there (Porian
et al.'s ``tuned/short/const`` at C_max/256: 3 divergent transitions, all at ``sigma`` < 0.2%).

The fix changes coordinates, not the model. The curve's unconstrained parameters
``u = (log loss_ref, logit reducible_fraction, log local_exponent)`` are written as

    u = m(sigma) + R(sigma)^-T z,    A(sigma) = JᵀJ / sigma² + P = R Rᵀ,

where ``J`` is the Jacobian of the log mean loss at the data's own (lightly penalised) fit
``u_hat``, ``P`` the precision of a Gaussian stand-in for the default priors and ``m(sigma)`` the
Gauss-Newton posterior mean at that noise. ``z`` is sampled with a flat density; the exact prior
of each parameter, the Jacobians of the exp/logit maps and ``log|det R^-T|`` are added as a
potential, so the posterior is exactly the same as before. Only its shape changes: near the data's
fit, at any ``sigma``, ``z`` is close to a standard normal, and the funnel is gone.
``J``, ``u_hat`` and the stand-in prior are numbers of the data, kept in data nodes, so one
compiled sampler serves every ladder of the same size.

Where the data pin fewer than two of the curve's three directions (``pins_the_curve``), the
plain coordinates are kept: the posterior is then about as wide as the prior in most
directions, the Gauss-Newton map is wrong in its tails, and the funnel it removes is shallow.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc_extras.prior import Prior
from scipy import optimize, special

from bayes_scaling.laws import exponent_prior

CURVE = ("loss_ref", "reducible_fraction", "local_exponent")
WHITENED = "curve_whitened"  # the sampled coordinates z; not a parameter a user reads
# The Gaussian stand-in (in u) for the default priors of loss.py: LogNormal(log median loss, 0.5),
# Beta(2, 2) (its logit has sd sqrt(2·trigamma(2)) = 1.14) and LogNormal(log 0.07, 1.0).
STAND_IN_SD = np.array([0.5, np.sqrt(2 * special.polygamma(1, 2.0)), 1.0])
STAND_IN_LOCAL_EXPONENT = np.log(0.07)
FIT_NOISE = 0.01  # the noise the data's own fit weighs residuals with: the default prior's median
# How much tighter than the stand-in prior (in variance) the data must pin a direction of the
# curve, at their own residual noise, for it to count as pinned. Measured: every ladder of
# benchmarks/sampler_health.py pins its second direction >= 684 times tighter, and is sampled 2-3x
# more efficiently whitened (ESS); the CPU ladder's 5 and 4 smallest rungs (residuals 2.7-2.9%)
# only 70 and 23 times; whitened, its 4 rungs diverged at 6 of 30 seeds in the tail of small
# local exponents (plain: at none, and its 5 rungs at none either). 200 lies between, a factor
# ~3 from each side.
PINNED = 200.0
NOISE_FLOOR = 1e-4  # a ladder the curve fits exactly (three runs) has the deepest funnel: whiten it


def applies(priors: dict[str, Prior]) -> bool:
    """Whether the user's priors on the curve leave this parameterisation exact.

    A prior on ``b`` enters as the local exponent's density where it can
    (laws/exponent_prior.py), else it samples other coordinates (loss.py); a prior with its
    own transform or with priors inside it has no closed-form density at a given value.
    """
    if "b" in priors and not exponent_prior.movable(priors["b"]):
        return False
    for name in CURVE:
        prior = priors.get(name)
        if prior is not None and (prior.transform is not None or any(isinstance(v, Prior) for v in prior.parameters.values())):
            return False
    return True


def log_mean(u, x, xp=np):
    """Log mean loss at ``x = log(C / C_ref)`` for unconstrained ``u`` (last axis or a 3-vector)."""
    fraction = 1 / (1 + xp.exp(-u[1]))
    b = -xp.exp(u[2]) / fraction
    return u[0] + xp.log(fraction * xp.exp(b * x) + 1 - fraction)


def stand_in_mean(loss_scale: float) -> np.ndarray:
    return np.array([np.log(loss_scale), 0.0, STAND_IN_LOCAL_EXPONENT])


def data_fit(x: np.ndarray, log_loss: np.ndarray, loss_scale: float) -> dict[str, np.ndarray]:
    """The data's own fit ``u_hat`` (residuals at FIT_NOISE, pulled lightly towards the stand-in prior,
    so it is finite with three runs or a flat ladder) and what the whitening needs at it."""
    centre = stand_in_mean(loss_scale)

    def residuals(u):
        return np.concatenate([(log_loss - log_mean(u, x)) / FIT_NOISE, (u - centre) / STAND_IN_SD])

    u_hat = optimize.least_squares(residuals, centre, method="lm").x
    step = 1e-6
    jacobian = np.stack([(log_mean(u_hat + step * e, x) - log_mean(u_hat - step * e, x)) / (2 * step) for e in np.eye(3)], axis=1)
    return {
        "fit_centre": u_hat,
        "fit_information": jacobian.T @ jacobian,
        "fit_score": jacobian.T @ (log_loss - log_mean(u_hat, x)),
        "stand_in_mean": centre,
        "stand_in_precision": 1 / STAND_IN_SD**2,
    }


def fit_where_it_pays(priors: dict[str, Prior], x: np.ndarray, log_loss: np.ndarray,
                      loss_scale: float) -> dict[str, np.ndarray] | None:
    """``data_fit`` where the whitened coordinates are exact for ``priors`` (``applies``) and the data
    pin the curve (``pins_the_curve``); None where the plain coordinates are kept."""
    if not applies(priors):
        return None
    fit = data_fit(x, log_loss, loss_scale)
    return fit if pins_the_curve(fit, x, log_loss) else None


def pins_the_curve(fit: dict[str, np.ndarray], x: np.ndarray, log_loss: np.ndarray) -> bool:
    """Whether the data pin at least two of the curve's directions ``PINNED`` times tighter than the
    stand-in prior at their own residual noise: where the whitened coordinates pay (see the module
    docstring)."""
    residual = log_loss - log_mean(fit["fit_centre"], x)
    noise = max(float(np.sqrt(np.mean(residual**2))), NOISE_FLOOR)
    prior_scale = np.sqrt(fit["stand_in_precision"])
    relative = fit["fit_information"] / noise**2 / np.outer(prior_scale, prior_scale)
    return bool(np.linalg.eigvalsh(relative)[-2] >= PINNED)


def curve_variables(chosen: dict[str, Prior], sigma, fit: dict[str, np.ndarray]):
    """(loss_ref, reducible_fraction, local_exponent) as deterministics of the whitened ``z``.

    ``chosen``: the priors of the three parameters (defaults or the user's), whose exact
    log-densities enter the model; ``fit``: ``data_fit``'s arrays.
    """
    nodes = {name: pm.Data(name, value) for name, value in fit.items()}
    information, score = nodes["fit_information"], nodes["fit_score"]
    precision, centre = nodes["stand_in_precision"], nodes["stand_in_mean"]
    inverse_variance = 1 / sigma**2
    posterior_precision = information * inverse_variance + pt.diag(precision)
    root = cholesky3(posterior_precision)  # lower: A = R Rᵀ
    right = inverse_variance * (pt.dot(information, nodes["fit_centre"]) + score) + precision * centre
    z = pm.Flat(WHITENED, shape=3)
    u = back_substitute(root, forward_substitute(root, right) + z)  # mean A^-1·right, covariance A^-1
    loss_ref = pm.Deterministic("loss_ref", pt.exp(u[0]))
    fraction = pm.Deterministic("reducible_fraction", pt.sigmoid(u[1]))
    local_exponent = pm.Deterministic("local_exponent", pt.exp(u[2]))
    values = {"loss_ref": loss_ref, "reducible_fraction": fraction, "local_exponent": local_exponent}
    densities = {
        name: pm.logp(chosen[name].pymc_distribution.dist(**chosen[name].parameters), value) for name, value in values.items()
    }
    if "b" in chosen:  # the user's prior on b, in place of the local exponent's
        densities["local_exponent"] = exponent_prior.log_density(chosen["b"], local_exponent, fraction)
    prior_density = sum(densities.values())
    # the exp and logistic maps from u, and u from z (|det R^-T| = 1 / prod diag R)
    jacobian = u[0] + u[2] - pt.softplus(-u[1]) - pt.softplus(u[1]) - sum(pt.log(root[i][i]) for i in range(3))
    pm.Potential("curve_prior", prior_density + jacobian)
    return loss_ref, fraction, local_exponent


# A 3×3 Cholesky factor and its triangular solves written out: a LAPACK call per gradient
# evaluation cost more than the whole model does on the CPU.
def cholesky3(a):
    """Lower factor of a positive definite 3×3 ``a``, as rows of scalar graphs."""
    l00 = pt.sqrt(a[0, 0])
    l10, l20 = a[1, 0] / l00, a[2, 0] / l00
    l11 = pt.sqrt(a[1, 1] - l10**2)
    l21 = (a[2, 1] - l20 * l10) / l11
    l22 = pt.sqrt(a[2, 2] - l20**2 - l21**2)
    return [[l00], [l10, l11], [l20, l21, l22]]


def forward_substitute(lower, b):
    """``lower⁻¹ b``."""
    y0 = b[0] / lower[0][0]
    y1 = (b[1] - lower[1][0] * y0) / lower[1][1]
    y2 = (b[2] - lower[2][0] * y0 - lower[2][1] * y1) / lower[2][2]
    return pt.stack([y0, y1, y2])


def back_substitute(lower, y):
    """``lower⁻ᵀ y``."""
    x2 = y[2] / lower[2][2]
    x1 = (y[1] - lower[2][1] * x2) / lower[1][1]
    x0 = (y[0] - lower[1][0] * x1 - lower[2][0] * x2) / lower[0][0]
    return pt.stack([x0, x1, x2])
