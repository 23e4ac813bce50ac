"""Speed of a default pass-rate forecast: 164 problems × 8 models (target: ≤ 30 s on 2 cores,
compilation included, no divergences, r_hat ≤ 1.01).

The JAX compilation cache is pointed at an empty folder, so the first forecast pays the
full compile. A second forecast of the same data with another sampler seed reuses the
compiled sampler: its time is sampling only, and the difference is compilation. The machines are
shared, so beside wall seconds the script prints the process's CPU seconds divided by the
2 cores (what the wall time would be on an idle machine, chains running in parallel) and
the load average.

    python benchmarks/pass_rate_speed.py
"""

from __future__ import annotations

import os
import tempfile

os.environ["BAYES_SCALING_CACHE"] = tempfile.mkdtemp(prefix="bs-speed-")  # before JAX starts

import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

import bayes_scaling as bs  # noqa: E402
from bayes_scaling.datasets import make_example_pass_counts  # noqa: E402

COMPUTES = np.geomspace(1e17, 1e20, 8)
CORES = 2


def timed_forecast(seed: int):
    # the same data every time: with soft bucket borders the number of problems near a border
    # is part of the model's shape, so other data would usually compile again
    counts, _ = make_example_pass_counts(seed=0, problems=164, computes=COMPUTES, n=200)
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.SamplerWarning)
        fc = bs.forecast(counts, target=1e22, law="pass_rate", seed=seed, progress=False)
    return time.perf_counter() - wall, time.process_time() - cpu, fc


def main() -> None:
    bs.forecast  # noqa: B018 -- the package imports its forecast module (and ArviZ, PyMC) on first use: not timed
    load = os.getloadavg()[0]
    first_wall, first_cpu, first = timed_forecast(0)
    second_wall, second_cpu, second = timed_forecast(1)
    for name, wall, cpu, fc in (("first (compile + sample)", first_wall, first_cpu, first), ("second (sample only)", second_wall, second_cpu, second)):
        stats = fc.idata.sample_stats
        d = fc.diagnostics
        print(
            f"{name}: {wall:.1f} s wall, {cpu / CORES:.1f} s CPU/{CORES} cores; divergences {d.divergences}, "
            f"max r_hat {d.r_hat:.3f}, min ess_bulk {d.ess_bulk:.0f}, step {float(stats['step_size'].mean()):.3f}, "
            f"mean tree depth {float(stats['tree_depth'].mean()):.1f}"
        )
    print(
        f"compilation ≈ {first_wall - second_wall:.1f} s wall ({(first_cpu - second_cpu) / CORES:.1f} s CPU/{CORES}); "
        f"load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at end; target: first ≤ 30 s on an idle 2-core machine"
    )


if __name__ == "__main__":
    main()
