"""Peak FLOP/s of the device a rung trains on, for model FLOPs utilisation (MFU), and a probe.

MFU = achieved model FLOP/s (FLOPs per token × tokens per second) / peak. On CUDA the peak
(dense bf16) is looked up by the device name; on a device not in the table MFU is left out
rather than guessed. On CPU the peak is computed from what the CPU reports (``cpu_peak_flops``).
``measure_step_seconds`` times a few optimizer steps of a rung, so a dry run on a machine with
no GPU still estimates its training time from this machine's real speed.
"""

from __future__ import annotations

import os
import re
import time

__all__ = ["PEAK_BF16_FLOPS", "cpu_peak_flops", "measure_step_seconds", "peak_flops"]

# Dense (no sparsity) bf16 tensor-core peaks from the vendors' datasheets, SXM parts.
PEAK_BF16_FLOPS = {
    "H200": 989e12,
    "H100": 989e12,
    "A100": 312e12,
}


def peak_flops(device) -> float | None:
    """Peak bf16 FLOP/s of one ``device`` (a torch.device or string), or None when unknown."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, peak in PEAK_BF16_FLOPS.items():
        if key in name:
            return peak
    return None


# float32 multiply-adds per cycle and core: AVX-512 cores with two 512-bit FMA units do 32;
# AMD Zen 4 runs AVX-512 on two 256-bit FMA pipes, 16 (its family 25, models >= 0x10).
_FMA_PER_CYCLE = {"avx512": 32, "zen4": 16, "avx2": 16}


def _bf16_peak(flags: set[str]) -> str:
    """What bf16 can reach beside the fp32 peak: AVX-512 BF16 does two products per fp32 lane;
    AMX tiles do 1,024 bf16 FLOPs per cycle and core, 16x AVX-512's fp32 rate (torch's oneDNN
    kernels use them, so a share of the fp32 peak above 100% is possible there)."""
    if "amx_bf16" in flags:
        return "(bf16: twice that through AVX-512 BF16, 16x through AMX tiles)"
    if "avx512_bf16" in flags:
        return "(bf16: twice that)"
    return "(no bf16 instructions: bf16 is emulated)"


def cpu_peak_flops(cpuinfo: str | None = None, cores: int | None = None) -> tuple[float, str] | None:
    """(peak float32 FLOP/s of the cores this process may use, how it was computed), or None off Linux x86.

    peak = cores × fp32 FMAs per cycle per core × 2 FLOPs per FMA × clock (the MHz the kernel
    reports: the base clock on a VM, so the peak is a floor if the cores boost). bf16 through
    AVX-512 BF16 does two products per fp32 lane: its peak is twice this one (AMX tiles: 16x,
    ``_bf16_peak``); a CPU without bf16 instructions emulates it (``precision.emulated_bf16_note``).
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as handle:
                cpuinfo = handle.read()
        except OSError:
            return None
    fields = dict(re.findall(r"^([^\t:]+)\s*:\s*(.*)$", cpuinfo.split("\n\n")[0], flags=re.M))
    try:
        mhz, flags = float(fields["cpu MHz"]), set(fields.get("flags", "").split())
    except (KeyError, ValueError):
        return None
    zen4 = fields.get("vendor_id") == "AuthenticAMD" and fields.get("cpu family") == "25" and int(fields.get("model", 0)) >= 0x10
    kind = "zen4" if zen4 and "avx512f" in flags else "avx512" if "avx512f" in flags else "avx2" if "fma" in flags else None
    if kind is None:
        return None
    cores = cores or len(os.sched_getaffinity(0))
    per_cycle = _FMA_PER_CYCLE[kind]
    peak = cores * per_cycle * 2 * mhz * 1e6
    how = (f"{cores} cores x {per_cycle} fp32 FMA/cycle ({'AMD Zen 4, AVX-512 on 256-bit pipes' if kind == 'zen4' else kind}) "
           f"x 2 FLOP x {mhz / 1000:.2f} GHz = {peak / 1e9:.0f} GFLOP/s fp32 "
           + _bf16_peak(flags))
    return peak, how


PROBE_ROWS = 16  # sequences per timed forward-backward: a big rung's full batch would not fit a laptop


def measure_step_seconds(rung, device="cpu", steps: int = 3, warmup: int = 2) -> float:
    """Seconds per optimizer step of ``rung`` on ``device``: ``warmup`` untimed steps, then ``steps`` timed ones.

    The steps are the trainer's (its model, autocast, AdamW, clipping) on random tokens: the
    time depends on the shapes, not on the text. At most ``PROBE_ROWS`` sequences are run per
    step and the time is scaled to the rung's batch (time grows linearly with the rows).
    """
    import torch

    from bayes_scaling.ladder.model import GPT
    from bayes_scaling.ladder.precision import autocast_context

    config, training = rung.model_config(), rung.training
    torch.manual_seed(0)
    model = GPT(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=training["learning_rate"])
    rows = min(PROBE_ROWS, training["micro_batch_size"] or training["batch_size"])
    tokens = torch.randint(0, config.vocab_size, (rows, config.seq_len + 1), device=device)

    def step():
        with autocast_context(device, training["precision"]):
            _, loss = model(tokens[:, :-1], tokens[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps * training["batch_size"] / rows
