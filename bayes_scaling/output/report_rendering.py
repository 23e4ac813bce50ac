"""The report's two formats: self-contained HTML and Markdown, from the same blocks.

``_blocks`` lays the sections out in reading order once; ``render_html`` and
``render_markdown`` each turn those blocks into their format, so the two cannot drift apart.
"""

from __future__ import annotations

import base64
import html
import re

import numpy as np
import pandas as pd

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


def render_html(sections: dict, figures: dict, blocks: list | None = None) -> str:
    """The page; ``blocks`` (default: a forecast report's, from ``sections``) in reading order."""
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
            *[render(block) for block in (_blocks(sections) if blocks is None else blocks)],
            f"<footer><h2>Reproducibility</h2><table>{footer}</table></footer></body></html>",
        ]
    )


def render_markdown(sections: dict, figure_names: dict, blocks: list | None = None) -> str:
    """The Markdown text; ``blocks`` as for ``render_html``."""
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

    blocks = _blocks(sections) if blocks is None else blocks
    parts = [f"# {sections['title']}", *[render(block) for block in blocks], "## Reproducibility"]
    parts.append("\n".join(f"- **{k}**: {v}" for k, v in sections["footer"]))
    return "\n\n".join(parts) + "\n"