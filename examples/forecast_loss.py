"""Forecast the final loss of two large runs from the shipped example ladder.

    python examples/forecast_loss.py [fan_chart.png]

The example ladder is synthetic (nine runs, 3e16..3e19 FLOPs). To use your own runs,
replace ``bs.example_runs()`` with ``bs.load_runs("runs.csv")``: a table with columns
``compute`` (FLOPs) and ``loss``.
"""

import sys

import bayes_scaling as bs

out = sys.argv[1] if len(sys.argv) > 1 else "fan_chart.png"

runs = bs.example_runs()
fc = bs.forecast(runs, target=[1e21, 1e22], seed=0)

# Predictive distribution of one new run's final loss at each target.
print(fc.to_frame().to_string(index=False, float_format=lambda v: f"{v:.4g}"))

for compute, p in zip(fc.targets, fc.prob_below(2.2)):
    print(f"P(loss < 2.2) at C={compute:.0e}: {p:.1%}")

print(fc.verdict().line())  # ready / caution / do-not-rely, and why

d = fc.diagnostics
print(f"diagnostics: ok={fc.ok} r_hat={d.r_hat:.3f} ess_bulk={d.ess_bulk:.0f} "
      f"ess_tail={d.ess_tail:.0f} divergences={d.divergences}")
if not fc.ok:
    print("\n".join(d.problems()))

fc.plot(out)
print(f"fan chart: {out}")
