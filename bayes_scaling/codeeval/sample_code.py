"""Pass counts of a ladder rung: sample completions adaptively, check them, append ``passcounts.csv``.

Small models pass rarely, so a fixed budget either wastes samples on easy problems or sees
only zeros on hard ones. As in PassUntil (Hu et al. 2023), each problem is sampled in
rounds of ``n`` until it has ``until_passes`` passes or ``max_samples`` samples. Stopping
on a pass count does not bias the pass-rate law: the binomial likelihood it fits,
p^correct (1-p)^(n-correct), is the likelihood of negative-binomial sampling too, up to a
constant. (The raw ratio correct / n is biased upward for such problems; don't average it.)

Round ``r`` of problem ``task_id`` draws from the seed ``problem_seed(seed, task_id, r)``,
which is recorded with every sample, so any one round can be drawn again on its own. The
torch half (generation, likelihoods) is in ``generate.py`` and imported only here, when
sampling starts.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from bayes_scaling.atomic_write import write_atomically
from bayes_scaling.codeeval.easy_suite import easiest_suite, easy_suite
from bayes_scaling.codeeval.executor import check_well_formed_completions
from bayes_scaling.codeeval.passcounts import pass_counts
from bayes_scaling.codeeval.problems import load_problems

__all__ = ["SamplingSettings", "problem_seed", "record_pass_counts", "resolve_problems", "sample_code", "sample_ladder",
           "sample_until"]


@dataclass(frozen=True)
class SamplingSettings:
    """How completions are drawn; ``max_samples`` None means exactly ``n`` per problem."""

    n: int = 20  # samples per round
    max_samples: int | None = None
    until_passes: int | None = None  # stop a problem once it has this many passes
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 256
    seed: int = 0
    batch_size: int = 64

    def __post_init__(self):
        for name in ("n", "max_new_tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_samples is not None and self.max_samples < self.n:
            raise ValueError(f"max_samples ({self.max_samples}) must be >= n ({self.n}), the samples of one round")
        if self.until_passes is not None and self.until_passes < 1:
            raise ValueError(f"until_passes must be >= 1, got {self.until_passes}")
        if not self.temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must lie in (0, 1], got {self.top_p}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")

    @property
    def budget(self) -> int:
        return self.n if self.max_samples is None else self.max_samples


def problem_seed(seed: int, task_id: str, round_: int) -> int:
    """The seed of one round of one problem: a hash of (base seed, task id, round), below 2**63."""
    digest = hashlib.sha256(f"{seed}\0{task_id}\0{round_}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def resolve_problems(spec, max_problems: int | None = None) -> tuple[str, dict[str, dict]]:
    """(suite name, problems by task id) for ``"humaneval"``, ``"easy"``, ``"easiest"`` or a HumanEval-format file."""
    spec = str(spec)
    if spec == "humaneval":
        name, problems = "humaneval", load_problems()
    elif spec == "easy":
        name, problems = "easy", {p["task_id"]: p for p in easy_suite()}
    elif spec == "easiest":
        name, problems = "easiest", {p["task_id"]: p for p in easiest_suite()}
    else:
        name, problems = Path(spec).name.split(".")[0], load_problems(spec)
    if max_problems is not None:
        if max_problems < 1:
            raise ValueError(f"max_problems must be >= 1, got {max_problems}")
        problems = dict(list(problems.items())[:max_problems])
    return name, problems


def sample_until(problems: dict[str, dict], generate: Callable[[dict, int, int], list[str]],
                 settings: SamplingSettings, workers: int | None = None, on_round: Callable | None = None,
                 on_problem_done: Callable | None = None) -> list[dict]:
    """Every sample drawn for ``problems``, checked: rounds of ``settings.n`` until enough passes or the budget.

    ``generate(problem, n, seed)`` returns ``n`` completions (strings). Each sample gets ``task_id,
    completion, round, seed, index`` (its place in the round) and the checker's ``passed``
    and ``result``. One round is checked (in a thread; the sandbox's own workers run the
    programs) while the next is generated, so the GPU does not wait for the checker: a
    problem that needs another round goes to the front of the queue, and problems take turns.
    ``on_round(results)`` is called with each checked round and ``on_problem_done(task_id)``
    when a problem has its samples.
    """
    queue = deque({"task_id": task_id, "drawn": 0, "passes": 0, "round": 0} for task_id in problems)
    checked: list[dict] = []

    def finish(state, future):
        results = future.result()
        state["passes"] += sum(r["passed"] for r in results)
        checked.extend(results)
        if on_round:
            on_round(results)
        if state["drawn"] < settings.budget and (settings.until_passes is None or state["passes"] < settings.until_passes):
            queue.appendleft(state)
        elif on_problem_done:
            on_problem_done(state["task_id"])

    in_flight = None
    with ThreadPoolExecutor(max_workers=1) as checker:
        while queue or in_flight:
            drawn = _draw_round(queue.popleft(), problems, generate, settings) if queue else None
            if in_flight:
                finish(*in_flight)
                in_flight = None
            if drawn:
                state, samples = drawn
                task_id = state["task_id"]
                in_flight = state, checker.submit(check_well_formed_completions, samples, {task_id: problems[task_id]},
                                                  workers=workers)
    return checked


def _draw_round(state: dict, problems: dict[str, dict], generate, settings: SamplingSettings) -> tuple[dict, list[dict]]:
    """The next round of one problem's samples (not yet checked); advances its state."""
    task_id = state["task_id"]
    count = min(settings.n, settings.budget - state["drawn"])
    seed = problem_seed(settings.seed, task_id, state["round"])
    completions = generate(problems[task_id], count, seed)
    if len(completions) != count:
        raise RuntimeError(f"{task_id}: the generator returned {len(completions)} completions, not {count}")
    for i, completion in enumerate(completions):  # the samples are built here, so this is their only check
        if not isinstance(completion, str):
            raise ValueError(f"{task_id}: completion {i} from the generator is a {type(completion).__name__}, not a string")
    samples = [{"task_id": task_id, "completion": c, "round": state["round"], "seed": seed, "index": i}
               for i, c in enumerate(completions)]
    state["drawn"] += count
    state["round"] += 1
    return state, samples


def record_pass_counts(path, rows: pd.DataFrame) -> None:
    """Put a run's rows into ``passcounts.csv``: appended, replacing that run's earlier rows for the same suite."""
    from bayes_scaling.ladder.results import locked_file

    path = Path(path)
    with locked_file(path):
        table = rows
        if path.exists():
            old = pd.read_csv(path, dtype={"run": str, "problem": str, "suite": str})
            same = old["run"].isin(rows["run"].unique())
            if "suite" in old and "suite" in rows:
                same &= old["suite"].isin(rows["suite"].unique())
            table = pd.concat([old[~same], rows], ignore_index=True)
        write_atomically(path, lambda temporary: table.to_csv(temporary, index=False))


def sample_code(checkpoint, problems="easy", *, out, settings: SamplingSettings = SamplingSettings(),
                passcounts=None, run: str | None = None, compute: float | None = None, device=None,
                workers: int | None = None, max_problems: int | None = None, progress: bool = True) -> dict:
    """Sample, check and count one checkpoint on one suite; returns a summary (counts, samples/s, paths).

    ``checkpoint`` is a rung folder (``model.pt`` and ``metrics.json``) or a ``model.pt``;
    ``run`` and ``compute`` default to the rung's ``metrics.json``. Writes the checked
    samples to ``out`` (JSONL, written as each round finishes) and, when ``passcounts``
    is given, the rung's rows to that CSV (replacing its earlier rows for this suite).
    """
    from bayes_scaling.ladder import require_ladder_extra

    require_ladder_extra()
    model_path, run, compute = _rung_identity(Path(checkpoint), run, compute)
    suite, problem_set = resolve_problems(problems, max_problems)
    return _sample_checkpoint(model_path, run, compute, suite, problem_set, out=out, settings=settings,
                              passcounts=passcounts, device=device, workers=workers, progress=progress)


def _sample_checkpoint(model_path: Path, run: str, compute: float, suite: str, problem_set: dict[str, dict], *, out,
                       settings: SamplingSettings, passcounts, device, workers: int | None, progress: bool) -> dict:
    """``sample_code`` once the ladder extra is known to be there and the checkpoint and suite are resolved."""
    from bayes_scaling.codeeval.generate import STOP_SEQUENCES, load_code_model, sample_completions, solution_nll

    code_model = load_code_model(model_path, device=device)
    generation = {"seconds": 0.0, "samples": 0}

    def generate(problem, n, seed):
        started = time.perf_counter()
        completions = sample_completions(code_model, problem["prompt"], n, temperature=settings.temperature,
                                         top_p=settings.top_p, max_new_tokens=settings.max_new_tokens, seed=seed,
                                         batch_size=settings.batch_size,
                                         stop=tuple(problem.get("stop") or STOP_SEQUENCES))
        if code_model.device.type == "cuda":
            import torch

            torch.cuda.synchronize()
        generation["seconds"] += time.perf_counter() - started
        generation["samples"] += n
        return completions

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    bar = _progress(len(problem_set), f"{run} {suite}", progress)
    with open(out, "w") as handle:
        def write_round(results):
            for result in results:
                handle.write(json.dumps({"run": run, "suite": suite, **result}) + "\n")
            handle.flush()

        results = sample_until(problem_set, generate, settings, workers=workers, on_round=write_round,
                               on_problem_done=lambda _: bar.update())
    bar.close()
    nll = {task_id: solution_nll(code_model, p["prompt"], p["canonical_solution"]) for task_id, p in problem_set.items()}
    rows = pass_counts(results, run=run, compute=compute, nll={k: v["nll"] for k, v in nll.items()}, suite=suite)
    rows["nll_per_byte"] = [nll[p]["nll_per_byte"] for p in rows["problem"]]
    for name in ("temperature", "top_p", "max_new_tokens", "seed"):
        rows[name] = getattr(settings, name)
    if passcounts is not None:
        record_pass_counts(passcounts, rows)
    return {
        "run": run, "suite": suite, "compute": compute, "problems": len(rows), "samples": int(rows["n"].sum()),
        "passes": int(rows["correct"].sum()), "problems_passed": int((rows["correct"] > 0).sum()),
        "generation_seconds": generation["seconds"],
        "samples_per_second": generation["samples"] / generation["seconds"] if generation["seconds"] else None,
        "device": str(code_model.device), "out": out, "passcounts": passcounts, "rows": rows,
        "settings": asdict(settings),
    }


def sample_ladder(definition, problems="easy", *, settings: SamplingSettings = SamplingSettings(), rungs=None,
                  device=None, workers: int | None = None, max_problems: int | None = None,
                  progress: bool = True) -> list[dict]:
    """``sample_code`` for every finished rung of a ladder not yet in its ``passcounts.csv`` for this suite.

    Samples go to ``rungs/<rung>/samples-<suite>.jsonl``; rows to ``<ladder>/passcounts.csv``.
    Unfinished rungs are skipped (train them first); returns one summary per rung sampled.
    """
    from bayes_scaling.ladder import load_ladder, require_ladder_extra

    require_ladder_extra()
    from bayes_scaling.ladder.trainer import is_finished

    ladder = load_ladder(definition)
    suite, problem_set = resolve_problems(problems, max_problems)  # once for every rung
    passcounts = ladder.directory / "passcounts.csv"
    done = set()
    if passcounts.exists():
        table = pd.read_csv(passcounts, dtype={"run": str, "suite": str})
        done = set(table.loc[table["suite"] == suite, "run"]) if "suite" in table else set()
    summaries = []
    for rung in ladder.select(rungs):
        rung_dir = ladder.rung_dir(rung)
        if rung.name in done or not is_finished(rung, rung_dir):
            continue
        model_path, run, compute = _rung_identity(rung_dir, None, None)
        summaries.append(_sample_checkpoint(model_path, run, compute, suite, problem_set,
                                            out=rung_dir / f"samples-{suite}.jsonl", settings=settings,
                                            passcounts=passcounts, device=device, workers=workers, progress=progress))
    return summaries


def _rung_identity(checkpoint: Path, run, compute) -> tuple[Path, str, float]:
    """The model file, run name and compute of a rung folder or ``model.pt`` (metrics.json fills the gaps)."""
    from bayes_scaling.ladder.results import read_metrics

    model_path = checkpoint / "model.pt" if checkpoint.is_dir() else checkpoint
    if not model_path.is_file():
        raise FileNotFoundError(f"no checkpoint at {model_path} (give a rung folder with model.pt, or a model.pt)")
    metrics = read_metrics(model_path.parent / "metrics.json") or {}
    run = run if run is not None else metrics.get("run")
    compute = compute if compute is not None else metrics.get("compute")
    if run is None or compute is None:
        raise ValueError(f"{model_path.parent}: no metrics.json with run and compute; pass run= and compute= (--run, --compute)")
    if not float(compute) > 0:
        raise ValueError(f"compute must be > 0, got {compute}")
    return model_path, str(run), float(compute)


def _progress(total: int, label: str, enabled: bool):
    from bayes_scaling.progress import progress_bar

    return progress_bar(enabled, total=total, desc=label, unit="problem")
