"""Tokens/s and MFU of the ladder trainer per model size, against a plain nanoGPT-style loop.

For each size, in one process on one device:

1. the harness: ``train_rung`` on a short rung (real corpus, the batch sampler, gradient
   clipping, the schedule, checkpoint-free), tokens/s as the trainer measures it (first
   steps, which compile, left out);
2. the baseline: the same GPT in the loop nanoGPT's bench.py times: one fixed batch already
   on the device, ``torch.compile``, bf16 autocast, fused AdamW, nothing else.

MFU = FLOPs per token (model.py's count) × tokens/s / peak (989e12 dense bf16 on H100/H200;
left out on devices not in the table, and on CPU). The ratio harness / baseline is the
number to watch: the harness should lose nothing to the bare loop.

    python benchmarks/ladder_mfu.py                       # on a GPU: 5M, 30M and 90M parameters
    python benchmarks/ladder_mfu.py --tiny --steps 20     # on CPU: one tiny size, a smoke run
    python benchmarks/ladder_mfu.py --out mfu.json        # also write the table as JSON

The issue's reference, measured with such a baseline on the H200: 27% MFU at 5M
parameters, 37.5% at 29M, 43% at 91M; the target for the harness is >= 45% at >= 30M and
>= 30% at 5M. Not yet run on a GPU (see docs/ladder.md).
"""

from __future__ import annotations

import argparse
import json
import sysconfig
import tempfile
import time
from pathlib import Path

import torch

from bayes_scaling.ladder.corpus import prepare_corpus
from bayes_scaling.ladder.definition import CORPUS_DEFAULTS, TRAINING_DEFAULTS, Rung
from bayes_scaling.ladder.hardware import peak_flops
from bayes_scaling.ladder.model import GPT
from bayes_scaling.ladder.trainer import train_rung

# (name, d_model, n_layer, n_head, batch of sequences): ~6M, ~30M and ~92M parameters at vocab 8192.
GPU_SIZES = [("5M", 256, 5, 4, 64), ("30M", 512, 8, 8, 64), ("90M", 768, 12, 12, 32)]
TINY_SIZES = [("tiny", 64, 2, 2, 8)]


def rung_for(name, d_model, n_layer, n_head, batch, seq_len, vocab_size, steps, compile_model) -> Rung:
    training = {**TRAINING_DEFAULTS, "seq_len": seq_len, "batch_size": batch, "tokens": steps * batch * seq_len,
                "tokens_per_param": None, "val_tokens": batch * seq_len, "checkpoint_every": 10**9,
                "compile": compile_model}
    return Rung(name=name, d_model=d_model, n_layer=n_layer, n_head=n_head, training=training,
                corpus={**CORPUS_DEFAULTS, "vocab_size": vocab_size})


def baseline_tokens_per_second(rung: Rung, steps: int, device) -> float:
    """nanoGPT bench.py's loop: fixed batch, compile, bf16 autocast, fused AdamW."""
    torch.manual_seed(0)
    config = rung.model_config()
    cuda = device.type == "cuda"
    model = GPT(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=cuda)
    step_model = torch.compile(model) if cuda else model
    batch = torch.randint(0, config.vocab_size, (rung.training["batch_size"], config.seq_len + 1), device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)
    skip = 3
    for step in range(steps):
        if step == skip:
            if cuda:
                torch.cuda.synchronize(device)
            start = time.perf_counter()
        with autocast:
            _, loss = step_model(batch[:, :-1], batch[:, 1:])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.synchronize(device)
    return (steps - skip) * rung.tokens_per_step / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="one tiny size (for CPU)")
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps per measurement (default 60)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    if args.steps < 5:
        parser.error("--steps must be at least 5 (the first 3 are left out of the timing)")
    device = torch.device(args.device)
    sizes = TINY_SIZES if args.tiny else GPU_SIZES
    seq_len, vocab = (64, 512) if args.tiny else (args.seq_len, args.vocab_size)
    peak = peak_flops(device)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        corpus = prepare_corpus([sysconfig.get_paths()["stdlib"]], vocab_size=vocab, cache_dir=Path(scratch) / "cache",
                                val_fraction=0.05, max_bytes=1_000_000 if args.tiny else 30_000_000)
        for name, d_model, n_layer, n_head, batch in sizes:
            rung = rung_for(name, d_model, n_layer, n_head, batch, seq_len, vocab, args.steps, device.type == "cuda")
            config = rung.model_config()
            harness = train_rung(rung, Path(scratch) / name, Path(scratch) / "runs.csv", corpus, device=device,
                                 progress=False)["tokens_per_second"]
            baseline = baseline_tokens_per_second(rung, args.steps, device)
            mfu = (lambda rate: rate * config.flops_per_token / peak) if peak else (lambda rate: None)
            rows.append({"size": name, "params": config.params, "flops_per_token": config.flops_per_token,
                         "batch_tokens": rung.tokens_per_step, "harness_tokens_per_s": harness,
                         "harness_mfu": mfu(harness), "baseline_tokens_per_s": baseline,
                         "baseline_mfu": mfu(baseline), "ratio": harness / baseline})
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; {args.steps} steps per measurement, first 3 left out")
    print(f"{'size':>5} {'params':>11} {'harness tok/s':>14} {'MFU':>6} {'baseline tok/s':>15} {'MFU':>6} {'ratio':>6}")
    for row in rows:
        pct = (lambda v: f"{v:.1%}" if v is not None else "-")
        print(f"{row['size']:>5} {row['params']:>11,} {row['harness_tokens_per_s']:>14,.0f} {pct(row['harness_mfu']):>6} "
              f"{row['baseline_tokens_per_s']:>15,.0f} {pct(row['baseline_mfu']):>6} {row['ratio']:>6.2f}")
    if args.out:
        args.out.write_text(json.dumps({"device": name, "torch": torch.__version__, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
