"""Risk-review reports: self-contained HTML that a real browser renders, and Markdown."""

from __future__ import annotations

import html
import re
import shutil
import subprocess

import numpy as np
import pytest

import bayes_scaling as bs
from bayes_scaling.formatting import format_probability, format_ratio

# a forecast that repeats an earlier NUTS run (same data, seed and settings) gets its draws: conftest.py;
# in a whole session example_forecast's self-backtest refit repeats tests/test_backtest.py's example_backtest
pytestmark = pytest.mark.usefixtures("reused_fits")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(html_path, png_path):
    """Render a page in headless Chromium, as the CI machine has it (Debian's package)."""
    subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={png_path.parent / 'profile'}", "--hide-scrollbars", "--window-size=1100,2400",
            f"--screenshot={png_path}", html_path.as_uri(),
        ],
        check=True, capture_output=True, timeout=120,
    )
    import matplotlib.image

    return matplotlib.image.imread(png_path)[..., :3]


def bluish_fraction(pixels) -> float:
    return float((pixels[..., 2] - pixels[..., 0] > 0.15).mean())


def test_html_report_is_self_contained_and_complete(example_forecast, tmp_path):
    path = example_forecast.report(tmp_path / "review.html", thresholds=[2.1, 2.2])
    text = path.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), "the report must not load anything"
    assert "<script" not in text
    assert len(re.findall(r'<img id="\w+" alt="[^"]+" src="data:image/png;base64,', text)) == 3
    for heading in ("Threshold probabilities", "Fan chart", "Track record at this distance",
                    "Posterior-predictive check of the fitted runs", "Self-backtest on this ladder", "Caveats",
                    "Fitted runs", "Posterior of the parameters", "Priors", "Reproducibility"):
        assert heading in text
    assert example_forecast.settings["data_sha256"] in text
    p = float(np.atleast_1d(example_forecast.prob_below(2.1))[0])
    assert format_probability(p) in text
    assert "333×" in text
    # the verdict opens the page, before the lead: not the sampler's traffic light alone
    level = example_forecast.verdict().level
    assert text.index(f'data-verdict="{level}"') < text.index("Fitted the ")
    assert "Sampler: trustworthy" not in text


def test_markdown_report_writes_figures_beside_it(example_forecast, tmp_path):
    path = example_forecast.report(tmp_path / "review.md", thresholds=2.1)
    text = path.read_text()
    names = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(names) == 3, names  # the HTML page's three figures: without this the loop below could check none
    for name in names:
        assert (tmp_path / name).stat().st_size > 5_000
    assert "| target compute |" in text.replace("  ", " ") or "target compute" in text
    assert "## Reproducibility" in text


def test_unhealthy_forecast_says_so(example, tmp_path):
    """The sampler's failure opens the page; the report skips the self-backtest (its refit of a new shape is not
    the subject here, and the sampler's finding alone sets do-not-rely)."""
    with pytest.warns(bs.SamplerWarning):
        fc = bs.forecast(example, target=1e21, draws=30, tune=30, seed=0, progress=False)
    text = fc.report(tmp_path / "bad.html", self_backtest=False).read_text()
    assert 'data-verdict="do-not-rely"' in text and "Sampler diagnostics failed" in text and "run more" in text


def test_every_interval_on_the_page_is_90_percent_equal_tailed(example_forecast, tmp_path):
    text = example_forecast.report(tmp_path / "review.md", self_backtest=False).read_text()
    assert "hdi_" not in text and "94%" not in text
    table = example_forecast.parameters(kind="stats", stat_focus="median", hdi_prob=0.9, round_to="none")
    b = example_forecast.idata.posterior["b"].to_numpy().ravel()
    assert table.loc["b", "eti_5%"] == pytest.approx(np.quantile(b, 0.05), rel=1e-2)
    assert f"{table.loc['b', 'eti_5%']:.4g}" in text  # the report's lower_90 of b, unrounded


def test_probabilities_beyond_the_draws_resolution_are_bounded():
    assert format_probability(1.0) == "> 99.9%" and format_probability(0.9996) == "> 99.9%"
    assert format_probability(0.0) == "< 0.1%" and format_probability(0.0004) == "< 0.1%"
    assert format_probability(0.805) == "80.5%"
    assert format_ratio(1e20) == "1e+20×" and format_ratio(3.3e5) == "3.3e+5×" and format_ratio(333.3) == "333×"


def test_a_far_threshold_is_not_printed_as_a_certainty(example_forecast, tmp_path):
    text = html.unescape(example_forecast.report(tmp_path / "review.html", thresholds=[3.5], self_backtest=False).read_text())
    assert "100.0%" not in text and "0.0%" not in text.replace("100.0%", "")
    assert "> 99.9%" in text and "< 0.1%" in text


def _fan_axes(fig):
    return fig.axes[0]


def test_fan_chart_draws_the_thresholds(example_forecast):
    fig = example_forecast.plot(thresholds=[2.1, 2.2])
    flat = [line for line in _fan_axes(fig).lines if np.ptp(line.get_ydata()) == 0 and len(line.get_ydata()) == 2]
    assert sorted(float(line.get_ydata()[0]) for line in flat) == [2.1, 2.2]


def test_fan_chart_draws_runs_measured_after_the_forecast(example_forecast):
    import pandas as pd

    later = pd.DataFrame({"compute": [1e21, 1e22], "loss": [2.15, 2.05]})
    fig = example_forecast.plot(actual=later)
    stars = [c for c in _fan_axes(fig).collections if c.get_label() == "measured after the forecast"]
    assert len(stars) == 1 and np.allclose(stars[0].get_offsets(), later.to_numpy())
    with pytest.raises(ValueError, match="actual needs the columns 'compute' and 'loss'; it has no 'loss'"):
        example_forecast.plot(actual=later.rename(columns={"loss": "val_loss"}))


def test_fan_chart_bands_read_apart_in_grey(example_forecast):
    """In grey print the 50% band must be clearly darker than the 90%-only band beside it."""
    import matplotlib.pyplot as plt

    from bayes_scaling.output.plotting import predict_on_grid

    fig = example_forecast.plot()
    ax = _fan_axes(fig)
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3] / 255.0
    grey = pixels @ np.array([0.299, 0.587, 0.114])
    x = float(example_forecast.targets[-1]) / 1.6  # left of the last target: only the bands are drawn there
    draws = predict_on_grid(example_forecast, np.array([x]))["loss"].reshape(-1)
    q50, q75, q95 = np.quantile(draws, [0.5, 0.75, 0.95])
    height = fig.canvas.get_width_height()[1]
    band = {}
    for name, y in (("50%", (q50 + q75) / 2), ("90%", (q75 + q95) / 2)):
        px, py = ax.transData.transform((x, y))
        band[name] = float(grey[height - int(round(py)), int(round(px))])
    plt.close(fig)
    assert band["90%"] - band["50%"] > 0.25, band


def test_report_refuses_unknown_formats(example_forecast, tmp_path):
    with pytest.raises(ValueError, match=r"\.html or \.md"):
        example_forecast.report(tmp_path / "review.pdf")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)")
def test_html_report_renders_with_its_figures_in_chromium(example_forecast, tmp_path):
    page = example_forecast.report(tmp_path / "review.html", thresholds=[2.1])
    pixels = screenshot(page, tmp_path / "shot.png")
    assert pixels.std() > 0.05  # not a blank page
    with_figures = bluish_fraction(pixels)
    # the same page with its images removed: the blue comes from the figures
    stripped = tmp_path / "stripped.html"
    stripped.write_text(re.sub(r"<img [^>]+>", "", page.read_text()))
    without = bluish_fraction(screenshot(stripped, tmp_path / "stripped.png"))
    assert with_figures > 0.01 and without < 0.001, (with_figures, without)


def test_every_law_names_its_formula_and_assumption_for_the_report():
    from bayes_scaling.laws import LAWS

    for law in LAWS.values():
        assert isinstance(law.formula, str) and law.formula, law.name
        assert isinstance(law.assumption, str) and law.assumption, law.name
    assert LAWS["chinchilla"].formula == "L(N, D) = E + A/N^α + B/D^β"


def test_html_tables_put_numbers_right_and_text_left(example_forecast, tmp_path):
    text = example_forecast.report(tmp_path / "review.html").read_text()
    assert "<td>loss_ref</td>" in text and "<td>Prior(" in text  # names, priors and reasons read left to right
    assert re.search(r'<td class="num">2\.\d+</td>', text)  # numbers line up on the right
    assert re.search(r'<td class="num">1\.\d{3}</td></tr>', text)  # r_hat to three decimals, never a bare "1"
    assert "text-align: right; }" in text and "td.num" in text
