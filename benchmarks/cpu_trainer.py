"""The ladder trainer on this CPU against a plain eager PyTorch loop of the same model, in one run.

For each size (rungs of ``models/cpu-ladder/ladder.toml``), in one process:

1. **plain loop**: the GPT of ``ladder/model.py`` in the loop every PyTorch tutorial writes:
   one fixed batch, eager float32, AdamW, nothing else;
2. **trainer, float32**: ``train_rung`` on a short rung of that size with ``precision = "fp32"``
   (the real corpus, the batch sampler, clipping, the schedule), tokens/s as the trainer
   measures it: this shows what the harness itself costs;
3. **trainer, the ladder's recipe**: the same with ``precision = "bf16"`` (bf16 autocast on the
   CPU's AVX-512 BF16 units; weights, optimizer state and losses stay float32).

The ratio to watch is 3 / 1 (the target: >= 1.2). FLOP/s counts model.py's FLOPs per token;
the share of peak is against ``hardware.cpu_peak_flops`` (fp32; bf16's peak is twice it).

``--losses`` also trains one small rung (d36-l2 by default, 9.7e11 FLOPs, under a minute each)
to the end in float32 and in bf16 at seeds 0 and 1: bf16 must leave the final loss within the
seed-to-seed spread.

    python benchmarks/cpu_trainer.py                    # d68-l3 and d144-l5, 40 steps each
    python benchmarks/cpu_trainer.py --losses           # and the four full d36-l2 runs
    python benchmarks/cpu_trainer.py --rungs all        # every rung, and the whole ladder's time both ways
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import torch

from bayes_scaling.ladder import load_ladder
from bayes_scaling.ladder.hardware import cpu_peak_flops
from bayes_scaling.ladder.model import GPT
from bayes_scaling.ladder.runner import prepare_ladder_corpus
from bayes_scaling.ladder.trainer import train_rung

LADDER = Path(__file__).resolve().parents[1] / "models" / "cpu-ladder" / "ladder.toml"
SKIP = 3  # first steps left out of every timing, as the trainer does


def short(rung, steps: int, **training):
    """``rung`` cut to ``steps`` optimizer steps, with ``training`` overrides and no checkpoints."""
    settings = {**rung.training, "tokens": steps * rung.tokens_per_step, "tokens_per_param": None,
                "checkpoint_every": 10**9, "val_tokens": rung.tokens_per_step, **training}
    return dataclasses.replace(rung, training=settings)


def plain_loop_tokens_per_second(rung, steps: int) -> float:
    """Eager float32, one fixed batch, AdamW: the loop to beat."""
    torch.manual_seed(0)
    config = rung.model_config()
    model = GPT(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=rung.training["learning_rate"])
    batch = torch.randint(0, config.vocab_size, (rung.training["batch_size"], config.seq_len + 1))
    for step in range(steps):
        if step == SKIP:
            start = time.perf_counter()
        _, loss = model(batch[:, :-1], batch[:, 1:])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return (steps - SKIP) * rung.tokens_per_step / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rungs", default="d68-l3,d144-l5", help="comma-separated rungs of the CPU ladder, or all")
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps per measurement (default 40)")
    parser.add_argument("--losses", action="store_true", help="also train one rung to the end, fp32 and bf16, seeds 0 and 1")
    parser.add_argument("--loss-rung", default="d36-l2", help="the rung --losses trains (default d36-l2)")
    args = parser.parse_args()
    ladder = load_ladder(LADDER)
    peak = cpu_peak_flops()
    print(f"cpu: {torch.get_num_threads()} threads; torch {torch.__version__}; peak: {peak[1] if peak else 'unknown'}")
    print(f"{args.steps} steps per measurement, first {SKIP} left out")
    print(f"{'rung':>8} {'params':>10} {'plain fp32 tok/s':>17} {'trainer fp32':>13} {'trainer bf16':>13} "
          f"{'bf16 GFLOP/s':>13} {'of fp32 peak':>12} {'ratio':>6}")
    seconds = {"plain": 0.0, "bf16": 0.0}  # each rung's full training at the measured rates
    with tempfile.TemporaryDirectory() as scratch:
        rungs = ladder.select(None if args.rungs == "all" else args.rungs.split(","))
        for rung in rungs:
            corpus = prepare_ladder_corpus(rung)
            config = rung.model_config()
            plain = plain_loop_tokens_per_second(rung, args.steps)
            rates = {}
            for precision in ("fp32", "bf16"):
                run = short(rung, args.steps, precision=precision)
                folder = Path(scratch) / f"{rung.name}-{precision}"
                rates[precision] = train_rung(run, folder, folder / "runs.csv", corpus, device="cpu",
                                              progress=False)["tokens_per_second"]
            flops = rates["bf16"] * config.flops_per_token
            share = f"{flops / peak[0]:.0%}" if peak else "-"
            print(f"{rung.name:>8} {config.params:>10,} {plain:>17,.0f} {rates['fp32']:>13,.0f} {rates['bf16']:>13,.0f} "
                  f"{flops / 1e9:>13.0f} {share:>12} {rates['bf16'] / plain:>6.2f}")
            seconds["plain"] += rung.budget().tokens / plain
            seconds["bf16"] += rung.budget().tokens / rates["bf16"]
        if len(rungs) > 1:
            print(f"these rungs' full training at these rates: plain loop {seconds['plain'] / 60:.1f} min, "
                  f"trainer {seconds['bf16'] / 60:.1f} min, ratio {seconds['plain'] / seconds['bf16']:.2f}")
        if args.losses:
            rung = ladder.select([args.loss_rung])[0]
            corpus = prepare_ladder_corpus(rung)
            print(f"\nfinal validation loss of {rung.name} ({rung.budget().compute:.2e} FLOPs), trained to the end:")
            for precision in ("fp32", "bf16"):
                losses = []
                for seed in (0, 1):
                    run = dataclasses.replace(rung, training={**rung.training, "precision": precision, "seed": seed,
                                                              "checkpoint_every": 10**9})
                    folder = Path(scratch) / f"loss-{precision}-{seed}"
                    losses.append(train_rung(run, folder, folder / "runs.csv", corpus, device="cpu", progress=False)["loss"])
                print(f"  {precision}: seed 0 {losses[0]:.4f}, seed 1 {losses[1]:.4f}")


if __name__ == "__main__":
    main()
