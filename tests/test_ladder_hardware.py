"""The CPU's peak FLOP/s is computed from what /proc/cpuinfo says, and a dry run on CPU
estimates each rung's time from steps measured here."""

from __future__ import annotations

import pytest

from bayes_scaling.ladder.hardware import cpu_peak_flops

ZEN4 = "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\ncpu MHz\t\t: 2596.146\nflags\t\t: fpu fma avx2 avx512f avx512_bf16\n"
INTEL = "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\ncpu MHz\t\t: 2000.000\nflags\t\t: fpu fma avx2 avx512f amx_bf16\n"
OLD = "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 63\ncpu MHz\t\t: 2500.000\nflags\t\t: fpu fma avx2\n"


@pytest.mark.parametrize("cpuinfo, per_core_cycle", [(ZEN4, 32), (INTEL, 64), (OLD, 32)])
def test_peak_is_cores_times_fma_width_times_clock(cpuinfo, per_core_cycle):
    peak, how = cpu_peak_flops(cpuinfo, cores=2)
    mhz = float(cpuinfo.split("cpu MHz\t\t: ")[1].split("\n")[0])
    assert peak == pytest.approx(2 * per_core_cycle * mhz * 1e6)
    assert f"{peak / 1e9:.0f} GFLOP/s" in how and "2 cores" in how


def test_no_peak_without_a_clock_or_fma():
    assert cpu_peak_flops("vendor_id\t: Other\nflags\t\t: fpu\n", cores=2) is None
    assert cpu_peak_flops("flags\t\t: fma\n", cores=2) is None


def test_a_dry_run_on_cpu_estimates_time_from_measured_steps(tmp_path, capsys):
    pytest.importorskip("torch")
    from bayes_scaling.cli import main

    (tmp_path / "ladder.toml").write_text(
        "[corpus]\nvocab_size = 300\n[training]\nseq_len = 16\nbatch_size = 4\ntokens = 6400\n"
        "[[rungs]]\nname = 'a'\nd_model = 16\nn_layer = 1\nn_head = 2\n"
        "[[rungs]]\nname = 'b'\nd_model = 32\nn_layer = 2\nn_head = 2\n")
    assert main(["ladder", "run", str(tmp_path / "ladder.toml"), "--dry-run", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "unknown" not in out and "measured here on" in out
    times = [line.split()[-2:] for line in out.splitlines() if line.strip().startswith(("a ", "b "))]
    assert len(times) == 2 and all(unit in ("s", "min", "h") and float(value) >= 0 for value, unit in times)
