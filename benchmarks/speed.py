"""Speed of a default loss forecast, against PyMC's default sampler and curve_fit + bootstrap.

All numbers come from this one run on this machine; ratios, not absolute seconds, are
the point (the machines are shared and noisy). Measured:

1. a fresh process (interpreter start, imports, compile, sample), first with empty JAX and
   PyTensor caches, then again with the caches the first run left;
2. in one process, a forecast after a first forecast with data of the same shape (the
   compiled sampler is reused): median of 5, for 9 and for 50 points;
3. on the same model and data: PyMC's default NUTS sampler (`pm.sample()`), plain
   `pm.sample(nuts_sampler="numpyro")`, and curve_fit + 1,000 bootstrap resamples.

    python benchmarks/speed.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

import bayes_scaling as bs  # noqa: E402
from bayes_scaling.inference import nuts  # noqa: E402
from bayes_scaling.evaluation.baseline import bootstrap_draws  # noqa: E402
from bayes_scaling.laws import loss  # noqa: E402

FRESH = (
    "import time; t = time.perf_counter(); import bayes_scaling as bs; "
    "bs.forecast(bs.example_runs(), target=1e21, seed=0, progress=False); "
    "print(time.perf_counter() - t)"
)


def fresh_process(env: dict) -> tuple[float, float]:
    """(wall seconds of the whole process, seconds from first import to forecast)."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", FRESH], env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, float(out.stdout.strip().splitlines()[-1])


def ladder(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    compute = np.geomspace(1e17, 1e20, n)
    return pd.DataFrame({"compute": compute, "loss": (900 * compute**-0.16 + 1.8) * np.exp(0.008 * rng.standard_normal(n))})


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def min_ess(idata) -> float:
    import arviz as az

    return float(az.ess(idata, var_names=["loss_ref", "c", "b"]).to_array().min())


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "BAYES_SCALING_CACHE": cache, "PYTENSOR_FLAGS": f"compiledir={cache}/pytensor"}
        for label in ("fresh process, empty caches", "fresh process, warm caches"):
            wall, inner = fresh_process(env)
            rows.append((label, wall, None, f"import+forecast {inner:.1f} s"))

    warm = {}
    for n in (9, 50):
        bs.forecast(ladder(n, 0), target=1e21, seed=0, progress=False)  # compile once
        times, fc = [], None
        for seed in range(1, 6):
            seconds, fc = timed(lambda: bs.forecast(ladder(n, seed), target=1e21, seed=seed, progress=False))
            times.append(seconds)
        warm[n] = (statistics.median(times), min_ess(fc.idata), fc.diagnostics.divergences)
        rows.append((f"bayes_scaling, warm, {n} points", warm[n][0], warm[n][1], f"divergences {warm[n][2]}"))

    data = ladder(9, 1)
    settings = nuts.SamplerSettings(seed=1, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pymc_default, idata = timed(lambda: nuts.sample_with_pymc(loss.build_model(loss.prepare(data), {}), settings, nuts_sampler="pymc"))
        pymc_ess = min_ess(idata)
        rows.append(("pm.sample() default NUTS, 9 points", pymc_default, pymc_ess,
                     f"divergences {int(idata.sample_stats.diverging.sum())}"))
        same = nuts.SamplerSettings(seed=1, progress=False, target_accept=loss.TARGET_ACCEPT)
        numpyro_plain, idata = timed(lambda: nuts.sample_with_pymc(loss.build_model(loss.prepare(data), {}), same))
        rows.append(("pm.sample(nuts_sampler='numpyro')", numpyro_plain, min_ess(idata),
                     f"divergences {int(idata.sample_stats.diverging.sum())}"))
    bootstrap, _ = timed(lambda: bootstrap_draws(data, pd.DataFrame({"compute": [1e21]}), law="loss", resamples=1000, seed=0))
    rows.append(("curve_fit + 1,000 bootstrap", bootstrap, None, "point fit; no posterior"))

    print(f"{'what':<38}{'seconds':>9}{'min ESS':>9}{'ESS/s':>8}  notes")
    for label, seconds, ess, note in rows:
        ess_text = f"{ess:>9.0f}{ess / seconds:>8.0f}" if ess is not None else f"{'':>9}{'':>8}"
        print(f"{label:<38}{seconds:>9.2f}{ess_text}  {note}")
    ours = warm[9][0]
    print()
    print(f"warm forecast vs PyMC default sampler: {pymc_default / ours:.0f}x faster; "
          f"ESS {warm[9][1]:.0f} vs {pymc_ess:.0f}")
    print(f"warm forecast vs plain pm.sample(nuts_sampler='numpyro'): {numpyro_plain / ours:.1f}x faster")
    print(f"warm forecast vs curve_fit + bootstrap: {bootstrap / ours:.1f}x faster")
    print(f"targets: warm <= 2 s ({'met' if ours <= 2 else 'MISSED'}), "
          f"fresh process <= 15 s ({'met' if rows[0][1] <= 15 and rows[1][1] <= 15 else 'see rows above'})")


if __name__ == "__main__":
    main()
