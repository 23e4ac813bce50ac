"""NUTS on JAX for a PyMC model, compiled once per model shape; and its diagnostics.

This is the one module that runs the sampler and reads ArviZ diagnostics.

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
import os
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from bayes_scaling.quiet import quietly

with quietly():  # the first import of PyMC and ArviZ when sampling is imported first
    import arviz as az
    import pymc as pm
from numpyro.infer.hmc import hmc
from pymc.initial_point import make_initial_point_expression
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant
from pytensor.graph.replace import graph_replace
from pytensor.graph.traversal import graph_inputs, io_toposort
from pytensor.tensor.random.type import RandomType
from bayes_scaling.progress import progress_bar

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
    """Set up JAX for sampling, once per process, just before the first forecast samples.

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
    where it is missing, assume not, and the device check in ``_compile`` warns if it matters."""
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except (ImportError, AttributeError):
        return False


R_HAT_MAX = 1.01
ESS_MIN = 400
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
    # point, as in PyMC; a law may ask for less (see laws/pass_rate.py).
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


@dataclass(frozen=True)
class Diagnostics:
    """Sampler health: worst r_hat and ESS over the parameters, and divergences."""

    r_hat: float
    ess_bulk: float
    ess_tail: float
    divergences: int
    draws: int
    chains: int

    @property
    def ok(self) -> bool:
        return (
            self.divergences == 0
            and self.r_hat <= R_HAT_MAX
            and self.ess_bulk >= ESS_MIN
            and self.ess_tail >= ESS_MIN
        )

    def problems(self) -> list[str]:
        """What failed, each with what to do about it."""
        out = []
        if self.divergences:
            out.append(
                f"{self.divergences} divergent transitions: the posterior has regions NUTS cannot "
                "explore, so intervals may be too narrow; raise target_accept, or give tighter "
                "priors on the parameters the data cannot pin down"
            )
        if self.r_hat > R_HAT_MAX:
            out.append(f"r_hat {self.r_hat:.3f} > {R_HAT_MAX}: chains disagree; run more tune and draws")
        if min(self.ess_bulk, self.ess_tail) < ESS_MIN:
            out.append(
                f"effective sample size {min(self.ess_bulk, self.ess_tail):.0f} < {ESS_MIN}: "
                "intervals are noisy; run more draws"
            )
        return out

    def as_dict(self) -> dict:
        return {
            "r_hat": self.r_hat,
            "ess_bulk": self.ess_bulk,
            "ess_tail": self.ess_tail,
            "divergences": self.divergences,
            "ok": self.ok,
        }

    def __getitem__(self, key):
        return self.as_dict()[key]


class SamplerWarning(UserWarning):
    """Diagnostics failed: the forecast may not be trustworthy.

    Issued by ``bs.forecast`` after sampling when r_hat exceeds 1.01, an effective sample
    size (bulk or tail) is below 400, or there are divergent transitions; the message says
    what failed and what to do about it (more draws and tune, a higher ``target_accept``,
    tighter priors). ``bs.compare`` and ``bs.stack`` issue it too when a member's
    diagnostics failed. ``fc.ok`` and ``fc.diagnostics`` say the same afterwards, and
    ``bs.register`` refuses such a forecast unless told ``allow_unhealthy=True``.

    Examples
    --------
    >>> import warnings
    >>> warnings.simplefilter("error", bs.SamplerWarning)  # make a failed fit an error
    """


def diagnose(idata: az.InferenceData, var_names: list[str]) -> Diagnostics:
    """Worst-case r_hat, ESS and the number of divergences after tuning."""
    # unrounded: ArviZ rounds to 2 decimals by default, which let an r_hat of 1.014 pass as 1.01
    summary = az.summary(idata, var_names=var_names, kind="diagnostics", round_to="none")
    posterior = idata.posterior
    return Diagnostics(
        r_hat=float(summary["r_hat"].max()),
        ess_bulk=float(summary["ess_bulk"].min()),
        ess_tail=float(summary["ess_tail"].min()),
        divergences=int(idata.sample_stats["diverging"].sum()),
        draws=int(posterior.sizes["draw"]),
        chains=int(posterior.sizes["chain"]),
    )


def warn_if_unhealthy(diagnostics: Diagnostics) -> None:
    if not diagnostics.ok:
        warnings.warn(
            "sampler diagnostics failed — " + "; ".join(diagnostics.problems()),
            SamplerWarning,
            stacklevel=3,
        )


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
    over_chains = jax.pmap if parallel else jax.vmap
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
