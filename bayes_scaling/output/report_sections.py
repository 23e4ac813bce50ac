"""What the risk-review report says, independent of the format that renders it.

The numbers, tables, caveats and reproducibility footer for one forecast, as plain values
and DataFrames: ``report_rendering`` turns them into HTML or Markdown, so both formats say
the same thing.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd

from bayes_scaling.formatting import describe_provenance, format_probability, format_ratio
from bayes_scaling.checks.curvature import describe as describe_curvature
from bayes_scaling.laws import get_law
from bayes_scaling.checks.trend_reversal import REVERSAL_PROB, describe

# GPT-4's loss prediction extrapolated 1,000-10,000x; past that, say so louder.
_FAR = 1e4
_FEW_POINTS = 5


def build_sections(fc, thresholds, verdict, check) -> dict:
    """What the report says about ``fc``, by section: the title and lead, tables as DataFrames, the
    verdict and checks, the caveats and the reproducibility footer."""
    runs = fc.runs
    quantity = fc.quantities[0]
    largest = float(runs["compute"].max())
    per_bucket = fc.bucket_labels is not None
    # the headline quantity; for per-bucket laws one row per target and bucket
    frame = fc.to_frame(quantity=quantity)
    mean = fc.to_frame("mean", quantity=quantity)
    mean_lower, mean_upper = mean["lower_90"], mean["upper_90"]
    targets = pd.DataFrame(
        {
            **({"bucket": frame["bucket"]} if per_bucket else {}),
            "target compute": frame["compute"].map(lambda c: f"{c:.3g}"),
            "× largest run": (frame["compute"] / largest).map(format_ratio),
            "median": frame["median"].map("{:.4f}".format),
            "50% interval": [f"{lo:.4f} – {hi:.4f}" for lo, hi in zip(frame["lower_50"], frame["upper_50"])],
            "90% interval": [f"{lo:.4f} – {hi:.4f}" for lo, hi in zip(frame["lower_90"], frame["upper_90"])],
            "90% interval of the mean curve": [f"{lo:.4f} – {hi:.4f}" for lo, hi in zip(mean_lower, mean_upper)],
        }
    )
    probabilities = None
    if thresholds:
        rows = []
        for threshold in thresholds:
            below = np.atleast_1d(fc.prob_below(threshold))  # headline quantity; all problems
            for compute, p in zip(fc.targets, below):
                rows.append(
                    {
                        "target compute": f"{compute:.3g}",
                        "threshold": f"{threshold:g}",
                        f"P({quantity} < threshold)": format_probability(p),
                        f"P({quantity} > threshold)": format_probability(1 - p),
                    }
                )
        probabilities = pd.DataFrame(rows)
    priors = pd.DataFrame(_prior_rows(fc))
    summary = _posterior_summary(fc)
    return {
        "title": f"{fc.law.capitalize()} forecast at {', '.join(f'{c:.3g}' for c in fc.targets)} FLOPs",
        "lead": (
            f"Fitted the {fc.law!r} law ({get_law(fc.law).formula}) to {len(runs)} "
            f"{'pass counts' if per_bucket else 'runs'} spanning "
            f"{runs['compute'].min():.3g}–{largest:.3g} FLOPs from {describe_provenance(fc.provenance)}. "
            f"Intervals are for the {quantity} of one new run at each target (they include "
            "run-to-run noise); the last column is for the mean curve alone."
            + (" Buckets: 1 = easiest; 'all' = every kept problem." if per_bucket else "")
        ),
        "targets": targets,
        "probabilities": probabilities,
        "verdict": verdict,
        "track_record": verdict.track_record,
        "check": check,
        "self_backtest": verdict.self_backtest,
        "caveats": _caveats(fc, largest),
        "data": runs,
        "parameters": summary,
        "priors": priors,
        "footer": _footer(fc),
    }


def _prior_rows(fc) -> list[dict]:
    law = get_law(fc.law)
    rows = []
    for name, text in fc.settings["priors"].items():
        default = law.default_priors.get(name)
        rows.append({"parameter": name, "prior": text, "why": default.reason if default and text == default.shown else "set by the user"})
    return rows


def _posterior_summary(fc) -> pd.DataFrame:
    """Mean, sd, median and the 90% equal-tailed interval of each parameter (as everywhere else in the
    report, not ArviZ's default 94% HDI), and its diagnostics."""
    stats = fc.parameters(kind="stats", stat_focus="median", hdi_prob=0.9, round_to="none")[["median", "eti_5%", "eti_95%"]]
    moments = fc.parameters(kind="stats", round_to="none")[["mean", "sd"]]
    diagnostics = fc.parameters(kind="diagnostics", round_to="none")[["ess_bulk", "ess_tail", "r_hat"]]
    table = pd.concat([moments, stats.rename(columns={"eti_5%": "lower_90", "eti_95%": "upper_90"}), diagnostics], axis=1)
    table.index.name = "parameter"
    return table.reset_index()


def _caveats(fc, largest: float) -> list[str]:
    out = []
    ratio = float(fc.targets.max() / largest)
    runs = fc.runs
    n = runs["run"].nunique() if "run" in runs else len(runs)  # pass counts: many rows per run
    out.append(
        f"The largest target is {format_ratio(ratio)} the compute of the largest fitted run"
        + (
            f"; GPT-4's published loss prediction extrapolated 1,000–10,000×, so beyond {format_ratio(_FAR)} "
            "the law itself, not only its parameters, is the main risk."
            if ratio > _FAR
            else "."
        )
    )
    if ratio < 1:
        out.append("Some targets lie inside the fitted range: this is interpolation, not a forecast.")
    out.append(
        f"The fit rests on {n} runs"
        + (f"; with fewer than {_FEW_POINTS} the exponent and the irreducible loss are mostly prior." if n < _FEW_POINTS else ".")
    )
    out.append(
        f"The law assumes {get_law(fc.law).assumption} across the whole ladder and beyond: a change "
        "of recipe, data or architecture between the ladder and the target run is not in these intervals, "
        "and small rungs that are off-trend (e.g. too-short warmup) bias the forecast."
    )
    out += get_law(fc.law).caveats(fc.settings["options"])
    out += _trend_reversal_caveats(fc)
    bend = describe_curvature(fc.curvature)
    if bend:
        out.append(bend + ".")
    return out


def _trend_reversal_caveats(fc) -> list[str]:
    """Capability laws: say where the fitted runs fall with compute (docs/trend-reversal.md)."""
    frame = fc.trend_reversal
    if frame is None:
        return []
    falling = frame[frame["prob_falls"] >= REVERSAL_PROB]
    if not len(falling):
        worst = frame["prob_falls"].max()
        return [f"Trend-reversal check: no sign that the fitted runs fall with compute (largest probability {worst:.0%})."]
    return [
        "Trend reversal: " + describe(row) + ". A monotone law cannot follow a reversal, so the forecast is then likely optimistic "
        "(it extends the rising trend)."
        for _, row in falling.iterrows()
    ]


def _footer(fc) -> list[tuple[str, str]]:
    s = fc.settings
    versions = ", ".join(f"{k} {v}" for k, v in s["versions"].items())
    return [
        ("data", fc.provenance["source"]),
        ("data file sha256", fc.provenance["file_sha256"] or "none: fitted on a DataFrame that came from no file"),
        ("data sha256 (the validated table)", s["data_sha256"]),
        *([("what the data are", fc.provenance["note"])] if fc.provenance["note"] else []),
        ("seed", str(s["seed"])),
        ("sampler", f"NUTS, {s['chains']} chains × {s['draws']} draws after {s['tune']} tuning steps, target_accept {s['target_accept']}"),
        ("versions", versions),
        ("forecast made", s["created"]),
        ("report written", datetime.now(timezone.utc).isoformat(timespec="seconds")),
    ]
