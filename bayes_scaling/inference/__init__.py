"""NUTS on JAX: compile a law's model once per shape, sample it, and say whether the sampler can be trusted."""
