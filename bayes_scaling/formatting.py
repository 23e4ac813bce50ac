"""Numbers as a reviewer reads them: distances beyond the data, probabilities from draws, where data came from."""

from __future__ import annotations

import numpy as np

RESOLUTION = 0.001  # probabilities nearer than this to 0 or 1 are printed as "< 0.1%" / "> 99.9%"


def format_ratio(ratio: float) -> str:
    """``3.3×``, ``333×``; past 10^4 in scientific notation (``1e+20×``, not 100,000,000,000,000,000,000×)."""
    if ratio >= 1e4:
        mantissa, exponent = f"{ratio:.1e}".split("e")
        return f"{mantissa.removesuffix('.0')}e{int(exponent):+d}×"
    if ratio >= 10:
        return f"{ratio:,.0f}×"
    return f"{ratio:.2g}×"


def format_probability(p: float) -> str:
    """``80.5%``; ``> 99.9%`` and ``< 0.1%`` beyond what the draws resolve (never "100.0%" or "0.0%")."""
    p = float(p)
    if not np.isfinite(p):
        return "n/a"
    if p > 1 - RESOLUTION:
        return "> 99.9%"
    if p < RESOLUTION:
        return "< 0.1%"
    return f"{p:.1%}"


def describe_provenance(provenance: dict) -> str:
    """One line: the source, the file's sha256 (or that there is no file), and the note."""
    source, file_hash = provenance["source"], provenance.get("file_sha256")
    where = f"{source} (file sha256 {file_hash[:12]})" if file_hash else f"{source} (no file: its sha256 is unknown)"
    return where + (f"; {provenance['note']}" if provenance.get("note") else "")
