"""NUTS on JAX for a PyMC model, compiled once per model shape.

This is the one module that runs the sampler; ``jax_setup.py`` sets JAX up for it and
``diagnostics.py`` says whether its draws can be trusted.

Why not a plain ``pm.sample(nuts_sampler="numpyro")`` on every call: PyMC bakes the
data into the JAX program as constants and builds a new numpyro ``MCMC`` each time, so
every forecast recompiles (3-4 s here, more than the sampling itself). Instead the
model's log density is turned into a JAX function by PyMC's own JAX linker with the
``pm.Data`` nodes as *arguments*, and numpyro's NUTS kernel (dense mass matrix,
step-size and mass adaptation, exactly what ``pm.sample`` runs) is compiled once per
(law, data shape, priors, settings). A second forecast with data of the same shape
reuses the compiled program; JAX's persistent compilation cache makes later
processes skip most of the compile too. The pointwise log-likelihood of every observation
(what ``az.loo`` reads) comes from the same compiled graph, vectorised over the draws,
instead of ``pm.compute_log_likelihood``'s loop over draws (~1 s per forecast here).
``sample_with_pymc`` keeps the plain
``pm.sample`` path for cross-checks.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from bayes_scaling.quiet import quietly

with quietly():  # the first import of PyMC and ArviZ when nuts is imported first
    import arviz as az
    import pymc as pm
from numpyro.infer.hmc import hmc
from pymc.initial_point import make_initial_point_expression
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant
from pytensor.graph.replace import graph_replace
from pytensor.graph.traversal import graph_inputs, io_toposort
from pytensor.tensor.random.type import RandomType
from bayes_scaling.inference.jax_setup import configure_jax
from bayes_scaling.progress import progress_bar

_MAX_CHUNK = 100  # sampler steps per compiled call: the progress bar's granularity
_WARMUP_STATS = ("n_steps", "step_size", "diverging", "acceptance_rate")  # kept per warm-up iteration


@dataclass(frozen=True)
class SamplerSettings:
    """How to run NUTS; separate from the model, as in pymc-marketing."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.8
    seed: int = 0
    progress: bool = True
    dense_mass: bool = True
    # Chains start up to this far (uniformly, in the unconstrained space) from the initial
    # point, as in PyMC; a law may ask for less (see the pass-rate law's jitter).
    jitter: float = 1.0
    # Keep the pointwise log-likelihood of every observation (for az.loo / az.compare).
    log_likelihood: bool = True

    def __post_init__(self):
        for name in ("draws", "tune", "chains"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < (0 if name == "tune" else 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must lie in (0, 1), got {self.target_accept!r}")




# ---------------------------------------------------------------------------------------
# The compiled sampler


@dataclass
class _Compiled:
    """JAX functions for one model structure, reusable across data of the same shape."""

    init: object  # (keys, z0, data) -> NUTS states, one per chain
    advance: object  # (states, data) -> (states, per-step stats over `chunk` steps)
    constrain: object  # (flat z draws, data) -> list of posterior arrays
    log_likelihood: object  # (flat z draws, data) -> pointwise log-likelihood per observed variable
    observed_names: list
    initial_point: object  # (data) -> list of transformed initial values
    value_shapes: list
    output_names: list
    chunk: int


_COMPILED: dict[tuple, _Compiled] = {}


def _data_nodes(model: pm.Model) -> list:
    return sorted(model.data_vars, key=lambda var: var.name)


def _structure_key(model: pm.Model, key: tuple, settings: SamplerSettings) -> tuple:
    data_shapes = tuple((var.name, np.shape(var.get_value())) for var in _data_nodes(model))
    values = tuple(var.name for var in model.value_vars)
    coords = tuple(sorted((name, len(labels)) for name, labels in model.coords.items()))
    return (key, _graph_fingerprint(model), data_shapes, values, coords, settings.draws, settings.tune, settings.chains,
            settings.target_accept, settings.dense_mass, settings.jitter, settings.log_likelihood)


def _graph_fingerprint(model: pm.Model) -> str:
    """A hash of the model's graph (random variables, deterministics, potentials): every operation, how they connect, and
    every constant in them (a law's option baked in as a number), but not the ``pm.Data`` values.

    Two models share a compiled sampler only if their fingerprints agree: a law whose option
    is a constant in the graph (two_step's ``floor`` once was) must not reuse a program
    compiled with another value of it and silently sample the wrong posterior.
    """
    # the generative graph holds every constant the log density does, and is far cheaper to walk
    outputs = list(model.basic_RVs) + list(model.deterministics) + list(model.potentials)
    digest = hashlib.sha256()
    ids: dict = {}

    def name_of(var) -> str:
        if var not in ids:
            ids[var] = len(ids)
            if isinstance(var, Constant):
                data = np.asarray(var.data)
                digest.update(f"const {var.type} {data.shape}".encode() + data.tobytes())
            else:
                digest.update(f"input {var.type} {getattr(var, 'name', '')}".encode())
        return str(ids[var])

    for var in graph_inputs(outputs):
        name_of(var)
    for node in io_toposort(list(graph_inputs(outputs)), outputs):
        props = tuple(getattr(node.op, prop) for prop in getattr(node.op, "__props__", ()))
        digest.update(f"{type(node.op).__name__}{props!r}({','.join(name_of(v) for v in node.inputs)})".encode())
        for out in node.outputs:
            name_of(out)
    return digest.hexdigest()


def _chunk_size(tune: int, draws: int) -> int:
    """The largest step count <= _MAX_CHUNK that divides both tune and draws."""
    common = math.gcd(tune, draws)
    return max(k for k in range(1, _MAX_CHUNK + 1) if common % k == 0)


def _compile(model: pm.Model, settings: SamplerSettings, data_values: list) -> _Compiled:
    from pymc.sampling.jax import get_jaxified_graph  # after configure_jax: it rewrites XLA_FLAGS

    data = _data_nodes(model)
    symbols = [var.type() for var in data]
    swap = dict(zip(data, symbols))
    (logp,) = graph_replace([model.logp()], swap, strict=False)
    logp_fn = get_jaxified_graph(inputs=model.value_vars + symbols, outputs=[logp])

    outputs = [var for var in model.unobserved_value_vars if not var.name.endswith("__")]
    constrained = graph_replace(outputs, swap, strict=False)
    constrain_fn = get_jaxified_graph(inputs=model.value_vars + symbols, outputs=constrained)
    observed = model.observed_RVs if settings.log_likelihood else []
    pointwise = graph_replace(model.logp(vars=observed, sum=False), swap, strict=False) if observed else []
    pointwise_fn = get_jaxified_graph(inputs=model.value_vars + symbols, outputs=pointwise) if observed else None

    start = make_initial_point_expression(
        free_rvs=model.free_RVs,
        rvs_to_transforms=model.rvs_to_transforms,
        initval_strategies=model.rvs_to_initial_values,  # a law may start from its data
        return_transformed=True,
    )
    # PyMC's initial-point expression holds copies of the data nodes, not the nodes themselves:
    # swap those by name, or every later forecast would start from the first data set's point
    by_name = {var.name: symbol for var, symbol in swap.items()}
    copies = {var: by_name[var.name] for var in graph_inputs(start) if isinstance(var, SharedVariable) and var.name in by_name}
    start = graph_replace(start, {**swap, **copies}, strict=False)
    _refuse_baked_data([logp, *constrained, *pointwise, *start], allowed=set(model.dim_lengths))
    start_fn = get_jaxified_graph(inputs=symbols, outputs=start)

    # shapes set by coords are symbolic in the graph: read them off the initial point
    shapes = [tuple(np.shape(value)) for value in start_fn(*data_values)]
    sizes = [int(np.prod(shape)) for shape in shapes]
    bounds = np.cumsum([0] + sizes)

    def unflatten(z):
        return [z[lo:hi].reshape(shape) for lo, hi, shape in zip(bounds[:-1], bounds[1:], shapes)]

    def potential_fn_gen(*data_values):
        return lambda z: -logp_fn(*unflatten(z), *data_values)[0]

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_fn_gen, algo="NUTS")
    chunk = _chunk_size(settings.tune, settings.draws)

    def init_chain(key, z0, data_values):
        return init_kernel(
            z0,
            num_warmup=settings.tune,
            dense_mass=settings.dense_mass,
            target_accept_prob=settings.target_accept,
            model_args=tuple(data_values),
            rng_key=key,
        )

    def advance_chain(state, data_values):
        def step(current, _):
            current = sample_kernel(current, model_args=tuple(data_values))
            stats = {
                "z": current.z,
                "diverging": current.diverging,
                "n_steps": current.num_steps,
                "acceptance_rate": current.accept_prob,
                "energy": current.energy,
                "lp": -current.potential_energy,
                "step_size": current.adapt_state.step_size,
            }
            return current, stats

        return jax.lax.scan(step, state, None, length=chunk)

    def constrain(z_draws, data_values):
        return jax.vmap(lambda z: constrain_fn(*unflatten(z), *data_values))(z_draws)

    def log_likelihood(z_draws, data_values):
        return jax.vmap(lambda z: pointwise_fn(*unflatten(z), *data_values))(z_draws)

    parallel = len(jax.devices()) >= settings.chains
    if not parallel:
        warnings.warn(
            f"only {len(jax.devices())} JAX devices for {settings.chains} chains: running chains "
            "vectorised on one device (slower); for parallel chains set XLA_FLAGS="
            f"--xla_force_host_platform_device_count={settings.chains} before JAX starts (before the first forecast)",
            stacklevel=4,
        )
    def vectorised(function, in_axes):  # compiled once, as pmap is: a bare vmap would run op by op (~100 s a fit)
        return jax.jit(jax.vmap(function, in_axes=in_axes))

    over_chains = jax.pmap if parallel else vectorised
    return _Compiled(
        init=over_chains(init_chain, in_axes=(0, 0, None)),
        advance=over_chains(advance_chain, in_axes=(0, None)),
        constrain=jax.jit(constrain),
        log_likelihood=jax.jit(log_likelihood) if observed else None,
        observed_names=[var.name for var in observed],
        initial_point=jax.jit(lambda data_values: start_fn(*data_values)),
        value_shapes=shapes,
        output_names=[var.name for var in outputs],
        chunk=chunk,
    )


def _refuse_baked_data(graphs, allowed: set) -> None:
    """Raise if a graph to compile still reads a shared variable: its value would be baked into
    a program that later forecasts reuse for other data (a bug in this module, not in the data).
    ``allowed``: the lengths of the model's dimensions, which are part of the compiled shape."""
    left = sorted(
        {
            var.name for var in graph_inputs(graphs)
            if isinstance(var, SharedVariable) and not isinstance(var.type, RandomType) and var.name not in allowed
        }
    )
    if left:
        raise RuntimeError(f"internal error: data nodes {left} would be compiled in as constants")


def sample(model: pm.Model, settings: SamplerSettings, key: tuple) -> az.InferenceData:
    """Run NUTS on ``model`` and return the posterior and sample stats as InferenceData.

    ``key`` names the model's structure (law and priors): models with equal keys and
    data of equal shapes share one compiled sampler.
    """
    configure_jax()
    structure = _structure_key(model, key, settings)
    data_values = [jnp.asarray(var.get_value()) for var in _data_nodes(model)]
    compiled = _COMPILED.get(structure)
    fresh = compiled is None
    if fresh:
        with quietly():  # PyTensor's graph rewrites look for a C BLAS, which JAX does not need
            compiled = _COMPILED[structure] = _compile(model, settings, data_values)

    rng = np.random.default_rng(settings.seed)
    start = np.concatenate([np.ravel(v) for v in compiled.initial_point(data_values)])
    z0 = jnp.asarray(start + rng.uniform(-settings.jitter, settings.jitter, size=(settings.chains, start.size)))
    keys = jax.random.split(jax.random.PRNGKey(settings.seed), settings.chains)
    state = compiled.init(keys, z0, data_values)

    total = settings.tune + settings.draws
    kept, warmup = [], []
    with progress_bar(settings.progress, total=total, desc="NUTS", unit="step", leave=False) as bar:
        bar.set_postfix(phase="compile" if fresh else "tune")
        for done in range(0, total, compiled.chunk):
            state, stats = compiled.advance(state, data_values)
            # JAX returns before the work is done: without waiting, the bar ran through warm-up
            # in a second and then sat still at the first draw for the whole warm-up's time
            jax.block_until_ready(state)
            if done >= settings.tune:
                kept.append(jax.device_get(stats))
            else:  # how the adaptation went (tree sizes, step sizes), without the positions
                warmup.append(jax.device_get({name: value for name, value in stats.items() if name in _WARMUP_STATS}))
            bar.set_postfix(phase="tune" if done + compiled.chunk < settings.tune else "draw", refresh=False)  # the next chunk's
            bar.update(compiled.chunk)
    stats = _joined(kept)
    warmup_stats = _joined(warmup) if warmup else None  # tune=0: no warm-up
    z = stats.pop("z")  # (chain, draw, dim)
    flat = z.reshape(-1, z.shape[-1])
    values = compiled.constrain(jnp.asarray(flat), data_values)
    posterior = {
        name: np.asarray(value).reshape(settings.chains, settings.draws, *np.shape(value)[1:])
        for name, value in zip(compiled.output_names, values)
    }
    pointwise = {}
    if compiled.log_likelihood is not None:  # the same compiled graph as the sampler's log density
        values = compiled.log_likelihood(jnp.asarray(flat), data_values)
        pointwise = {
            name: np.asarray(value).reshape(settings.chains, settings.draws, *np.shape(value)[1:])
            for name, value in zip(compiled.observed_names, values)
        }
    return az.from_dict(
        posterior=posterior, sample_stats=stats, log_likelihood=pointwise or None,
        warmup_sample_stats=warmup_stats, save_warmup=warmup_stats is not None,
    )


def _joined(chunks: list[dict]) -> dict:
    """Per-chunk sampler statistics joined along the draws, with each iteration's NUTS tree depth
    (a depth-d tree takes fewer than 2^d leapfrog steps)."""
    stats = {name: np.concatenate([chunk[name] for chunk in chunks], axis=1) for name in chunks[0]}
    stats["tree_depth"] = np.floor(np.log2(stats["n_steps"])).astype(int) + 1
    return stats


def sample_with_pymc(model: pm.Model, settings: SamplerSettings, nuts_sampler: str = "numpyro", cores: int | None = None):
    """The plain ``pm.sample`` path (recompiles every call): for cross-checks and benchmarks.

    ``nuts_sampler="pymc"`` with ``cores=None`` is PyMC's default sampler as a user gets it.
    """
    configure_jax()
    extra = {"nuts_sampler_kwargs": {"nuts_kwargs": {"dense_mass": settings.dense_mass}}} if nuts_sampler == "numpyro" else {}
    with model, quietly():  # PyMC's own sampler compiles C: PyTensor's BLAS notice
        return pm.sample(
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=cores,
            target_accept=settings.target_accept,
            random_seed=settings.seed,
            progressbar=settings.progress,
            nuts_sampler=nuts_sampler,
            **extra,
        )
