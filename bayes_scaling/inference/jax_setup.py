"""JAX set up for sampling: host devices for parallel chains, float64, the compilation cache.

Its own module because it must run, once per process, before JAX starts its backend (XLA reads
its flags only then), and because what it changes in the user's process is a contract of its own
(``configure_jax`` says exactly what it sets); the sampler (``nuts.py``) calls it first thing, and
so does the check of a user's prior (``laws.resolve_priors``), which draws from it on JAX before
the sampler runs.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import jax

# numpyro runs chains in parallel on separate XLA host devices, as many as chains. Exactly the
# default four chains' worth: every idle host device makes each log-density call slower (the
# pass-rate model on Pythia's checkpoints, one logp + gradient: 8 devices 474 µs, 4 devices 336 µs,
# PyMC's 100 devices 707-773 µs).
MIN_HOST_DEVICES = 4
_HOST_DEVICE_COUNT = re.compile(r"--xla_force_host_platform_device_count=(\d+)")
_PYMC_HOST_DEVICES = "--xla_force_host_platform_device_count=100"  # what importing pymc.sampling.jax prepends
_configured = False


def user_host_devices(flags: str, pymc_jax_imported: bool) -> int | None:
    """The host device count the user set in ``XLA_FLAGS`` (XLA reads the last), or None.

    Importing ``pymc.sampling.jax`` puts PyMC's count of 100 in front of the flags: that one is
    nobody's choice, so where PyMC's JAX module is loaded a leading 100 is not counted."""
    tokens = flags.split()
    if pymc_jax_imported and tokens and tokens[0] == _PYMC_HOST_DEVICES:
        tokens = tokens[1:]
    counts = [int(count) for count in _HOST_DEVICE_COUNT.findall(" ".join(tokens))]
    return counts[-1] if counts else None


def configure_jax() -> None:
    """Set up JAX for sampling, once per process, just before a forecast first runs JAX.

    What it sets, and nothing else:
    - ``XLA_FLAGS``: ``--xla_force_host_platform_device_count=4`` (one host device per default
      chain), unless the user's own count is 4 or more (kept as it is: never lowered). Only
      while JAX's backend has not started; after that XLA would ignore it. (PyMC's JAX module,
      loaded after this, puts its own 100 in front, which XLA then ignores: it reads the last.)
    - ``jax_enable_x64``: PyMC's JAX path assumes float64.
    - ``jax_compilation_cache_dir``: ``$BAYES_SCALING_CACHE/jax`` (default
      ``~/.cache/bayes_scaling/jax``), with every compilation cached, unless a cache is already set
      or JAX had started before (then with devices this process did not choose).
    """
    global _configured
    if _configured:
        return
    _configured = True
    started = _backend_started()
    user = user_host_devices(os.environ.get("XLA_FLAGS", ""), "pymc.sampling.jax" in sys.modules)
    if (user is None or user < MIN_HOST_DEVICES) and not started:
        kept = _HOST_DEVICE_COUNT.sub("", os.environ.get("XLA_FLAGS", "")).split()
        os.environ["XLA_FLAGS"] = " ".join([*kept, f"--xla_force_host_platform_device_count={MIN_HOST_DEVICES}"])
    jax.config.update("jax_enable_x64", True)
    # Not where JAX started before us: its cache keys do not tell device counts apart, and an
    # executable cached by a 4-device process aborted XLA when a 1-device process loaded it (seen here).
    if jax.config.jax_compilation_cache_dir is None and not started:
        cache = Path(os.environ.get("BAYES_SCALING_CACHE", Path.home() / ".cache" / "bayes_scaling")) / "jax"
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def _backend_started() -> bool:
    """Whether JAX has created its devices (then XLA_FLAGS is read already). JAX's private API:
    where it is missing, assume not, and the device check in ``nuts._compile`` warns if it matters."""
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except (ImportError, AttributeError):
        return False

