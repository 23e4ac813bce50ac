"""Compile once, sample many: the package's NUTS driver against nutpie's, per law, in one run.

Every forecast of a law builds the same model graph with new data. Recompiling per forecast costs
seconds (PyMC's numpyro path bakes the data in), so the question for each path is: how long is
the first forecast (compile included), how long is the next one with new data of the same shape,
how many effective draws per second does it give, and is its posterior the same. Per law, on its
example data (``A``) and a perturbed copy of the same shape (``B``, the law's observed column
moved by a few per cent):

1. **ours**: ``bs.forecast`` (numpyro's NUTS driven through PyMC's JAX graph with the data as
   arguments; ``bayes_scaling/inference/nuts.py``): A cold, then B warm;
2. **nutpie, JAX**: ``nutpie.compile_pymc_model(model, backend="jax", gradient_backend="jax",
   freeze_model=False)`` on A, then ``compiled.with_data(**B)``. nutpie freezes a model's data
   into constants by default on this backend (``freeze_model = backend == "jax"``, through
   ``pymc.model.transform.optimization.freeze_dims_and_data``), which is why ``with_data`` there
   refuses every data name ("Unknown data variable"); unfrozen, it takes them;
3. **nutpie, numba**: the same with ``backend="numba"`` (its default; compiled with numba);
4. **pm.sample(nuts_sampler="numpyro")** on B: the reference posterior (it recompiles every call).

Each sampler runs 4 chains × 1,000 draws after the law's own tuning steps, at the law's
target_accept. "min ESS" is the smallest bulk ESS over the law's parameters; "vs reference" is the
largest difference of a parameter's posterior mean from the reference's, in units of its Monte
Carlo standard error (both runs' combined): about 3 or less is the same posterior. nutpie adapts
a diagonal mass matrix (ours and numpyro's: dense, as the laws ask).

    pip install nutpie numba          # not a dependency of the package
    python benchmarks/compile_once.py [--laws loss,chinchilla,two_step,pass_rate]

Measured on 2026-12-07 (2-core AMD Zen 3; nutpie 0.16.8), the forecast of new data, compilation done:
ours 0.90 / 1.05 / 2.33 s (loss / chinchilla / two_step), nutpie JAX 44.9 / 76.9 / 64.4 s (a Python
call per gradient), nutpie numba failed / 1.28 / 0.98 s after 14 s of compilation, pm.sample with
numpyro 3.3 / 3.4 / 6.9 s; every posterior within 3.2 MCSE of the reference. docs/loss-law.md, "Sampler".
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd

import bayes_scaling as bs
from bayes_scaling.inference import nuts
from bayes_scaling.inference.jax_setup import configure_jax
from bayes_scaling.datasets import make_example_capability_runs
from bayes_scaling.laws import get_law

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import synthetic_ladders  # noqa: E402  (the health battery's IsoFLOP ladders)


def examples(law: str) -> tuple[pd.DataFrame, pd.DataFrame, object]:
    """(A, B, a target) for ``law``: its example data and a perturbed copy of the same shape."""
    if law == "loss":
        a, column, target = bs.example_runs(), "loss", 1e21
    elif law == "chinchilla":
        a, column, target = synthetic_ladders.isoflop_ladder("chinchilla", 0), "loss", pd.DataFrame({"params": [7e10], "tokens": [1.4e12]})
    elif law == "two_step":
        a, column, target = make_example_capability_runs(seed=0), "task_loss", 1e22
    else:
        a, column, target = bs.example_pass_counts(), None, 1e22
    b = a.copy()
    if column is None:  # pass counts: one problem in ten gains or loses a pass where it can
        rng = np.random.default_rng(1)
        change = rng.choice([-1, 0, 0, 0, 0, 0, 0, 0, 0, 1], size=len(b))
        b["correct"] = np.clip(b["correct"] + change, 0, b["n"])
    else:
        b[column] = b[column] * (1 + 0.02 * np.sin(np.arange(len(b))))
    return a, b, target


def model_of(law, data, law_options=None):
    prepared = law.prepare(law.load(data), **(law_options or {}))
    return law.build_model(prepared, {}), prepared.options


def summary(idata, names) -> tuple[float, pd.Series, pd.Series]:
    """(min bulk ESS, posterior means, Monte Carlo standard errors of the means) over ``names``."""
    names = [n for n in names if n in idata.posterior]
    table = az.summary(idata, var_names=names, kind="all", round_to="none")
    return float(table["ess_bulk"].min()), table["mean"], table["mcse_mean"]


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run_law(law: str) -> list[dict]:
    law_ = get_law(law)
    names = list(law_.parameters)
    a, b, target = examples(law)
    rows = []
    cold, _ = timed(lambda: bs.forecast(a, target=target, law=law, seed=0, progress=False))
    warm, fc = timed(lambda: bs.forecast(b, target=target, law=law, seed=1, progress=False))
    ess, means, mcse = summary(fc.idata, names)
    rows.append({"law": law, "path": "ours (numpyro via PyMC's JAX graph)", "first_s": cold, "next_s": warm,
                 "min_ess": ess, "means": means, "mcse": mcse})

    model_a, options = model_of(law_, a)
    model_b, _ = model_of(law_, b)
    new_data = {var.name: var.get_value() for var in model_b.data_vars}
    tune = law_.tune_for(options)
    try:
        import nutpie
    except ImportError:
        nutpie = None
        print("nutpie is not installed: pip install nutpie numba")
    for backend, extra in (("jax", {"gradient_backend": "jax", "freeze_model": False}), ("numba", {})):
        if nutpie is None:
            break
        try:
            compile_s, compiled = timed(lambda: nutpie.compile_pymc_model(model_a, backend=backend, **extra))
            known = getattr(compiled, "_shared_data", None) or compiled.shared_data  # the two backends name it apart
            moved = compiled.with_data(**{k: v for k, v in new_data.items() if k in known})
            sample_s, trace = timed(lambda: nutpie.sample(moved, draws=1000, tune=tune, chains=4, seed=1, progress_bar=False,
                                                          target_accept=law_.target_accept))
        except Exception as err:  # a path that cannot sample this law is a result too
            rows.append({"law": law, "path": f"nutpie {backend}, with_data", "failed": str(err).splitlines()[0][:90]})
            continue
        ess, means, mcse = summary(trace, names)
        rows.append({"law": law, "path": f"nutpie {backend}, with_data", "first_s": compile_s + sample_s, "next_s": sample_s,
                     "min_ess": ess, "means": means, "mcse": mcse,
                     "note": f"divergences {int(trace.sample_stats['diverging'].sum())}"})

    settings = nuts.SamplerSettings(seed=1, progress=False, tune=tune, target_accept=law_.target_accept,
                                    dense_mass=law_.dense_mass)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference_s, reference = timed(lambda: nuts.sample_with_pymc(model_b, settings))
    ess, ref_means, ref_mcse = summary(reference, names)
    rows.append({"law": law, "path": "pm.sample(nuts_sampler='numpyro')", "first_s": reference_s, "next_s": reference_s,
                 "min_ess": ess, "means": ref_means, "mcse": ref_mcse, "note": "recompiles per call"})
    for row in rows:
        if "means" in row:
            z = (row["means"] - ref_means).abs() / np.sqrt(row["mcse"] ** 2 + ref_mcse**2)
            row["vs_reference"] = float(z.max())
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laws", default="loss,chinchilla,two_step", help="comma-separated laws (pass_rate: several minutes per nutpie path)")
    args = parser.parse_args()
    configure_jax()
    rows = [row for law in args.laws.split(",") for row in run_law(law)]
    print(f"\n{'law':<11}{'path':<38}{'first s':>9}{'next s':>9}{'min ESS':>9}{'ESS/s':>8}{'vs ref':>8}  notes")
    for row in rows:
        if "failed" in row:
            print(f"{row['law']:<11}{row['path']:<38}  failed: {row['failed']}")
            continue
        print(f"{row['law']:<11}{row['path']:<38}{row['first_s']:>9.2f}{row['next_s']:>9.2f}{row['min_ess']:>9.0f}"
              f"{row['min_ess'] / row['next_s']:>8.0f}{row['vs_reference']:>8.1f}  {row.get('note', '')}")
    print("\nfirst: the first forecast in this process (compilation included; JAX's disk cache may be warm); "
          "next: a forecast of new data of the same shape; vs ref: max |mean difference| / MCSE against pm.sample")


if __name__ == "__main__":
    main()
