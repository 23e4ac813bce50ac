"""Generation throughput: samples per second with the KV cache against recomputing the whole sequence.

Both paths run in this process on the same model, prompt and settings, and sample exactly
``--new-tokens`` tokens per sample (no stop sequences), so the ratio is the cache's speedup
alone. The cached path is ``sample_completions`` itself (one shared prefill expanded to the
batch, then one token per step); the baseline feeds the whole sequence (prompt and every
token so far) through the model at each step, as a model without a cache must. Greedy
decoding on both first checks that they produce the same text.

The model is a random GPT of the size you give (default: the python-ladder's middle rung
shape on a 1k vocabulary) with a BPE trained on the easy suite, or a trained rung with
``--checkpoint`` (its own tokenizer). Shared machines are noisy: compare the ratio.

    python benchmarks/generation_throughput.py                          # CPU, one thread per core
    python benchmarks/generation_throughput.py --checkpoint models/python-ladder/rungs/d256-l6 --device cuda --batch 256
"""

from __future__ import annotations

import argparse
import time

import torch

from bayes_scaling.codeeval import easy_suite
from bayes_scaling.codeeval.generate import CodeModel, load_code_model, prompt_ids, sample_completions
from bayes_scaling.ladder.model import GPT, GPTConfig, sample_next
from bayes_scaling.ladder.tokenizer import train_tokenizer


@torch.no_grad()
def sample_without_cache(code_model: CodeModel, prompt: str, n: int, new_tokens: int, temperature: float,
                         seed: int) -> list[str]:
    """The baseline: every step runs the model over the whole sequence so far and keeps the last position."""
    ids, heal = prompt_ids(code_model, prompt, new_tokens)
    generator = torch.Generator(device=code_model.device).manual_seed(seed)
    sequence = torch.tensor([ids], device=code_model.device).expand(n, -1)
    allowed = code_model.tokens_starting_with(heal)
    with code_model.autocast():
        for step in range(new_tokens + bool(heal)):
            logits = code_model.model(sequence)[:, -1]
            if step == 0 and heal:
                logits = logits.masked_fill(~allowed, float("-inf"))
            sequence = torch.cat([sequence, sample_next(logits, temperature, None, generator)], dim=1)
    texts = code_model.tokenizer.decode_batch(sequence[:, len(ids):].tolist(), skip_special_tokens=False)
    return [text[len(heal):] for text in texts]


def random_model(args, device) -> CodeModel:
    tokenizer = train_tokenizer([p["prompt"] + p["canonical_solution"] for p in easy_suite()], args.vocab)
    config = GPTConfig(vocab_size=tokenizer.get_vocab_size(), seq_len=args.seq_len, d_model=args.d_model,
                       n_layer=args.n_layer, n_head=args.n_head)
    torch.manual_seed(0)
    return CodeModel(GPT(config).to(device).eval(), tokenizer, device)


def timed(function, device) -> float:
    started = time.perf_counter()
    function()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="a trained rung (folder or model.pt) instead of a random model")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=16, help="samples per batch (default 16)")
    parser.add_argument("--new-tokens", type=int, default=64, help="tokens generated per sample (default 64)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each path; the best is kept (default 2)")
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--n-layer", type=int, default=6)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--vocab", type=int, default=1024)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.checkpoint:
        from pathlib import Path

        path = Path(args.checkpoint)
        code_model = load_code_model(path / "model.pt" if path.is_dir() else path, device=device)
    else:
        code_model = random_model(args, device)
    config = code_model.model.config
    prompt = easy_suite()[0]["prompt"]
    ids, _ = prompt_ids(code_model, prompt, args.new_tokens)
    print(f"model: {config.params:,} params (d_model {config.d_model}, {config.n_layer} layers, seq_len "
          f"{config.seq_len}, vocab {config.vocab_size}) on {device}, torch threads {torch.get_num_threads()}; "
          f"prompt {len(ids)} tokens, {args.new_tokens} new tokens per sample, batch {args.batch}")

    greedy_cached = sample_completions(code_model, prompt, 2, temperature=0, max_new_tokens=args.new_tokens, stop=())
    greedy_full = sample_without_cache(code_model, prompt, 2, args.new_tokens, 0, seed=0)
    print(f"greedy text identical with and without the cache: {greedy_cached == greedy_full}")

    def cached():
        sample_completions(code_model, prompt, args.batch, temperature=0.8, top_p=1.0, max_new_tokens=args.new_tokens,
                           seed=1, batch_size=args.batch, stop=())

    def uncached():
        sample_without_cache(code_model, prompt, args.batch, args.new_tokens, 0.8, seed=1)

    cached()  # warm-up (allocator, kernels)
    seconds = {name: min(timed(fn, device) for _ in range(args.repeats)) for name, fn in (("cache", cached), ("recompute", uncached))}
    for name, s in seconds.items():
        print(f"{name:>9}: {args.batch / s:8.2f} samples/s, {args.batch * args.new_tokens / s:9.0f} tokens/s ({s:.2f} s per batch)")
    print(f"KV cache speedup: {seconds['recompute'] / seconds['cache']:.1f}x")


if __name__ == "__main__":
    main()
