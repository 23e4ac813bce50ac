"""Train one rung: the recipe every rung of a ladder shares, and what it writes when it is done.

AdamW (fused on CUDA) with warmup and cosine decay, gradient clipping, bf16 autocast and
``torch.compile`` on CUDA, all seeded. On CPU the model runs in float32 unless the recipe
says ``precision = "bf16"``: then matrix multiplies run under bf16 autocast too (1.3-1.6x
faster on a CPU with AVX-512 BF16; weights, optimizer state and the loss stay float32). The batch of step ``s`` is
drawn from ``(seed, s)`` alone, so a resumed rung sees exactly the batches it would have
seen, and the global batch is the same on one GPU or eight. The final loss is the mean
cross-entropy on a fixed held-out token set: the first ``val_tokens`` tokens of the
validation split, cut into non-overlapping windows.

A checkpoint (model, optimizer, step) is written every ``checkpoint_every`` steps with
write-then-``os.replace``, so a killed rung resumes from its last checkpoint. When the rung
finishes it writes ``model.pt`` (weights, config and tokenizer, for sampling: ``model.load_model``), ``metrics.json``, and
its row of ``runs.csv``, in that order, and then drops the checkpoint.

Under ``torchrun`` (``WORLD_SIZE`` > 1) the rung runs data-parallel with DDP; only rank 0
writes files.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from bayes_scaling.atomic_write import write_atomically
from bayes_scaling.ladder.corpus import Corpus
from bayes_scaling.ladder.definition import Rung
from bayes_scaling.ladder.hardware import peak_flops
from bayes_scaling.ladder.model import GPT
from bayes_scaling.ladder.precision import autocast_context
from bayes_scaling.ladder.results import read_metrics, record_run, write_json_atomic

__all__ = ["finished_metrics", "is_finished", "learning_rate", "train_rung"]

_LOG_EVERY = 10  # steps between loss read-backs (each one waits for the GPU)
_TIMING_SKIP = 3  # first steps of a session left out of tokens/s (compilation, warm-up)


def finished_metrics(rung: Rung, rung_dir: Path) -> dict | None:
    """The ``metrics.json`` of ``rung`` if it was trained to the end with its current config, else None."""
    metrics = read_metrics(Path(rung_dir) / "metrics.json")
    return metrics if metrics is not None and metrics.get("config_hash") == rung.config_hash else None


def is_finished(rung: Rung, rung_dir: Path) -> bool:
    """Whether ``rung`` was trained to the end with its current config."""
    return finished_metrics(rung, rung_dir) is not None


def learning_rate(step: int, steps: int, training: dict) -> float:
    """Linear warmup to ``learning_rate``, then cosine decay to ``min_lr_ratio`` of it at the last step."""
    peak = training["learning_rate"]
    warmup = round(training["warmup_fraction"] * steps)
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup - 1)
    floor = training["min_lr_ratio"]
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def train_rung(rung: Rung, rung_dir, runs_path, corpus: Corpus, device=None, progress: bool = True,
               ladder_name: str = "") -> dict:
    """Train ``rung`` (resuming from its checkpoint), record it, and return its metrics."""
    world, rank = _init_distributed()
    device = _pick_device(device)
    rung_dir, runs_path = Path(rung_dir), Path(runs_path)
    training, config = rung.training, rung.model_config()
    if config.vocab_size < corpus.manifest["tokenizer_vocab_size"]:
        raise ValueError(f"rung {rung.name!r}: vocab_size {config.vocab_size} is smaller than the corpus tokenizer's")
    micro, accumulation = _micro_batches(rung, world)
    budget = rung.budget()
    steps = budget.steps
    cuda = device.type == "cuda"

    torch.manual_seed(training["seed"])
    model = GPT(config).to(device)
    optimizer = _optimizer(model, training, fused=cuda)
    checkpoint_path = rung_dir / "checkpoint.pt"
    start, elapsed_before = _resume(checkpoint_path, rung, model, optimizer, device)
    if world > 1:
        _check_same_start(start, rung, device)
    session_start = time.perf_counter()
    compiled = torch.compile(model) if cuda and training["compile"] else model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        compiled = DistributedDataParallel(compiled, device_ids=[device.index] if cuda else None)
    autocast = autocast_context(device, training["precision"])
    train_tokens = corpus.tokens("train")
    if len(train_tokens) <= config.seq_len + 1:
        raise ValueError(f"rung {rung.name!r}: the corpus has {len(train_tokens)} training tokens, fewer than seq_len {config.seq_len}")

    peak = peak_flops(device)
    bar = _progress_bar(rung, steps, start, enabled=progress and rank == 0)
    rung_dir.mkdir(parents=True, exist_ok=True)
    timed_tokens, timed_since, last_loss = 0, None, float("nan")
    model.train()
    for step in range(start, steps):
        if step == start + _TIMING_SKIP:
            _synchronize(device)
            timed_since = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, steps, training)
        inputs, targets = _batch(train_tokens, step, rung, world, rank, device)
        for i in range(accumulation):
            part = slice(i * micro, (i + 1) * micro)
            sync = world == 1 or i == accumulation - 1
            with (contextlib.nullcontext() if sync else compiled.no_sync()), autocast:
                _, loss = compiled(inputs[part], targets[part])
            (loss / accumulation).backward()
        if training["grad_clip"]:
            torch.nn.utils.clip_grad_norm_(model.parameters(), training["grad_clip"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if timed_since is not None:
            timed_tokens += rung.tokens_per_step
        if step % _LOG_EVERY == 0 or step == steps - 1:
            last_loss = loss.item()
            if not math.isfinite(last_loss):
                raise FloatingPointError(f"rung {rung.name!r}: training loss is {last_loss} at step {step}; lower learning_rate")
        rate = timed_tokens / (time.perf_counter() - timed_since) if timed_tokens else None
        bar.set_postfix_str(_speed_text(last_loss, rate, config.flops_per_token, peak, world), refresh=False)
        bar.update()
        if rank == 0 and (step + 1) % training["checkpoint_every"] == 0 and step + 1 < steps:
            _save_atomic(checkpoint_path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                           "step": step + 1,
                                           "elapsed": elapsed_before + time.perf_counter() - session_start, "config_hash": rung.config_hash})
    bar.close()
    _synchronize(device)
    rate = timed_tokens / (time.perf_counter() - timed_since) if timed_tokens else None
    seconds = elapsed_before + time.perf_counter() - session_start

    metrics = None
    if rank == 0:
        val_loss = evaluate(model, corpus.tokens("val"), training, device, autocast)
        mfu = rate * config.flops_per_token / (peak * world) if rate and peak else None
        metrics = {
            "run": rung.name,
            "params": budget.params,
            "non_embedding_params": budget.non_embedding_params,
            "tokens": budget.tokens,
            "compute": budget.compute,
            "loss": val_loss,
            "seed": training["seed"],
            "config_hash": rung.config_hash,
            "flops_per_token": budget.flops_per_token,
            "d_model": config.d_model,
            "n_layer": config.n_layer,
            "n_head": config.n_head,
            "seq_len": config.seq_len,
            "vocab_size": config.vocab_size,
            "batch_size": training["batch_size"],
            "steps": steps,
            "final_train_loss": last_loss,
            "corpus_hash": corpus.manifest["hash"],
            "train_passes": budget.tokens / corpus.manifest["train_tokens"],
            "train_seconds": round(seconds, 3),
            "tokens_per_second": rate,
            "mfu": mfu,
            "device": _device_name(device),
            "world_size": world,
            "resumed_from_step": start,
            "ladder": ladder_name,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "torch": torch.__version__,
        }
        _save_atomic(rung_dir / "model.pt", {"model": model.state_dict(), "config": config.to_dict(),
                                             "config_hash": rung.config_hash,
                                             "tokenizer": corpus.tokenizer_path.read_text()})
        write_json_atomic(rung_dir / "metrics.json", {**metrics, "training": training})
        record_run(runs_path, metrics)
        checkpoint_path.unlink(missing_ok=True)
    if world > 1:
        torch.distributed.barrier()
    return metrics


@torch.no_grad()
def evaluate(model: GPT, val_tokens: np.ndarray, training: dict, device, autocast) -> float:
    """Mean next-token cross-entropy over the fixed held-out windows (the rung's final loss)."""
    seq_len = training["seq_len"]
    windows = min(training["val_tokens"], len(val_tokens) - 1) // seq_len
    if windows < 1:
        raise ValueError(f"the validation split has {len(val_tokens)} tokens, fewer than one window of seq_len {seq_len}")
    data = torch.from_numpy(np.asarray(val_tokens[: windows * seq_len + 1], dtype=np.int64))
    inputs = data[:-1].view(windows, seq_len)
    targets = data[1:].view(windows, seq_len)
    model.eval()
    total = 0.0
    micro = training["micro_batch_size"] or training["batch_size"]
    for first in range(0, windows, micro):
        x, y = inputs[first:first + micro].to(device), targets[first:first + micro].to(device)
        with autocast:
            logits = model(x)
        total += F.cross_entropy(logits.float().view(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
    model.train()
    return total / (windows * seq_len)


def _batch(tokens: np.ndarray, step: int, rung: Rung, world: int, rank: int, device):
    """This process's share of step ``step``'s global batch: windows at offsets drawn from (seed, step)."""
    seq_len, batch = rung.training["seq_len"], rung.training["batch_size"]
    offsets = np.random.default_rng([rung.training["seed"], step]).integers(0, len(tokens) - seq_len - 1, size=batch)
    share = batch // world
    rows = np.stack([tokens[o:o + seq_len + 1] for o in offsets[rank * share:(rank + 1) * share]]).astype(np.int64)
    rows = torch.from_numpy(rows)
    if device.type == "cuda":
        rows = rows.pin_memory().to(device, non_blocking=True)
    return rows[:, :-1], rows[:, 1:]


def _micro_batches(rung: Rung, world: int) -> tuple[int, int]:
    batch, micro = rung.training["batch_size"], rung.training["micro_batch_size"]
    if batch % world:
        raise ValueError(f"rung {rung.name!r}: batch_size {batch} is not divisible by the {world} processes")
    share = batch // world
    micro = micro or share
    if share % micro:
        raise ValueError(f"rung {rung.name!r}: each process's {share} sequences are not a multiple of micro_batch_size {micro}")
    return micro, share // micro


def _optimizer(model: GPT, training: dict, fused: bool):
    """AdamW with weight decay on matrices and embeddings, none on norms."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": training["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=training["learning_rate"], betas=(training["beta1"], training["beta2"]),
                             fused=fused)


def _resume(path: Path, rung: Rung, model, optimizer, device) -> tuple[int, float]:
    """Load the checkpoint if it belongs to this config; returns (first step to run, seconds trained so far)."""
    if not path.exists():
        return 0, 0.0
    state = torch.load(path, map_location=device, weights_only=True)
    if state.get("config_hash") != rung.config_hash:
        return 0, 0.0  # left by an older config of this rung: start over
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return int(state["step"]), float(state["elapsed"])


def _check_same_start(start: int, rung: Rung, device) -> None:
    """Every process must resume from the same step (the checkpoint must be on storage all of them see)."""
    low = torch.tensor([start], device=device)
    high = low.clone()
    torch.distributed.all_reduce(low, op=torch.distributed.ReduceOp.MIN)
    torch.distributed.all_reduce(high, op=torch.distributed.ReduceOp.MAX)
    if low.item() != high.item():
        raise RuntimeError(f"rung {rung.name!r}: processes would resume from steps {low.item()} and {high.item()}; "
                           "put the ladder folder on a filesystem that every node sees")


def _save_atomic(path: Path, state: dict) -> None:
    write_atomically(path, lambda temporary: torch.save(state, temporary))


def _init_distributed() -> tuple[int, int]:
    """(world size, rank); starts the process group only under a launcher with WORLD_SIZE > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 1, 0
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return world, torch.distributed.get_rank()


def _pick_device(device) -> torch.device:
    if device is None:
        if not torch.cuda.is_available():
            return torch.device("cpu")
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device} asked for, but torch {torch.__version__} sees no CUDA device")
        if device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
    return device


def _device_name(device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _synchronize(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _speed_text(loss: float, rate, flops_per_token: int, peak, world: int) -> str:
    text = f"loss {loss:.3f}"
    if rate:
        text += f", {rate:,.0f} tok/s"
        if peak:
            text += f", MFU {rate * flops_per_token / (peak * world):.1%}"
    return text


def _progress_bar(rung: Rung, steps: int, start: int, enabled: bool):
    from bayes_scaling.progress import progress_bar

    return progress_bar(enabled, total=steps, initial=start, desc=rung.name, unit="step", dynamic_ncols=True)


