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
"""

from __future__ import annotations

import base64
import html
import io
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_scaling.checks import fit_check
from bayes_scaling.output.formatting import describe_provenance, format_probability, format_ratio
from bayes_scaling.intervals import central_interval
from bayes_scaling.checks.curvature import describe as describe_curvature
from bayes_scaling.laws import get_law
from bayes_scaling.checks.trend_reversal import REVERSAL_PROB, describe

# GPT-4's loss prediction extrapolated 1,000-10,000x; past that, say so louder.
_FAR = 1e4
_FEW_POINTS = 5
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
    figures = {"fan_chart": _png(fc.plot(thresholds=thresholds)), "predictive": _png(_predictive_figure(fc, thresholds))}
    if check is not None:
        figures["residuals"] = _png(_residual_figure(fc, check))
    sections = _sections(fc, thresholds, verdict, check)
    if suffix == ".md":
        names = {}
        for key, data in figures.items():
            figure_path = path.with_name(f"{path.stem}_{key}.png")
            figure_path.write_bytes(data)
            names[key] = figure_path.name
        path.write_text(_markdown(sections, names), encoding="utf-8")
    else:
        path.write_text(_html(sections, figures), encoding="utf-8")
    return path


# -- content, independent of the format ----------------------------------------------------


def _sections(fc, thresholds, verdict, check) -> dict:
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
        default_text, reason = law.prior_reasons.get(name, (None, ""))
        rows.append({"parameter": name, "prior": text, "why": reason if text == default_text else "set by the user"})
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


# -- figures ---------------------------------------------------------------------------------


def _predictive_figure(fc, thresholds):
    from matplotlib.figure import Figure

    draws = fc.draws("predictive")
    quantity = fc.quantities[0]
    fig = Figure(figsize=(4.2 * len(fc.targets), 3.2), dpi=110)
    axes = fig.subplots(1, len(fc.targets), squeeze=False)
    for ax, column, compute in zip(axes[0], draws.T, fc.targets):
        ax.hist(column, bins=60, color="tab:blue", alpha=0.7)
        lo, hi = central_interval(column, 0.9)
        ax.axvspan(lo, hi, color="tab:blue", alpha=0.12, label="90% interval")
        ax.axvline(np.median(column), color="tab:blue", lw=2, label="median")
        for threshold in thresholds:
            ax.axvline(threshold, color="tab:red", ls="--", lw=1.5)
            ax.text(threshold, ax.get_ylim()[1] * 0.92, f" {threshold:g}", color="tab:red", fontsize=8)
        ax.set_title(f"C = {compute:.3g} FLOPs", fontsize=10)
        ax.set_xlabel(f"{quantity} of one new run" + (" (all kept problems)" if fc.bucket_labels else ""))
        ax.set_yticks([])
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def _residual_figure(fc, check: pd.DataFrame):
    """The posterior-predictive check: each fitted run's residual from the median curve, with the
    90% predictive interval of one run there, against compute."""
    from matplotlib.figure import Figure

    quantity = get_law(fc.law).observed
    fig = Figure(figsize=(7.5, 3.2), dpi=110)
    ax = fig.subplots()
    scale = check["median"].to_numpy()
    lower = (check["lower_90"].to_numpy() / scale - 1) * 100
    upper = (check["upper_90"].to_numpy() / scale - 1) * 100
    order = np.argsort(check["compute"].to_numpy())
    compute = check["compute"].to_numpy()[order]
    ax.fill_between(compute, lower[order], upper[order], color="tab:blue", alpha=0.2, lw=0, label="90% interval of one run")
    ax.axhline(0, color="tab:blue", lw=1.5, label="median curve")
    inside = check["inside_90"].to_numpy()
    ax.scatter(check["compute"][inside], check["residual_pct"][inside], color="black", s=18, zorder=3, label="run, inside")
    ax.scatter(check["compute"][~inside], check["residual_pct"][~inside], color="tab:red", marker="x", s=30, zorder=3,
               label="run, outside")
    ax.set_xscale("log")
    ax.set_xlabel("training compute C (FLOPs)")
    ax.set_ylabel(f"{quantity}: observed / curve − 1 (%)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    if fig.canvas.manager is not None:  # a pyplot figure (fc.plot's): let pyplot forget it
        import matplotlib.pyplot as plt

        plt.close(fig)
    return buffer.getvalue()


# -- formats ---------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } th.num, td.num { text-align: right; }
.verdict { padding: 0.7em 1em; border-radius: 6px; margin: 1em 0; }
.verdict p { margin: 0.3em 0; } .verdict table { background: #fff; }
.ready { background: #e8f5e9; border: 2px solid #2e7d32; } .caution { background: #fff8e1; border: 2px solid #ef8f00; }
.do-not-rely { background: #ffebee; border: 2px solid #c62828; }
.level { font-weight: bold; white-space: nowrap; } td.level-ready { color: #2e7d32; } td.level-caution { color: #a65c00; }
td.level-do-not-rely { color: #c62828; }
img { max-width: 100%; } footer { margin-top: 2em; font-size: 0.8em; color: #555; }
"""


_VERDICT_WORDS = {
    "ready": "ready — nothing found that makes this forecast unfit for a decision",
    "caution": "caution — usable with the reasons below in mind",
    "do-not-rely": "do not rely on this forecast",
}


def _blocks(sections: dict) -> list[tuple]:
    """The report body in reading order, independent of the format that renders it."""
    blocks = [("verdict", sections["verdict"]), ("text", sections["lead"]), ("table", sections["targets"])]
    if sections["probabilities"] is not None:
        blocks += [("heading", "Threshold probabilities"), ("table", sections["probabilities"])]
    blocks += [
        ("heading", "Fan chart"),
        ("image", "fan_chart", "fan chart: fitted runs, median and 50%/90% bands out to the targets, thresholds"),
        ("heading", "Predictive distribution at each target"),
        ("image", "predictive", "histograms of the predictive draws at each target"),
        ("heading", "Track record at this distance"),
        ("text", sections["track_record"].describe()),
    ]
    record = sections["track_record"].summary()
    if len(record):
        blocks += [("table", record), ("text", "Measured by benchmarks/backtests.py on public ladders (docs/backtesting.md); "
                                       "each forecast held out real runs beyond the fitted ones.")]
    blocks.append(("heading", "Posterior-predictive check of the fitted runs"))
    check = sections["check"]
    if check is None:
        blocks.append(("text", "Not available for this law: it is fitted to per-problem counts, not to the quantity it forecasts."))
    else:
        inside = int(check["inside_90"].sum())
        blocks += [
            ("text", f"{inside} of {len(check)} fitted runs lie inside the 90% predictive interval of one run at their compute "
                     "(about 90% expected). Residuals are observed / median curve − 1."),
            ("image", "residuals", "residuals of the fitted runs from the median curve, with the 90% interval of one run"),
            ("table", check.drop(columns=["z"]).rename(columns={"median": "median curve", "residual_pct": "residual %"})),
        ]
    blocks.append(("heading", "Self-backtest on this ladder"))
    finding = next(f for f in sections["verdict"].findings if f.check == "self-backtest")
    blocks.append(("text", finding.text))
    if sections["self_backtest"] is not None:
        blocks.append(("table", sections["self_backtest"]))
    return blocks + [
        ("heading", "Caveats"),
        ("list", sections["caveats"]),
        ("heading", "Fitted runs"),
        ("table", sections["data"]),
        ("heading", "Posterior of the parameters (median and 90% equal-tailed interval)"),
        ("table", sections["parameters"]),
        ("heading", "Priors"),
        ("table", sections["priors"]),
    ]


_NUM = ' class="num"'
_COLUMN_FORMATS = {"r_hat": "{:.3f}".format}  # 1.000, not "1" beside 1.001


_NUMBER_TEXT = re.compile(r"^(?:[<>]\s*)?[-+−]?\d|^(?:—|n/a)$")  # "2.37 – 2.41", "3×", "80% (4 of 5)", "> 99.9%"


def _numeric(column: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(column):
        return True
    return len(column) > 0 and all(
        isinstance(v, (int, float, np.number)) or (isinstance(v, str) and _NUMBER_TEXT.match(v)) for v in column
    )


def _html_table(frame: pd.DataFrame) -> str:
    """A plain table: numbers (and True/False) right-aligned to compare down a column, text left-aligned to read."""
    numeric = [_numeric(frame[column]) for column in frame.columns]

    def cell(tag: str, text: str, num: bool) -> str:
        return f"<{tag}{_NUM if num else ''}>{html.escape(text)}</{tag}>"

    def show(value, column) -> str:
        if isinstance(value, (float, np.floating)):
            return "NaN" if np.isnan(value) else _COLUMN_FORMATS.get(column, "{:.4g}".format)(value)
        return str(value)

    head = "".join(cell("th", str(column), num) for column, num in zip(frame.columns, numeric))
    body = "".join(
        "<tr>" + "".join(cell("td", show(value, column), num) for value, column, num in zip(row, frame.columns, numeric)) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(sections: dict, figures: dict) -> str:
    def render(block) -> str:
        kind = block[0]
        if kind == "text":
            return f"<p>{html.escape(block[1])}</p>"
        if kind == "heading":
            return f"<h2>{html.escape(block[1])}</h2>"
        if kind == "table":
            return _html_table(block[1])
        if kind == "verdict":
            verdict = block[1]
            rows = "".join(
                f'<tr><td class="level level-{f.level}">{f.level}</td><th>{html.escape(f.check)}</th><td>{html.escape(f.text)}</td></tr>'
                for f in verdict.findings
            )
            return (
                f'<section class="verdict {verdict.level}" data-verdict="{verdict.level}">'
                f"<p><strong>Verdict: {html.escape(_VERDICT_WORDS[verdict.level])}.</strong></p>"
                + "".join(f"<p>{html.escape(reason)}</p>" for reason in verdict.reasons if verdict.level != "ready")
                + f"<table>{rows}</table></section>"
            )
        if kind == "image":
            _, key, alt = block
            data = base64.b64encode(figures[key]).decode("ascii")
            return f'<img id="{key}" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
        return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in block[1]) + "</ul>"

    title = html.escape(sections["title"])
    footer = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in sections["footer"])
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{title}</title><style>{_CSS}</style></head><body>",
            f"<h1>{title}</h1>",
            *[render(block) for block in _blocks(sections)],
            f"<footer><h2>Reproducibility</h2><table>{footer}</table></footer></body></html>",
        ]
    )


def _markdown(sections: dict, figure_names: dict) -> str:
    def render(block) -> str:
        kind = block[0]
        if kind == "text":
            return block[1]
        if kind == "heading":
            return f"## {block[1]}"
        if kind == "table":
            return block[1].to_markdown(index=False, floatfmt=".4g")
        if kind == "verdict":
            verdict = block[1]
            lines = [f"**Verdict: {_VERDICT_WORDS[verdict.level]}.**"]
            lines += [f"- **{f.check}** ({f.level}): {f.text}" for f in verdict.findings]
            return "\n".join(lines)
        if kind == "image":
            _, key, alt = block
            return f"![{alt}]({figure_names[key]})"
        return "\n".join(f"- {item}" for item in block[1])

    parts = [f"# {sections['title']}", *[render(block) for block in _blocks(sections)], "## Reproducibility"]
    parts.append("\n".join(f"- **{k}**: {v}" for k, v in sections["footer"]))
    return "\n\n".join(parts) + "\n"
