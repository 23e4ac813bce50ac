"""Timing compiled log densities against each other on a shared, noisy machine: the variants take
turns in every round and each reports its median round, so load falls on all of them alike and
their ratio means something even when the absolute times do not."""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from pymc.sampling.jax import get_jaxified_graph


def log_density_gradient(model):
    """The model's log density and gradient as one compiled JAX function, and the model's initial
    point as its arguments; traced here (JAX traces on the first call), inside the caller's context."""
    point = model.initial_point()
    values = [jnp.asarray(point[v.name]) for v in model.value_vars]
    logp = get_jaxified_graph(inputs=model.value_vars, outputs=[model.logp()])
    gradient = jax.jit(jax.value_and_grad(lambda *v: logp(*v)[0], argnums=tuple(range(len(values)))))
    jax.block_until_ready(gradient(*values))
    return gradient, values


def interleaved_microseconds(functions: dict, repeats: int = 7, calls: int = 100) -> dict:
    """``functions``: name -> (function, its arguments). The median over ``repeats`` rounds of the
    mean time of one call, in µs, per name."""
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, (function, arguments) in functions.items():
            start = time.perf_counter()
            for _ in range(calls):
                out = function(*arguments)
            jax.block_until_ready(out)
            times[name].append((time.perf_counter() - start) / calls * 1e6)
    return {name: float(np.median(values)) for name, values in times.items()}
