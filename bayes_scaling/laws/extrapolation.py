"""The extrapolation error: how far a real ladder's log loss may wander from the fitted law.

A scaling law is only approximately true, and its error grows with the distance beyond the
data. The loss law (with ``extrapolation_error="auto"``) adds a slowly varying, zero-mean
deviation ``g(x)`` of the log loss from the law, ``x`` the log compute: an integrated Wiener process (the deviation's
slope, the local exponent's error, does a random walk with scale ``extrapolation_scale`` per
e-fold of compute), started at rest at the reference compute ``C_ref`` (the geometric mean of
the fitted compute) and run outwards on each side. For ``u, v`` on the same side of ``C_ref``
(``u = log(C / C_ref)``) its covariance is

    k(u, v) = s² · (min(|u|, |v|)² · max(|u|, |v|) / 2 − min(|u|, |v|)³ / 6)

and 0 across sides, so its standard deviation grows like ``s · |u|^1.5 / √3``. Inside the ladder the runs pin ``g``
down; beyond it, ``g``'s conditional spread grows with the distance: the interval widens where
the law has not been checked. Where the runs bend, ``g``'s posterior follows the bend and ``s``'s
posterior grows, so the interval widens by itself.

Marginalised out, it makes the log losses one multivariate normal (covariance ``C = σ² I + s² K``),
so the sampler sees only the scale ``s`` (no funnel of a sampled path). ``C`` has ``K``'s
eigenvectors ``V`` for every ``σ`` and ``s`` (``K = V Λ Vᵀ``, so ``C = V (σ² + s² Λ) Vᵀ``): the
rotated log losses ``Vᵀ log loss`` are independent normals with variances ``σ² + s² λᵢ``, and one
eigendecomposition of the data, before sampling, takes every Cholesky factorisation out of the
log density (O(n²) per gradient instead of O(n³); benchmarks/extrapolation_likelihood.py). After
sampling, with the same ``V``:

- ``conditional_deviation`` draws ``g`` at new compute given each posterior draw (the standard
  Gaussian-process conditional, from the stored ``C⁻¹ r`` of that draw);
- ``loo_log_likelihood`` gives each run's leave-one-out predictive log-density per draw, the
  closed form for non-factorised normal models (Bürkner, Gabry & Vehtari 2021): with
  ``P = C⁻¹`` and ``w = P r``, ``log p(y_i | y_-i) = −½ log 2π + ½ log P_ii − ½ w_i² / P_ii``,
  so PSIS-LOO (``bs.compare``, ``bs.stack``) works as for independent runs.

The scale's prior comes from the public ladders (docs/loss-law.md, "Extrapolation error").
"""

from __future__ import annotations

import argparse

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_scaling.laws.law import CliOption, DefaultPrior

SCALE = "extrapolation_scale"  # the sampled scale s
WEIGHTS = "extrapolation_weights"  # per draw: C⁻¹ (log loss − law), one per fitted run
# Prior HalfNormal(DEFAULT_SCALE_PRIOR) on s, in log loss per e-fold^1.5 of compute. Chosen
# leave-one-dataset-out on the public ladders (benchmarks/calibration.py; docs/loss-law.md).
DEFAULT_SCALE_PRIOR = 0.003
# What the laws that carry it (loss, chinchilla) say of its prior, for the report and the docs; the
# option builds the prior itself (scale_prior), so there is no Prior here.
DEFAULT_PRIOR = DefaultPrior(
    None,
    f'Prior("HalfNormal", sigma={DEFAULT_SCALE_PRIOR}) (with extrapolation_error="auto")',
    "How fast the law's error grows beyond the data: the local exponent's error does a random walk "
    "of this scale per e-fold of compute, so the log loss's deviation has sd s·u^1.5/√3 at u e-folds "
    "from C_ref. Chosen leave-one-dataset-out on the public ladders (docs/loss-law.md).",
)
JOINT_TARGETS_MAX = 32  # up to this many targets the deviation is drawn jointly, beyond per target


def scale_prior(option) -> float:
    """The HalfNormal scale of ``s`` an ``extrapolation_error`` option asks for; 0 means off.

    ``"auto"`` or ``True``: the measured default scale; ``False``, ``None`` or ``0``: the plain law
    (intervals from parameter uncertainty and run noise only); a positive number: that prior scale.
    """
    if option is None or option is False:
        return 0.0
    if option is True or (isinstance(option, str) and option == "auto"):
        return DEFAULT_SCALE_PRIOR
    if isinstance(option, (int, float, np.integer, np.floating)) and np.isfinite(option) and option >= 0:
        return float(option)
    raise ValueError(
        f"extrapolation_error must be 'auto', True, False or a non-negative prior scale (log loss per "
        f"e-fold^1.5 of compute; default {DEFAULT_SCALE_PRIOR}), got {option!r}"
    )


def parse_option(text: str):
    """The command line's ``--extrapolation-error``: 'auto', or a prior scale >= 0 (0: the plain law)."""
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a prior scale >= 0, got {text!r}")
    return value


CLI_OPTION = CliOption(
    "extrapolation_error",
    "add the law's extrapolation error, 'auto' (the measured prior scale) or a prior scale (docs/loss-law.md)",
    type=parse_option,
    metavar="auto|SCALE",
)


def kernel(u, v, xp=np):
    """Covariance (scale 1) of the deviation at log-compute offsets ``u`` and ``v`` from ``C_ref``:
    an integrated Wiener process run outwards from rest at ``C_ref`` on each side, the two sides
    independent. At ``C_ref`` the deviation and its slope are nil, so ``loss_ref`` and
    ``local_exponent`` keep their meaning (the level and slope there) and do not trade off with it."""
    a, b = xp.abs(u), xp.abs(v)
    lo, hi = xp.minimum(a, b), xp.maximum(a, b)
    return xp.where(u * v > 0, lo**2 * hi / 2 - lo**3 / 6, 0.0)


def fitted_offsets(constant, options: dict) -> np.ndarray:
    """The fitted runs' ``x = log(C / C_ref)``, read back from a forecast's constant data."""
    return np.log(np.asarray(constant["compute"], dtype=float) / options["compute_ref"])


def asked_for(options: dict) -> bool:
    """Whether a law's options carry the deviation (a prior scale above 0; see ``scale_prior``)."""
    return options.get("extrapolation_scale_prior", 0.0) > 0


def deviation_at(posterior, constant, options: dict, target_x, rng: np.random.Generator) -> np.ndarray:
    """``conditional_deviation`` at ``target_x`` given a forecast's fitted runs (its constant data)."""
    return conditional_deviation(posterior, fitted_offsets(constant, options), target_x, rng)


def loo_terms(name: str, posterior, constant, options: dict) -> dict | None:
    """A law's ``loo_log_likelihood`` hook: {``name``: the closed-form terms} where the posterior
    has the deviation (its runs are then one multivariate normal), else None (the sampler's own)."""
    if SCALE not in posterior:
        return None
    return {name: loo_log_likelihood(posterior, fitted_offsets(constant, options))}


def spectrum(offsets) -> tuple[np.ndarray, np.ndarray]:
    """``K``'s eigenvalues (rounding below 0 clipped) and eigenvectors at the fitted runs' offsets:
    ``C = σ² I + s² K`` shares the eigenvectors whatever ``σ`` and ``s`` are."""
    u = np.asarray(offsets, dtype=float)
    values, vectors = np.linalg.eigh(kernel(u[:, None], u[None, :]))
    return np.clip(values, 0.0, None), vectors


def observe(log_compute_ratio, log_mean, sigma, log_loss, scale_prior_sd, name: str) -> None:
    """The likelihood of the fitted log losses with the deviation marginalised, in the current model.

    Adds ``extrapolation_scale`` (``s``), the observed ``name`` (the log losses rotated onto ``K``'s
    eigenvectors: independent normals, whose joint density is the multivariate normal's) and the
    deterministic ``extrapolation_weights`` (``C⁻¹ r``) that the conditional and LOO read.
    ``log_compute_ratio`` and ``log_loss`` are the model's data nodes.
    """
    values, vectors = spectrum(log_compute_ratio.get_value())
    basis = pm.Data("extrapolation_basis", vectors)
    eigenvalues = pm.Data("extrapolation_spectrum", values)
    rotated = pm.Data("log_loss_rotated", vectors.T @ np.asarray(log_loss.get_value()))
    # s = s0·|z|, z ~ Normal(0, 1): the HalfNormal(s0) prior, sampled without the log transform,
    # whose long left tail in log s (where a near-exact ladder puts s) left ESS tail at ~200
    z = pm.Normal(SCALE + "_z", 0.0, 1.0)
    s = pm.Deterministic(SCALE, scale_prior_sd * pt.abs(z))
    variances = sigma**2 + s**2 * eigenvalues
    rotated_mean = pt.dot(basis.T, log_mean)
    pm.Normal(name, mu=rotated_mean, sigma=pt.sqrt(variances), observed=rotated)
    pm.Deterministic(WEIGHTS, pt.dot(basis, (rotated - rotated_mean) / variances))


def _per_draw(posterior, fitted_x):
    """(posterior shape, s², weights C⁻¹r, K's eigenvectors V, and each draw's eigenvalues of C,
    σ² + s² λ), flat over draws."""
    s = np.asarray(posterior[SCALE])
    s2 = s.reshape(-1) ** 2
    sigma2 = np.asarray(posterior["sigma"]).reshape(-1) ** 2
    weights = np.asarray(posterior[WEIGHTS]).reshape(s.size, -1)
    values, vectors = spectrum(fitted_x)
    return s.shape, s2, weights, vectors, sigma2[:, None] + s2[:, None] * values[None, :]


def conditional_deviation(posterior, fitted_x, target_x, rng: np.random.Generator) -> np.ndarray:
    """Draws of ``g`` at ``target_x`` (shape (chain, draw, targets)), one per posterior draw."""
    shape, s2, weights, vectors, eigenvalues = _per_draw(posterior, fitted_x)
    u = np.asarray(fitted_x, dtype=float)
    ut = np.asarray(target_x, dtype=float)
    cross = kernel(ut[:, None], u[None, :])  # (targets, n)
    mean = s2[:, None] * (weights @ cross.T)
    rotated = cross @ vectors  # then K_td C⁻¹ K_dt = Σ_i rotated_ti · rotated_ui / eigenvalue_i
    if len(ut) <= JOINT_TARGETS_MAX:
        scaled = rotated[None] / np.sqrt(eigenvalues)[:, None, :]  # (draws, targets, n)
        reduction = s2[:, None, None] ** 2 * (scaled @ np.swapaxes(scaled, 1, 2))
        tt = s2[:, None, None] * kernel(ut[:, None], ut[None, :])[None] - reduction
        tt = 0.5 * (tt + np.swapaxes(tt, 1, 2))
        values, vectors = np.linalg.eigh(tt)  # semi-definite (zero at C_ref): no Cholesky
        root = vectors * np.sqrt(np.clip(values, 0.0, None))[:, None, :]
        draws = mean + (root @ rng.standard_normal((len(s2), len(ut), 1)))[..., 0]
    else:  # a plotting grid: each target's marginal is all a fan chart reads
        reduction = s2[:, None] ** 2 * ((1 / eigenvalues) @ (rotated**2).T)
        var = s2[:, None] * (np.abs(ut) ** 3 / 3)[None] - reduction
        draws = mean + np.sqrt(np.clip(var, 0.0, None)) * rng.standard_normal(mean.shape)
    return draws.reshape(shape + (len(ut),))


def loo_log_likelihood(posterior, fitted_x) -> np.ndarray:
    """Each fitted run's leave-one-out log predictive density per draw, (chain, draw, run)."""
    shape, _, weights, vectors, eigenvalues = _per_draw(posterior, fitted_x)
    precision_diag = (1 / eigenvalues) @ (vectors**2).T  # the diagonal of C⁻¹ = V diag(1 / eigenvalue) Vᵀ
    values = -0.5 * np.log(2 * np.pi) + 0.5 * np.log(precision_diag) - 0.5 * weights**2 / precision_diag
    return values.reshape(shape + (len(fitted_x),))
