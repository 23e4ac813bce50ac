"""The recipe comparison's report: which recipe wins at each target, how surely, and the figure.

``write_recipe_report(cmp, "recipes.html")`` writes a self-contained HTML page (``.md``: Markdown
with the figure beside it), in the same two formats as a forecast's report
(``report_rendering``). It opens with P(best) at each target, then each recipe against the
reference (difference, its 90% interval, P(better) by the margin asked for), the difference
chart and where the curves cross, each recipe's own fit and sampler health, the caveats, and a
footer with every seed and data hash.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from bayes_scaling.formatting import format_probability
from bayes_scaling.output.report import SUFFIXES
from bayes_scaling.output.report_figures import png
from bayes_scaling.output.report_rendering import render_html, render_markdown

# Measured by benchmarks/recipes.py (docs/recipes.md): the favourite's stated P(better) against how
# often it won, on 44 comparisons of real recipes beyond their fits.
TRACK_RECORD = (
    "On 44 comparisons of real recipes beyond their fits (Porian et al.'s five configurations, Pythia "
    "standard vs deduplicated; benchmarks/recipes.py), the favourite won 89% of the time at a mean stated "
    "P(better) of 74%: the recipes are fitted apart, so P(better) is conservative (docs/recipes.md)."
)


def write_recipe_report(cmp, path, reference: str | None = None, by: float = 0.0) -> Path:
    """Write the report of ``cmp`` (a ``RecipeComparison``) to ``path`` (``.html`` or ``.md``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"report path must end in .html or .md, got {path.name!r}")
    reference = cmp.recipes[0] if reference is None else reference
    path.parent.mkdir(parents=True, exist_ok=True)
    figures = {"differences": png(cmp.plot(reference=reference))}
    sections, blocks = _sections(cmp, reference, by)
    if suffix == ".md":
        name = f"{path.stem}_differences.png"
        path.with_name(name).write_bytes(figures["differences"])
        path.write_text(render_markdown(sections, {"differences": name}, blocks), encoding="utf-8")
    else:
        path.write_text(render_html(sections, figures, blocks), encoding="utf-8")
    return path


def _sections(cmp, reference: str, by: float) -> tuple[dict, list]:
    quantity = cmp.forecasts[reference].quantities[0]
    targets = ", ".join(f"{c:.3g}" for c in cmp.targets)
    best = cmp.prob_best()
    best_table = pd.DataFrame({"target compute": [f"{c:.3g}" for c in best.index], **{name: best[name].map(format_probability).to_numpy() for name in cmp.recipes}})
    crossings = cmp.crossings(reference)
    crossing_text = (
        "No recipe's median difference from the reference changes sign between the smallest fitted run and the largest target."
        if crossings.empty
        else " ".join(
            f"{row.recipe} crosses {reference} at {row.compute:.3g} FLOPs and is the better one {'above' if row.better_above else 'below'} it."
            for row in crossings.itertuples()
        )
    )
    blocks = [
        ("text", _lead(cmp, reference, quantity)),
        ("heading", "P(each recipe is the best), one new run of each"),
        ("table", best_table),
        ("heading", f"Each recipe against {reference}"),
        ("table", _against(cmp, reference, by, "predictive")),
        ("text", f"Difference: recipe − {reference} in {quantity}, median and 90% equal-tailed interval. Above: one new run of each; below: the mean curves (no run-to-run noise)."),
        ("table", _against(cmp, reference, by, "mean")),
        ("heading", "The difference against compute"),
        ("image", "differences", f"each recipe minus {reference} against compute, median and 50%/90% bands of the mean curves"),
        ("text", crossing_text),
        ("heading", "Each recipe's fit"),
        ("table", _fits(cmp)),
        *_pooling_blocks(cmp),
        ("heading", "Caveats"),
        ("list", [TRACK_RECORD, "Each recipe's forecast has its own verdict and report (cmp.forecasts[name].report(...)): read them before relying on the comparison."]),
    ]
    sections = {"title": f"Recipe comparison at {targets} FLOPs", "footer": _footer(cmp)}
    return sections, blocks


def _lead(cmp, reference: str, quantity: str) -> str:
    ranges = "; ".join(f"{name}: {len(fc.runs)} runs, {fc.runs['compute'].min():.3g}–{fc.runs['compute'].max():.3g} FLOPs" for name, fc in cmp.forecasts.items())
    better = "higher" if cmp.rising else "lower"
    if cmp.pooled:
        fit = (f"The recipes were fitted in one model with the {cmp.law!r} law ({ranges}), each with its own curve, the curves' "
               "slopes and reducible fractions partially pooled (drawn from one population whose spread the data inform). ")
        pairs = "Every probability counts draws of the joint posterior"
    else:
        fit = f"Each recipe's ladder was fitted on its own with the {cmp.law!r} law ({ranges}). "
        pairs = "Every probability counts pairs of draws, one from each recipe's posterior"
    return (
        f"{fit}Better means a {better} {quantity}. {pairs}, with one new run's noise drawn apart for each recipe. "
        f"Sampler: {_health(cmp)}."
    )


def _health(cmp) -> str:
    if cmp.ok:
        return "every fit passed its checks"
    if cmp.joint is not None and not cmp.joint.ok:
        return "the joint model FAILED its checks: " + "; ".join(cmp.joint.problems())
    return "a fit FAILED its checks: see below"


def _against(cmp, reference: str, by: float, kind: str) -> pd.DataFrame:
    frame = cmp.to_frame(reference=reference, kind=kind, by=by)
    return pd.DataFrame(
        {
            "target compute": frame["compute"].map(lambda c: f"{c:.3g}"),
            "recipe": frame["recipe"],
            "median difference": frame["median_difference"].map("{:+.4f}".format),
            "90% interval": [f"{lo:+.4f} – {hi:+.4f}" for lo, hi in zip(frame["lower"], frame["upper"])],
            "P(better)": frame["prob_better"].map(format_probability),
            **({f"P(better by ≥ {by:g})": frame[f"prob_better_by_{by:g}"].map(format_probability)} if by > 0 else {}),
        }
    )


def _pooling_blocks(cmp) -> list:
    """Where pooled: how far, as the spreads' prior medians against their posteriors."""
    frame = cmp.pooling()
    if frame is None:
        return []
    table = pd.DataFrame({
        "spread": ["of the log slopes at C_ref", "of the logit reducible fractions"],
        "prior median": frame["prior_median"].map("{:.3g}".format).to_numpy(),
        "posterior median": frame["median"].map("{:.3g}".format).to_numpy(),
        "90% interval": [f"{lo:.3g} – {hi:.3g}" for lo, hi in zip(frame["lower"], frame["upper"])],
    })
    return [
        ("heading", "How far the recipes' curves were pooled"),
        ("text", "The recipes' slopes and reducible fractions were drawn from one population; its spreads, "
                 "prior and posterior. Near 0: one shared shape; large: each recipe on its own. A posterior "
                 "close to its prior means the data said little about it, as with two recipes."),
        ("table", table),
    ]


def _fits(cmp) -> pd.DataFrame:
    rows = []
    for name, fc in cmp.forecasts.items():
        d = fc.diagnostics
        frame = fc.to_frame()
        rows.append(
            {
                "recipe": name,
                "runs": len(fc.runs),
                **{f"median at {c:.3g}": f"{m:.4f}" for c, m in zip(frame["compute"], frame["median"])},
                "sampler": "ok" if fc.ok else "FAILED",
                "r_hat": f"{d.r_hat:.3f}",
                "ESS bulk": f"{d.ess_bulk:.0f}",
                "divergences": str(d.divergences),
            }
        )
    return pd.DataFrame(rows)


def _footer(cmp) -> list[tuple[str, str]]:
    lines = [("comparison seed", str(cmp.seed)), ("recipe column", cmp.recipe_column)]
    for name, fc in cmp.forecasts.items():
        lines.append((f"{name}", f"seed {fc.settings['seed']}, data sha256 {fc.settings['data_sha256']}"))
    first = next(iter(cmp.forecasts.values())).settings
    lines += [
        ("versions", ", ".join(f"{k} {v}" for k, v in first["versions"].items())),
        ("report written", datetime.now(timezone.utc).isoformat(timespec="seconds")),
    ]
    return lines
