"""The pass-rate law's parameters, their supports and default priors, each with why.

``K_TYPICAL`` and ``K_SPREAD_GUESS`` are the medians of the exponent's priors, which the
parameterisation (``pivots.py``) and the never-solved bound (``never_solved.py``) start from.
"""

from __future__ import annotations

import numpy as np
from pymc_extras.prior import Prior

from bayes_scaling.laws.law import DefaultPrior, build_default_priors

# what a bucket's k-centring (exponent_centring) takes k and the spread of log k between buckets to be:
# the medians of their priors (log_k_mean, log_k_spread); only the parameterisation depends on
# them. K_TYPICAL also picks which zero count bounds a never-solved problem highest.
K_TYPICAL = 0.3
K_SPREAD_GUESS = 0.5
PARAMETERS = ("log_alpha_bucket", "log_alpha_spread", "log_k_mean", "log_k_spread", "log_k_within", "run_noise")
BUCKET_PRIORS = ("log_alpha_bucket", "log_alpha_spread")
SUPPORT = {
    "log_alpha_bucket": (-np.inf, np.inf),
    "log_alpha_spread": (0.0, np.inf),
    "log_k_mean": (-np.inf, np.inf),
    "log_k_spread": (0.0, np.inf),
    "log_k_within": (0.0, np.inf),
    "run_noise": (0.0, np.inf),
}

DEFAULT_PRIORS = {
    "log_alpha_bucket": DefaultPrior(
        Prior("Normal", mu=0.0, sigma=2.5, dims="bucket"),
        'Prior("Normal", mu=0, sigma=2.5, dims="bucket")',
        "The typical log(−log pass rate) of a bucket's problems at C_ref. 0 means a pass rate of "
        "e^-1 = 37%; ±5 (95%) spans pass rates from ~100% to e^-150, so any bucket fits.",
    ),
    "log_alpha_spread": DefaultPrior(
        Prior("LogNormal", mu=np.log(0.25), sigma=0.75, dims="bucket"),
        'Prior("LogNormal", mu=log(0.25), sigma=0.75, dims="bucket")',
        "How much problems in one bucket differ (sd of log α): buckets hold problems of similar "
        "difficulty; measured 0.07-0.6 on synthetic and Pythia GSM8K buckets of six. 95% of the prior "
        "lies in 0.06-1.1. A log-normal keeps it off 0: with HalfNormal(1.5), a bucket with few solved "
        "problems drew its problems' levels into a funnel near 0 (Pythia, fit <= 410M: 122 divergences).",
    ),
    "log_k_mean": DefaultPrior(
        Prior("Normal", mu=np.log(0.3), sigma=1.0),
        'Prior("Normal", mu=log(0.3), sigma=1)',
        "The typical exponent k: with k = 0.3, 10× compute halves −log pass rate. 95% of the "
        "prior lies in k = 0.04-2.1, wider than published capability trends.",
    ),
    "log_k_spread": DefaultPrior(
        Prior("HalfNormal", sigma=0.5),
        'Prior("HalfNormal", sigma=0.5)',
        "How much k differs between buckets (sd of log k): buckets of one benchmark and one "
        "recipe should improve at related rates, so differences of a factor e^±1 are allowed.",
    ),
    "log_k_within": DefaultPrior(
        Prior("HalfNormal", sigma=0.3),
        'Prior("HalfNormal", sigma=0.3)',
        "How much k differs between problems of one bucket (sd of log k): buckets group "
        "problems by how small models did, which says little about how fast each improves; "
        "0.3 lets single problems improve ~35% faster or slower than their bucket.",
    ),
    "run_noise": DefaultPrior(
        Prior("HalfNormal", sigma=0.5),
        'Prior("HalfNormal", sigma=0.5)',
        "How far one training run sits off the trend, as a shift of log(−log pass rate) shared by "
        "all its problems (seeds, data order and checkpoints make whole models better or worse "
        "than the law). Without it, thousands of samples per problem make the intervals far too "
        "narrow on real ladders (Pythia GSM8K: 2 of 21 covered).",
    ),
}


def default_priors() -> dict[str, Prior]:
    return build_default_priors(DEFAULT_PRIORS)


def with_bucket_dims(name: str, prior: Prior) -> Prior:
    if name in BUCKET_PRIORS and not prior.dims:
        prior = prior.deepcopy()
        prior.dims = ("bucket",)
    return prior
