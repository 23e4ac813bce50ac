"""Training cost models: how many FLOPs a run of ``N`` parameters on ``D`` tokens costs.

Every cost here is ``C = D·f(N)``: a number of FLOPs per training token that depends on the
model (its size, and through its shape the context length), times the tokens. Training cost is
linear in tokens for a fixed architecture, so this covers what the issue asked for (a cost per
token as a function of N, D and the context length) and keeps the budget line one-dimensional:
on ``C = D·f(N)`` the tokens are ``D = C/f(N)``. ``bs.compute_optimal(fc, budget, cost=...)``
searches that line per posterior draw.

- ``six_nd()``: ``f(N) = 6N``, the usual count (2N forward and 4N backward FLOPs per token).
- ``transformer_cost(context_length)``: Kaplan et al. (2020), eq. 2.2 and Table 1: a forward pass
  costs ``2N + 2·n_layer·n_ctx·d_attn`` FLOPs per token and training about 3× that, so
  ``f(N) = 6N + 6·n_layer·n_ctx·d_model`` (``d_attn = d_model``). ``n_layer`` and ``d_model``
  come from ``N ≈ 12·n_layer·d_model²`` (Kaplan's non-embedding count) at a fixed aspect ratio
  ``d_model/n_layer`` (default 128: GPT-3 175B, 13B and 6.7B, Brown et al. 2020, Table 2.1),
  or from a rule the user gives.
- ``fit_cost(runs)``: ``f(N) = c1·N + c2·N^p`` fitted to a table's logged compute per token
  (default ``p = 2/3``: the attention term of the count above at a fixed aspect ratio).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from bayes_scaling.tables import DataError
from bayes_scaling.tables.cells import numeric_columns

DEFAULT_ASPECT_RATIO = 128.0  # d_model / n_layer of GPT-3 175B (12288/96), 13B and 6.7B (Brown et al. 2020)
PARAMS_PER_LAYER_WIDTH2 = 12.0  # N ≈ 12·n_layer·d_model² (Kaplan et al. 2020, Table 1, d_attn = d_model, d_ff = 4·d_model)
SIX_ND_TOLERANCE = 1e-6  # a table whose compute is within this of 6·N·D on every run has no other cost to fit
POOR_FIT = 0.05  # rms relative residual above which fit_cost warns that one cost curve does not describe the runs


@dataclass(frozen=True, eq=False)
class CostModel:
    """Training FLOPs as tokens times a cost per token that depends on the model size: ``C = D·f(N)``.

    Build one with ``six_nd``, ``transformer_cost`` or ``fit_cost``, or directly from any
    function of the parameter count, e.g. ``CostModel("8ND", lambda n: 8 * n)`` for training
    with activation recomputation. ``f`` must be positive and must not fall as ``N`` grows.

    Parameters
    ----------
    name : str
        What the cost is, for messages and for ``attrs["cost"]`` of ``compute_optimal``'s frame.
    per_token : callable
        ``f``: an array of parameter counts to the training FLOPs per token, same shape.
    coefficients : dict, optional
        The numbers that define the cost (e.g. ``{"params": 6.0}``), for the record.
    fit : pandas.DataFrame, optional
        For a fitted cost: one row per run with ``params``, ``tokens``, ``compute``, ``fitted``
        (``D·f(N)``) and ``relative_residual`` (``compute/fitted - 1``).

    Raises
    ------
    TypeError
        If ``per_token`` is not callable or ``name`` is not a string.

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> cost = bs.CostModel("8ND", lambda n: 8 * n)
    >>> cost.flops(1e9, 2e10)
    np.float64(1.6e+20)
    """

    name: str
    per_token: Callable = field(repr=False)
    coefficients: dict = field(default_factory=dict)
    fit: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"a cost model's name must be a string, got {self.name!r}")
        if not callable(self.per_token):
            raise TypeError(f"cost model {self.name!r}: per_token must be a function of the parameter count, got {self.per_token!r}")

    def flops_per_token(self, params) -> np.ndarray:
        """Training FLOPs per token, ``f(N)``, for each parameter count.

        Parameters
        ----------
        params : float or array_like of float
            Parameter counts ``N``.

        Returns
        -------
        numpy.ndarray
            ``f(N)``, the shape of ``params``.

        Raises
        ------
        ValueError
            If ``f`` gives a value that is not a finite number > 0 (naming the parameter count).

        Examples
        --------
        >>> import bayes_scaling as bs
        >>> bs.six_nd().flops_per_token([1e9, 1e10])
        array([6.e+09, 6.e+10])
        """
        params = np.asarray(params, dtype=float)
        value = np.broadcast_to(np.asarray(self.per_token(params), dtype=float), params.shape)
        bad = ~(np.isfinite(value) & (value > 0))
        if bad.any():
            where = np.flatnonzero(bad.ravel())[0]
            raise ValueError(
                f"cost model {self.name!r} gives {value.ravel()[where].item()!r} FLOPs per token at "
                f"{params.ravel()[where]:.4g} parameters; it must be a finite number > 0"
            )
        return value

    def flops(self, params, tokens) -> np.ndarray:
        """Training FLOPs of a run: ``D·f(N)``.

        Parameters
        ----------
        params : float or array_like of float
            Parameter counts ``N``.
        tokens : float or array_like of float
            Training tokens ``D``, broadcast against ``params``.

        Returns
        -------
        numpy.ndarray
            ``D·f(N)``.

        Raises
        ------
        ValueError
            If ``f`` gives a value that is not a finite number > 0.

        Examples
        --------
        >>> import bayes_scaling as bs
        >>> bs.six_nd().flops(70e9, 1.4e12)
        np.float64(5.88e+23)
        """
        return np.asarray(tokens, dtype=float) * self.flops_per_token(params)

    @property
    def summary(self) -> str:
        """One line: the cost, and for a fitted one how closely it matches the table's compute."""
        if self.fit is None:
            return self.name
        residual = self.fit["relative_residual"].to_numpy()
        return (
            f"{self.name}; fitted on {len(residual)} runs: relative residuals rms "
            f"{np.sqrt(np.mean(residual**2)):.2%}, largest {np.max(np.abs(residual)):.2%}"
        )


def six_nd() -> CostModel:
    """The usual count, 6 FLOPs per parameter per token: ``C = 6·N·D``.

    2N FLOPs per token forward (a multiply and an add per parameter) and 4N backward.
    ``compute_optimal(fc, budget)`` uses this count in closed form; passing ``cost=six_nd()``
    solves the same problem numerically (the two agree to about 1e-8).

    Returns
    -------
    CostModel
        ``f(N) = 6N``.

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> bs.six_nd().flops(70e9, 1.4e12)
    np.float64(5.88e+23)
    """
    return CostModel("6·N·D", lambda params: 6.0 * params, {"params": 6.0})


def transformer_cost(context_length, aspect_ratio=None, shape=None) -> CostModel:
    """Kaplan et al.'s transformer count with attention: ``C = 6·N·D + 6·n_layer·n_ctx·d_model·D``.

    Kaplan et al. (2020, eq. 2.2 and Table 1): a forward pass costs ``2N + 2·n_layer·n_ctx·d_attn``
    FLOPs per token, and training (forward and backward) about 3× that. With ``d_attn = d_model``
    the attention term's share is ``n_ctx/(12·d_model)``: about 2% for a 70B model at context 2048,
    7.5% at 8192, and more for smaller models. ``N`` alone does not give ``n_layer`` and ``d_model``;
    by default they come from ``N = 12·n_layer·d_model²`` (Kaplan's non-embedding count) at a fixed
    aspect ratio ``d_model/n_layer``, so the attention term is ``6·n_ctx·(r·N/12)^(2/3)/r``.
    Give ``shape`` instead where the ladder's own rule is known. Other counts differ by a constant
    factor on the attention term (Hoffmann et al. 2022, Appendix F, count the attention logits and
    the weighted sum separately: about twice Kaplan's); build a ``CostModel`` for those.

    Parameters
    ----------
    context_length : float
        ``n_ctx``, the training sequence length in tokens (> 0).
    aspect_ratio : float, optional
        ``d_model/n_layer``, default 128 (GPT-3 175B: 12288/96; Brown et al. 2020, Table 2.1).
        Kaplan et al. found the loss nearly flat in it over a wide range (their Fig. 5).
        Not with ``shape``.
    shape : callable, optional
        ``shape(params) -> (n_layer, d_model)``, arrays of the shape of ``params``: the ladder's
        own depth and width at each size, instead of a fixed aspect ratio.

    Returns
    -------
    CostModel
        ``f(N) = 6N + 6·n_layer(N)·n_ctx·d_model(N)``.

    Raises
    ------
    ValueError
        If ``context_length`` or ``aspect_ratio`` is not a finite number > 0, or both
        ``aspect_ratio`` and ``shape`` are given, or ``shape`` gives a depth or width that is
        not a finite number > 0 (when the cost is evaluated).
    TypeError
        If ``shape`` is not callable.

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> cost = bs.transformer_cost(context_length=8192)
    >>> cost.flops_per_token(70e9) / (6 * 70e9)      # attention adds 7.5%
    np.float64(1.0752...)
    >>> llama = bs.transformer_cost(4096, shape=lambda n: (80, 8192))  # Llama 2 70B
    """
    n_ctx = _positive(context_length, "context_length")
    if shape is not None:
        if aspect_ratio is not None:
            raise ValueError(f"give aspect_ratio ({aspect_ratio!r}) or shape, not both: shape sets depth and width itself")
        if not callable(shape):
            raise TypeError(f"shape must be a function params -> (n_layer, d_model), got {shape!r}")
        name = f"6·N·D + attention at context {n_ctx:g} (given shape)"
        return CostModel(name, lambda params: 6.0 * params + 6.0 * n_ctx * _layers_times_width(shape, params),
                         {"params": 6.0, "context_length": n_ctx})
    ratio = DEFAULT_ASPECT_RATIO if aspect_ratio is None else _positive(aspect_ratio, "aspect_ratio")

    def per_token(params):
        d_model = (ratio * params / PARAMS_PER_LAYER_WIDTH2) ** (1.0 / 3.0)
        return 6.0 * params + 6.0 * n_ctx * d_model**2 / ratio  # n_layer·d_model = d_model²/ratio

    name = f"6·N·D + attention at context {n_ctx:g} (d_model/n_layer = {ratio:g})"
    return CostModel(name, per_token, {"params": 6.0, "context_length": n_ctx, "aspect_ratio": ratio})


def fit_cost(runs, exponent=2.0 / 3.0) -> CostModel:
    """A cost ``f(N) = c1·N + c2·N^p`` fitted to a table's logged compute per token.

    ``compute/tokens`` of each run is fitted by least squares on relative residuals (each run
    weighs the same, whatever its size), with ``c1, c2 ≥ 0``. ``p = 2/3`` by default: the
    attention term of Kaplan et al.'s count at a fixed aspect ratio (see ``transformer_cost``),
    so ``c1`` near 6 and ``c2 > 0`` say that the logged compute counts attention. The fit is
    as good as the table's runs are one architecture family at one context length, and a
    budget far past the ladder extrapolates ``N^p``: ``summary`` and ``fit`` report how well it
    matches the runs. The budget given to ``compute_optimal`` must then be counted as the
    table's compute was.

    Parameters
    ----------
    runs : pandas.DataFrame or Forecast
        A table with ``params``, ``tokens`` and ``compute`` (e.g. ``fc.runs``), or a forecast,
        whose fitted runs are used.
    exponent : float, default 2/3
        ``p``, in ``[0, 1)``: 0 for a constant overhead per token, 2/3 for attention at a
        fixed aspect ratio.

    Returns
    -------
    CostModel
        With ``coefficients`` ``{"params": c1, "extra": c2, "exponent": p}`` and ``fit``, the
        per-run table of fitted compute and relative residuals.

    Raises
    ------
    DataError
        If the table lacks ``params``, ``tokens`` or ``compute``, or a value is not a finite
        number > 0 (naming the column and row).
    ValueError
        If the table's compute is 6·N·D on every run (nothing else to fit), it has fewer than 3
        distinct parameter counts, ``exponent`` is outside ``[0, 1)``, or the fit leaves no
        term proportional to ``N``.

    Warns
    -----
    UserWarning
        If the relative residuals' rms is above 5%: one cost curve does not describe the runs.

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> cost = bs.fit_cost(runs)        # columns params, tokens, compute (logged FLOPs)
    >>> cost.coefficients, cost.summary
    """
    table = runs if isinstance(runs, pd.DataFrame) else getattr(runs, "runs", runs)
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"fit_cost needs a DataFrame with params, tokens and compute, or a forecast; got {type(runs).__name__}")
    values = _columns(table, ("params", "tokens", "compute"))
    p = float(exponent)
    if not (np.isfinite(p) and 0.0 <= p < 1.0):
        raise ValueError(f"exponent must lie in [0, 1), got {exponent!r}")
    params, tokens, compute = values["params"], values["tokens"], values["compute"]
    deviation = np.max(np.abs(compute / (6.0 * params * tokens) - 1.0))
    if deviation < SIX_ND_TOLERANCE:
        raise ValueError(
            f"the table's compute is 6·N·D on every run (largest relative deviation {deviation:.1e}): there is no "
            "other cost to fit; leave cost=None (6·N·D), or give transformer_cost(...) for attention"
        )
    sizes = np.unique(params).size
    if sizes < 3:
        raise ValueError(f"fit_cost needs runs at 3 or more distinct parameter counts to fit two coefficients and check them; got {sizes}")
    per_token = compute / tokens
    design = np.column_stack([params, params**p]) / per_token[:, None]  # relative residuals
    scale = np.linalg.norm(design, axis=0)
    solution, _ = nnls(design / scale, np.ones(len(per_token)))
    c1, c2 = solution / scale
    if not c1 > 0:
        raise ValueError(
            f"the table's compute per token is best fitted with no term proportional to N (c1 = {c1:.3g}, "
            f"c2 = {c2:.3g}·N^{p:.3g}): that is not a training cost; check the compute column's units"
        )
    fitted = tokens * (c1 * params + c2 * params**p)
    fit = pd.DataFrame({"params": params, "tokens": tokens, "compute": compute, "fitted": fitted,
                        "relative_residual": compute / fitted - 1.0})
    cost = CostModel(f"fitted: {c1:.4g}·N + {c2:.4g}·N^{p:.3g} FLOPs per token",
                     lambda n: c1 * n + c2 * n**p, {"params": float(c1), "extra": float(c2), "exponent": p}, fit)
    rms = float(np.sqrt(np.mean(fit["relative_residual"] ** 2)))
    if rms > POOR_FIT:
        warnings.warn(f"{cost.summary}: one cost curve c1·N + c2·N^p does not describe these runs well "
                      "(several architectures or context lengths?)", UserWarning, stacklevel=2)
    return cost


def _positive(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (np.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def _layers_times_width(shape, params) -> np.ndarray:
    n_layer, d_model = (np.broadcast_to(np.asarray(v, dtype=float), np.shape(params)) for v in shape(params))
    for name, v in (("n_layer", n_layer), ("d_model", d_model)):
        bad = ~(np.isfinite(v) & (v > 0))
        if bad.any():
            where = np.flatnonzero(bad.ravel())[0]
            raise ValueError(f"shape gives {name} = {v.ravel()[where].item()!r} at {np.ravel(params)[where]:.4g} parameters; it must be a finite number > 0")
    return n_layer * d_model


def _columns(table: pd.DataFrame, names) -> dict[str, np.ndarray]:
    """The columns as finite numbers > 0 (``numeric_columns``, which names the first bad row), after
    saying which are missing."""
    missing = [name for name in names if name not in table.columns]
    if missing:
        raise DataError(f"fit_cost needs columns {list(names)}; the table lacks {missing} (it has {[str(c) for c in table.columns]})")
    try:
        return numeric_columns(table, names)
    except DataError as error:
        raise DataError(f"fit_cost: {error}") from None
