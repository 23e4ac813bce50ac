"""The precision a rung's steps run in, and whether this machine runs it natively.

A ladder's ``precision`` is part of its recipe (every rung trains the same way), so it is
never changed behind the user's back. But bf16 autocast on a CPU without bf16 instructions
(AVX-512 BF16 or AMX) is emulated: measured on a 2-core AMD Zen 3 (AVX2 only) with
``measure_step_seconds``, a step took 1.3x (d36-l2), 2.3x (d68-l3) and 4.1x (d144-l5) the
float32 time of the same rung, where the Zen 4 machine that trained ``models/cpu-ladder``
ran it 1.2-1.4x *faster* than float32. ``emulated_bf16_note`` says so before a run starts.
"""

from __future__ import annotations

__all__ = ["EmulatedBf16Warning", "autocast_context", "emulated_bf16_note", "native_cpu_bf16", "uses_bf16"]


class EmulatedBf16Warning(UserWarning):
    """A CPU rung is about to train in bf16 that this CPU can only emulate (slowly)."""


def uses_bf16(device, precision: str) -> bool:
    """Whether ``precision`` means bf16 autocast on ``device``: on CUDA unless ``fp32``; on CPU only when ``bf16``."""
    import torch

    device = torch.device(device)
    return precision == "bf16" or (precision == "auto" and device.type == "cuda")


def autocast_context(device, precision: str):
    """The autocast a rung's steps run under (see ``uses_bf16``)."""
    import torch

    device = torch.device(device)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=uses_bf16(device, precision))


def native_cpu_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX-512 BF16 or AMX tiles) that torch's kernels use."""
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def emulated_bf16_note(device, precision: str) -> str | None:
    """One sentence when a CPU run would emulate bf16 (slow), naming the way out; else None.

    ``device=None`` is the trainer's default: CUDA when there is one, else the CPU."""
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if torch.device(device).type != "cpu" or not uses_bf16("cpu", precision) or native_cpu_bf16():
        return None
    return ("this CPU has no bf16 instructions (AVX-512 BF16 or AMX), so the recipe's precision = \"bf16\" is "
            "emulated and runs 1.3-4x slower than float32 (more on larger rungs); train on a CPU that has them, "
            "or set precision = \"fp32\" in [training] for a new ladder (every rung of one ladder must use the same)")
