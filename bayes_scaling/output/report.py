"""Risk-review reports: one document with the verdict, the forecast, its track record and its data.

``write_report(fc, "review.html")`` writes a self-contained HTML file (figures embedded as
PNG data, no scripts, no network) that opens from disk; ``"review.md"`` writes Markdown
with the PNG figures beside it. Both open with the verdict (``ready``, ``caution`` or
``do-not-rely`` and its reasons, ``bayes_scaling.checks.verdict``; the HTML element carries
``data-verdict``), then say what was forecast, the fan chart with the thresholds asked
for, the predictive distribution at each target, the law's measured track record at
this distance, a posterior-predictive check of the fitted runs, the self-backtest,
caveats, the posterior of the parameters and the priors, and a footer that lets anyone
reproduce the fit. Every interval is equal-tailed at 90% (and 50%).

This module writes the file; ``report_sections`` holds what the report says,
``report_figures`` its figures and ``report_rendering`` the HTML and Markdown.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bayes_scaling.checks import fit_check
from bayes_scaling.output.report_figures import png, predictive_figure, residual_figure
from bayes_scaling.output.report_rendering import render_html, render_markdown
from bayes_scaling.output.report_sections import build_sections

SUFFIXES = (".html", ".htm", ".md")


def write_report(fc, path, thresholds=(), verdict=None) -> Path:
    """Write the report for ``fc`` to ``path`` (``.html`` or ``.md``) and return the path.

    ``verdict`` is ``fc.verdict()`` (computed here if not given: it refits for the self-backtest).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"report path must end in .html or .md, got {path.name!r}")
    thresholds = [float(t) for t in np.atleast_1d(thresholds if thresholds is not None else [])]
    verdict = fc.verdict() if verdict is None else verdict
    path.parent.mkdir(parents=True, exist_ok=True)
    check = fit_check.posterior_predictive(fc)
    figures = {"fan_chart": png(fc.plot(thresholds=thresholds)), "predictive": png(predictive_figure(fc, thresholds, path))}
    if check is not None:
        figures["residuals"] = png(residual_figure(fc, check, path))
    sections = build_sections(fc, thresholds, verdict, check)
    if suffix == ".md":
        names = {}
        for key, data in figures.items():
            figure_path = path.with_name(f"{path.stem}_{key}.png")
            figure_path.write_bytes(data)
            names[key] = figure_path.name
        path.write_text(render_markdown(sections, names), encoding="utf-8")
    else:
        path.write_text(render_html(sections, figures), encoding="utf-8")
    return path
