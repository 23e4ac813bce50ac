"""Peak dense bf16 FLOP/s of known accelerators, for model FLOPs utilisation (MFU).

MFU = achieved model FLOP/s (FLOPs per token × tokens per second) / peak. The peak is
looked up by the CUDA device name; on a device not in the table (and on CPU) MFU is left
out rather than guessed.
"""

from __future__ import annotations

__all__ = ["PEAK_BF16_FLOPS", "peak_flops"]

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
