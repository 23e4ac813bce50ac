"""A ladder definition: ``models/<name>/ladder.toml`` read with ``tomllib`` and checked rung by rung.

The file is data, never code: a ``[corpus]`` table (where the Python files come from, how
many, the vocabulary size), a ``[training]`` table (the one recipe every rung shares), and
one ``[[rungs]]`` entry per model size (``name``, ``d_model``, ``n_layer``, ``n_head``, and
any ``[training]`` key to override for that rung). Every error names the file, the rung and
the field, so a typo fails at load time instead of an hour into a GPU job.

The training budget is ``tokens`` (a number of tokens) or ``tokens_per_param`` (times the
rung's parameter count, embeddings included); the tokens actually trained are rounded up to
whole optimizer steps of ``batch_size × seq_len`` tokens.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Budget", "Ladder", "Rung", "load_ladder"]

CORPUS_DEFAULTS = {
    "dirs": None,  # None: the interpreter's standard library and site-packages
    "max_files": None,
    "max_bytes": None,
    "val_fraction": 0.01,
    "vocab_size": 8192,
    "cache_dir": None,  # None: ~/.cache/bayes_scaling
}
TRAINING_DEFAULTS = {
    "seq_len": 512,
    "batch_size": 64,  # sequences per optimizer step, over all processes
    "micro_batch_size": None,  # sequences per forward pass and process; None: the whole share
    "tokens": None,
    "tokens_per_param": 20.0,
    "learning_rate": 3e-3,
    "min_lr_ratio": 0.1,
    "warmup_fraction": 0.05,
    "weight_decay": 0.1,
    "beta1": 0.9,
    "beta2": 0.95,
    "grad_clip": 1.0,
    "val_tokens": 262_144,
    "checkpoint_every": 500,  # optimizer steps between checkpoints
    "seed": 0,
    "compile": True,  # torch.compile on CUDA (never on CPU)
    "precision": "auto",  # auto: bf16 autocast on CUDA, float32 on CPU; bf16: autocast on either; fp32: none
}
PRECISIONS = ("auto", "bf16", "fp32")
_MODEL_KEYS = ("d_model", "n_layer", "n_head")
_POSITIVE_INTS = {"seq_len", "batch_size", "micro_batch_size", "val_tokens", "checkpoint_every",
                  "max_files", "max_bytes", "vocab_size"}
_NON_NEGATIVE_FLOATS = {"weight_decay", "grad_clip", "min_lr_ratio", "warmup_fraction", "beta1", "beta2"}


@dataclass(frozen=True)
class Budget:
    """What one rung trains: the dry-run plan shows it and the trainer records it, from this one place."""

    params: int
    non_embedding_params: int
    flops_per_token: int
    steps: int
    tokens: int  # steps × batch_size × seq_len: the token budget rounded up to whole optimizer steps

    @property
    def compute(self) -> float:
        """Training FLOPs: FLOPs per token times the tokens trained."""
        return float(self.flops_per_token) * self.tokens


@dataclass(frozen=True)
class Rung:
    """One model size of a ladder with the full recipe it is trained with."""

    name: str
    d_model: int
    n_layer: int
    n_head: int
    training: dict
    corpus: dict  # as written in the file: dirs and cache_dir relative to ladder_dir
    ladder_dir: Path = Path(".")
    vocab_size: int = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "vocab_size", self.corpus["vocab_size"])

    @property
    def corpus_dirs(self) -> list[Path] | None:
        """The corpus directories, resolved against the ladder's folder (None: the defaults)."""
        dirs = self.corpus["dirs"]
        return None if dirs is None else [(self.ladder_dir / d).resolve() for d in dirs]

    def model_config(self):
        """The rung's ``GPTConfig`` (imports torch)."""
        from bayes_scaling.ladder.model import GPTConfig

        return GPTConfig(vocab_size=self.vocab_size, seq_len=self.training["seq_len"], d_model=self.d_model,
                         n_layer=self.n_layer, n_head=self.n_head)

    @property
    def tokens_per_step(self) -> int:
        return self.training["batch_size"] * self.training["seq_len"]

    def steps(self, params: int) -> int:
        """Optimizer steps that cover the token budget (``params``: the rung's parameter count)."""
        budget = self.training["tokens"] or self.training["tokens_per_param"] * params
        return max(1, math.ceil(budget / self.tokens_per_step))

    def budget(self) -> Budget:
        """Parameters, optimizer steps, tokens and training compute of this rung (imports torch)."""
        config = self.model_config()
        steps = self.steps(config.params)
        return Budget(params=config.params, non_embedding_params=config.non_embedding_params,
                      flops_per_token=config.flops_per_token, steps=steps, tokens=steps * self.tokens_per_step)

    @property
    def config_hash(self) -> str:
        """Hash of everything that decides what this rung trains: a finished rung with another hash is stale.

        It covers the definition as written (corpus paths relative to the ladder's folder), so
        a ladder moved to another machine keeps its hashes; the corpus contents are recorded
        separately, as ``corpus_hash``.
        """
        settings = {"model": {k: getattr(self, k) for k in _MODEL_KEYS}, "training": self.training,
                    "corpus": {k: v for k, v in self.corpus.items() if k != "cache_dir"}}
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Ladder:
    name: str
    path: Path
    rungs: tuple[Rung, ...]

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def runs_path(self) -> Path:
        return self.directory / "runs.csv"

    def rung_dir(self, rung: Rung) -> Path:
        return self.directory / "rungs" / rung.name

    def select(self, names=None) -> list[Rung]:
        """The rungs called ``names`` (all when None), in ladder order; an unknown name is an error."""
        if not names:
            return list(self.rungs)
        known = {rung.name for rung in self.rungs}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"{self.path}: no rung named {', '.join(map(repr, unknown))}; rungs are {', '.join(sorted(known))}")
        return [rung for rung in self.rungs if rung.name in names]


def load_ladder(path) -> Ladder:
    """Read and check a ``ladder.toml``; raises ``ValueError`` naming the file, rung and field at fault."""
    path = Path(path)
    if path.is_dir():
        path = path / "ladder.toml"
    if not path.exists():
        raise FileNotFoundError(f"ladder definition {path} does not exist")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not valid TOML: {err}") from None
    _check_keys(raw, {"name", "corpus", "training", "rungs"}, f"{path}")
    corpus = _section(raw.get("corpus", {}), CORPUS_DEFAULTS, f"{path} [corpus]")
    if corpus["vocab_size"] < 258:
        raise ValueError(f"{path} [corpus]: vocab_size {corpus['vocab_size']} is too small (a byte-level BPE needs at least 258)")
    training = _section(raw.get("training", {}), TRAINING_DEFAULTS, f"{path} [training]")
    rungs = raw.get("rungs")
    if not isinstance(rungs, list) or not rungs:
        raise ValueError(f"{path}: no [[rungs]]; a ladder needs at least one rung")
    checked = [_rung(entry, index, training, corpus, path) for index, entry in enumerate(rungs)]
    names = [rung.name for rung in checked]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"{path}: rung names must be unique; {', '.join(map(repr, duplicated))} appears more than once")
    return Ladder(name=str(raw.get("name", path.parent.name)), path=path, rungs=tuple(checked))


def _rung(entry, index: int, training: dict, corpus: dict, path: Path) -> Rung:
    if not isinstance(entry, dict):
        raise ValueError(f"{path}: rung {index} must be a table with name, d_model, n_layer, n_head")
    where = f"{path}: rung {entry.get('name', index)!r}"
    _check_keys(entry, {"name", *_MODEL_KEYS, *TRAINING_DEFAULTS}, where)
    for key in ("name", *_MODEL_KEYS):
        if key not in entry:
            raise ValueError(f"{where}: missing field {key!r}")
    if not isinstance(entry["name"], str) or not entry["name"] or "/" in entry["name"] or "," in entry["name"]:
        raise ValueError(f"{where}: field 'name' must be a non-empty string without '/' or ',', got {entry['name']!r}")
    for key in _MODEL_KEYS:
        value = entry[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{where}: field {key!r} must be a positive integer, got {value!r}")
    if entry["d_model"] % entry["n_head"]:
        raise ValueError(f"{where}: field 'd_model' ({entry['d_model']}) is not divisible by field 'n_head' ({entry['n_head']})")
    overrides = {k: v for k, v in entry.items() if k in TRAINING_DEFAULTS}
    rung_training = _section(overrides, {**training}, where)
    batch, micro = rung_training["batch_size"], rung_training["micro_batch_size"]
    if micro is not None and batch % micro:
        raise ValueError(f"{where}: field 'batch_size' ({batch}) is not a multiple of field 'micro_batch_size' ({micro})")
    return Rung(name=entry["name"], d_model=entry["d_model"], n_layer=entry["n_layer"], n_head=entry["n_head"],
                training=rung_training, corpus=dict(corpus), ladder_dir=path.parent)


def _section(raw, defaults: dict, where: str) -> dict:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: must be a table")
    _check_keys(raw, set(defaults), where)
    merged = {**defaults, **raw}
    for key, value in raw.items():
        _check_value(key, value, where)
    if "tokens" in raw and "tokens_per_param" in raw:
        raise ValueError(f"{where}: give the budget as 'tokens' or as 'tokens_per_param', not both")
    if "tokens" in raw:
        merged["tokens_per_param"] = None  # an explicit token budget replaces the inherited ratio
    elif "tokens_per_param" in raw:
        merged["tokens"] = None
    return merged


def _check_value(key: str, value, where: str) -> None:
    def fail(expected):
        raise ValueError(f"{where}: field {key!r} must be {expected}, got {value!r}")

    if key in _POSITIVE_INTS and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        fail("a positive integer")
    if key in ("learning_rate", "tokens", "tokens_per_param", "val_fraction") and not (
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0):
        fail("a positive number")
    if key in _NON_NEGATIVE_FLOATS and not (
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0):
        fail("a number >= 0")
    if key in ("beta1", "beta2", "warmup_fraction", "val_fraction") and not value < 1:
        fail("a number below 1")
    if key == "min_lr_ratio" and not value <= 1:
        fail("a number <= 1")
    if key in ("dirs", "cache_dir") and value is not None and not (
            isinstance(value, str) if key == "cache_dir" else isinstance(value, list) and all(isinstance(d, str) for d in value)):
        fail("a path" if key == "cache_dir" else "a list of directory paths")
    if key == "seed" and not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        fail("an integer >= 0")
    if key == "compile" and not isinstance(value, bool):
        fail("true or false")
    if key == "precision" and value not in PRECISIONS:
        fail(" or ".join(map(repr, PRECISIONS)))


def _check_keys(table: dict, allowed: set, where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")
