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


def test_the_peak_says_whether_bf16_is_native():
    assert "(bf16: twice that)" in cpu_peak_flops(ZEN4, cores=2)[1]
    assert "16x through AMX tiles" in cpu_peak_flops(INTEL, cores=2)[1]
    assert "AMX" not in cpu_peak_flops(ZEN4, cores=2)[1]
    assert "bf16 is emulated" in cpu_peak_flops(OLD, cores=2)[1]


@pytest.mark.parametrize("native, device, precision, warned", [
    (False, "cpu", "bf16", True),
    (False, None, "bf16", True),  # the trainer's default device where there is no GPU
    (False, "cpu", "fp32", False),
    (False, "cpu", "auto", False),  # auto is float32 on CPU
    (True, "cpu", "bf16", False),
])
def test_emulated_bf16_is_named_before_a_cpu_run(monkeypatch, native, device, precision, warned):
    torch = pytest.importorskip("torch")
    from bayes_scaling.ladder import precision as module

    monkeypatch.setattr(module, "native_cpu_bf16", lambda: native)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    note = module.emulated_bf16_note(device, precision)
    assert (note is not None) == warned
    if warned:
        assert "emulated" in note and 'precision = "fp32"' in note


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
    captured = capsys.readouterr()
    out = captured.out
    assert "unknown" not in out and "measured here on" in out
    assert "emulated" not in captured.err  # precision "auto" is float32 on CPU
    times = [line.split()[-2:] for line in out.splitlines() if line.strip().startswith(("a ", "b "))]
    assert len(times) == 2 and all(unit in ("s", "min", "h") and float(value) >= 0 for value, unit in times)


def test_a_bf16_dry_run_on_a_cpu_without_bf16_says_it_is_emulated(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch")
    from bayes_scaling.cli import main
    from bayes_scaling.ladder import precision

    monkeypatch.setattr(precision, "native_cpu_bf16", lambda: False)
    (tmp_path / "ladder.toml").write_text(
        "[corpus]\nvocab_size = 300\n[training]\nseq_len = 16\nbatch_size = 4\ntokens = 6400\nprecision = 'bf16'\n"
        "[[rungs]]\nname = 'a'\nd_model = 16\nn_layer = 1\nn_head = 2\n")
    assert main(["ladder", "run", str(tmp_path / "ladder.toml"), "--dry-run", "--device", "cpu"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("warning: this CPU has no bf16 instructions")


def test_run_ladder_warns_once_before_training_emulated_bf16(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from bayes_scaling.ladder import precision, runner

    monkeypatch.setattr(precision, "native_cpu_bf16", lambda: False)
    monkeypatch.setattr(runner, "_corpus_once", lambda rung, corpora: None)
    trained = []
    monkeypatch.setattr("bayes_scaling.ladder.trainer.train_rung", lambda rung, *a, **k: trained.append(rung.name) or {})
    (tmp_path / "ladder.toml").write_text(
        "[corpus]\nvocab_size = 300\n[training]\nseq_len = 16\nbatch_size = 4\ntokens = 6400\nprecision = 'bf16'\n"
        "[[rungs]]\nname = 'a'\nd_model = 16\nn_layer = 1\nn_head = 2\n"
        "[[rungs]]\nname = 'b'\nd_model = 32\nn_layer = 2\nn_head = 2\n")
    with pytest.warns(precision.EmulatedBf16Warning) as caught:
        runner.run_ladder(tmp_path / "ladder.toml", device="cpu", progress=False)
    assert trained == ["a", "b"] and len(caught) == 1


def test_ladder_run_prints_the_emulated_bf16_warning_as_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch")
    from bayes_scaling.cli import main
    from bayes_scaling.ladder import precision, runner

    monkeypatch.setattr(precision, "native_cpu_bf16", lambda: False)
    monkeypatch.setattr(runner, "_corpus_once", lambda rung, corpora: None)
    monkeypatch.setattr("bayes_scaling.ladder.trainer.train_rung", lambda rung, *a, **k: None)
    (tmp_path / "ladder.toml").write_text(
        "name = 'x'\n[corpus]\nvocab_size = 300\n[training]\nseq_len = 16\nbatch_size = 4\ntokens = 6400\nprecision = 'bf16'\n"
        "[[rungs]]\nname = 'a'\nd_model = 16\nn_layer = 1\nn_head = 2\n")
    assert main(["ladder", "run", str(tmp_path / "ladder.toml"), "--device", "cpu", "--no-progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [line for line in err if line.startswith("warning: ladder x: this CPU has no bf16 instructions")] and len(err) == 1
