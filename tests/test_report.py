"""Risk-review reports: self-contained HTML that a real browser renders, and Markdown."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

import bayes_scaling as bs

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
    assert len(re.findall(r'<img id="\w+" alt="[^"]+" src="data:image/png;base64,', text)) == 2
    for heading in ("Threshold probabilities", "Fan chart", "Caveats", "Fitted runs", "Posterior of the parameters", "Priors", "Reproducibility"):
        assert heading in text
    assert example_forecast.settings["data_sha256"] in text
    p = float(np.atleast_1d(example_forecast.prob_below(2.1))[0])
    assert f"{p:.1%}" in text
    assert "Sampler: trustworthy" in text and "333×" in text


def test_markdown_report_writes_figures_beside_it(example_forecast, tmp_path):
    path = example_forecast.report(tmp_path / "review.md", thresholds=2.1)
    text = path.read_text()
    for name in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (tmp_path / name).stat().st_size > 5_000
    assert "| target compute |" in text.replace("  ", " ") or "target compute" in text
    assert "## Reproducibility" in text


def test_unhealthy_forecast_says_so(example, tmp_path):
    with pytest.warns(bs.SamplerWarning):
        fc = bs.forecast(example, target=1e21, draws=30, tune=30, seed=0, progress=False)
    text = fc.report(tmp_path / "bad.html").read_text()
    assert "NOT trustworthy" in text and "run more" in text


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
        assert isinstance(law.FORMULA, str) and law.FORMULA, law.NAME
        assert isinstance(law.ASSUMPTION, str) and law.ASSUMPTION, law.NAME
    assert LAWS["chinchilla"].FORMULA == "L(N, D) = E + A/N^α + B/D^β"
