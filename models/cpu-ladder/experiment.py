"""The GPT-4 experiment on the CPU ladder: register forecasts from the small rungs, score them after.

    python models/cpu-ladder/experiment.py register   # after the small rungs are trained and evaluated
    python models/cpu-ladder/experiment.py score      # after the larger rungs are trained and evaluated
    python models/cpu-ladder/experiment.py tables     # the README's tables
    python models/cpu-ladder/experiment.py posthoc    # not registered: the loss fit with the extrapolation error
    python models/cpu-ladder/experiment.py rerun models/cpu-ladder/reruns/<name>   # a retraining elsewhere

``register`` fits the default laws to the rungs with at most 1/100 of the top rung's compute
and registers, in ``predictions.jsonl``, forecasts at every larger rung's compute of:

- ``loss``: the final validation loss (``runs.csv``), the loss law;
- ``humaneval-nll`` and ``easy-nll``: the mean negative log-likelihood (nats per problem) of the
  canonical solutions of HumanEval and of the easy suite (``passcounts.csv``'s ``nll``), which
  moves even where every pass count is 0; the loss law (a power law with a floor) on the means;
- ``easiest-pass-rate``: the mean pass rate on the easiest tier, with the pass-rate law, only
  where the small rungs' counts allow a fit (at least one problem solved at two or more rungs);
  else the record is not made and the note says why.

``score`` reads the larger rungs' actuals from the same files, scores every record
(``scores.csv``), and draws the loss forecast against all rungs (``fan.png``). ``rerun`` compares
the ladder retrained and evaluated from scratch on another machine (``reruns/*/``: its
``runs.csv``, ``passcounts.csv``, ``eval-times.csv`` and ``machine.json``) with the committed one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import bayes_scaling as bs

HERE = Path(__file__).resolve().parent
REGISTRY = HERE / "predictions.jsonl"
SMALL_SHARE = 1 / 100  # the rungs forecast from: at most this share of the top rung's compute
NLL_SUITES = ("humaneval", "easy")


def ladder_runs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(all rungs, the small ones, the larger ones) from the ladder's definition and runs.csv."""
    from bayes_scaling.ladder import load_ladder, plan

    planned = pd.DataFrame(plan(load_ladder(HERE / "ladder.toml"), flops_per_second=1.0))[["rung", "compute"]]
    planned = planned.rename(columns={"rung": "run"})
    small = planned["compute"] <= SMALL_SHARE * planned["compute"].max()
    return planned, planned[small], planned[~small]


def mean_nll(suite: str) -> pd.DataFrame:
    """One row per run: its compute and the mean canonical-solution NLL over the suite's problems."""
    counts = pd.read_csv(HERE / "passcounts.csv")
    counts = counts[counts["suite"] == suite]
    return counts.groupby(["run", "compute"], as_index=False)["nll"].mean().rename(columns={"nll": "loss"})


def easiest_counts() -> pd.DataFrame:
    counts = pd.read_csv(HERE / "passcounts.csv")
    return counts[counts["suite"] == "easiest"][["run", "compute", "problem", "n", "correct"]]


def register(seed: int) -> int:
    planned, small, large = ladder_runs()
    runs = pd.read_csv(HERE / "runs.csv")
    fitted = runs[runs["run"].isin(small["run"])][["run", "compute", "loss"]]
    missing = sorted(set(small["run"]) - set(fitted["run"]))
    if missing:
        raise SystemExit(f"error: small rungs not trained yet: {', '.join(missing)}")
    targets = list(large["compute"])
    where = f"fitted on {', '.join(small['run'])} ({len(small)} rungs <= 1/100 of the top); targets " + \
            ", ".join(f"{r} {c:.3g}" for r, c in zip(large["run"], large["compute"]))
    tables = {"loss": (fitted, "final validation loss (nats per token) of each larger rung, loss law")}
    for suite in NLL_SUITES:
        table = mean_nll(suite)
        table = table[table["run"].isin(small["run"])]
        tables[f"{suite}-nll"] = (table, f"mean canonical-solution NLL (nats per problem) on {suite}, loss law")
    for name, (table, what) in tables.items():
        table.attrs["note"] = f"measured: models/cpu-ladder, {what.split(',')[0]}, the {len(small)} small rungs"
        fc = bs.forecast(table, target=targets, seed=seed, progress=True)
        print(f"{name}: {what}\n{fc.to_frame().round(4).to_string(index=False)}\nsampler ok: {fc.ok}")
        bs.register(fc, REGISTRY, name=name, note=f"{what}; {where}")
    counts = easiest_counts()
    counts = counts[counts["run"].isin(small["run"])]
    solved = counts[counts["correct"] > 0].groupby("problem")["run"].nunique()
    if (solved >= 2).any():
        counts.attrs["note"] = "measured: models/cpu-ladder/passcounts.csv, easiest tier, the small rungs"
        fc = bs.forecast(counts, target=targets, law="pass_rate", seed=seed, progress=True)
        print(f"easiest-pass-rate:\n{fc.to_frame().round(4).to_string(index=False)}\nsampler ok: {fc.ok}")
        bs.register(fc, REGISTRY, name="easiest-pass-rate",
                    note=f"mean pass@1 on the easiest tier (one-expression bodies), pass-rate law; {where}")
    else:
        print(f"easiest-pass-rate: not registered: {int((solved >= 1).sum())} problems solved at any small rung, "
              f"none at two or more, too few counts for the pass-rate law")
    print(bs.verify(REGISTRY))
    return 0


def actuals(large: pd.DataFrame) -> pd.DataFrame:
    """(name, target, actual) for every registered quantity at every larger rung that has it."""
    rows = []
    runs = pd.read_csv(HERE / "runs.csv").set_index("run")
    for run, compute in zip(large["run"], large["compute"]):
        if run in runs.index:
            rows.append(("loss", compute, runs.loc[run, "loss"]))
    for suite in NLL_SUITES:
        for _, row in mean_nll(suite).iterrows():
            if row["run"] in set(large["run"]):
                rows.append((f"{suite}-nll", row["compute"], row["loss"]))
    counts = easiest_counts()
    for (run, compute), group in counts.groupby(["run", "compute"]):
        if run in set(large["run"]):
            rows.append(("easiest-pass-rate", compute, (group["correct"] / group["n"]).mean()))
    return pd.DataFrame(rows, columns=["name", "target", "actual"])


def score() -> int:
    planned, small, large = ladder_runs()
    registered = {record["name"] for record in _records()}
    observed = actuals(large)
    observed = observed[observed["name"].isin(registered)]
    scored = bs.score(REGISTRY, observed)
    finished = pd.read_csv(HERE / "runs.csv").set_index("run")["finished_at"].to_dict()
    rung_of = dict(zip(large["compute"], large["run"]))
    scored.insert(1, "rung", [rung_of.get(t, "") for t in scored["target"]])
    records = {(r["name"], r["target"]): r["registered"] for r in _records()}
    scored["registered"] = [records[(n, t)] for n, t in zip(scored["name"], scored["target"])]
    scored["finished_at"] = [finished.get(r, "") for r in scored["rung"]]
    measured = scored["actual"].notna()
    late = scored[measured & (pd.to_datetime(scored["finished_at"], utc=True) <= pd.to_datetime(scored["registered"], utc=True))]
    if len(late):
        raise SystemExit(f"error: {len(late)} records were registered after their rung finished: {late[['name', 'rung']].values.tolist()}")
    scored.to_csv(HERE / "scores.csv", index=False)
    columns = ["name", "rung", "target", "median", "lower_90", "upper_90", "actual", "inside_50", "inside_90", "pit", "abs_pct_error"]
    print(scored[columns].round(4).to_string(index=False))
    for name, group in scored[measured].groupby("name"):
        print(f"{name}: {int(group['inside_90'].sum())}/{len(group)} inside the 90% interval, "
              f"{int(group['inside_50'].sum())}/{len(group)} inside the 50%, median |error| {group['abs_pct_error'].median():.1f}%")
    _fan_chart(small, planned)
    return 0


def posthoc(seed: int) -> int:
    """Not registered: the registered loss fit again with the extrapolation error (issue 13), against the actuals."""
    _, small, large = ladder_runs()
    runs = pd.read_csv(HERE / "runs.csv")
    fitted = runs[runs["run"].isin(small["run"])][["run", "compute", "loss"]]
    actual = runs.set_index("run")["loss"]
    fc = bs.forecast(fitted, target=list(large["compute"]), seed=seed, progress=False, extrapolation_error="auto")
    lower, upper = fc.interval(0.9)
    frame = large.assign(median=np.median(fc.draws(), axis=0), lower_90=lower, upper_90=upper,
                         actual=large["run"].map(actual))
    print(f"loss law with extrapolation_error='auto', seed {seed}; sampler ok: {fc.ok}")
    print(frame.round(4).to_string(index=False))
    print("g at the largest fitted rung: " + ", ".join(f"{k} {v:.3g}" for k, v in fc.curvature.items()))
    return 0


def _fan_chart(small: pd.DataFrame, planned: pd.DataFrame) -> None:
    """The registered loss forecast's fan (refitted with the same seed and data) with every rung's actual loss."""
    import matplotlib.figure

    record = next(r for r in _records() if r["name"] == "loss")
    runs = pd.read_csv(HERE / "runs.csv")
    fitted = runs[runs["run"].isin(small["run"])][["run", "compute", "loss"]]
    targets = [r["target"] for r in _records() if r["name"] == "loss"]
    fc = bs.forecast(fitted, target=targets, seed=record["seed"], progress=False)
    figure = matplotlib.figure.Figure(figsize=(7, 4.5))
    ax = figure.subplots()
    fc.plot(ax=ax, actual=runs[~runs["run"].isin(small["run"])])
    ax.set_title(f"CPU ladder: loss forecast from the {len(fitted)} small rungs, registered before the larger ones", fontsize=9)
    figure.savefig(HERE / "fan.png", dpi=120)
    print(f"wrote {HERE / 'fan.png'}")


def machine(folder: Path) -> dict:
    """The CPU a ladder folder was trained on (``machine.json``): the shares of peak are of its peak."""
    import json

    return json.loads((folder / "machine.json").read_text())


def tables() -> int:
    """The README's tables: one row per rung, and the scored forecasts (Markdown)."""
    trained_on = machine(HERE)
    peak = trained_on["peak_fp32_flops"], trained_on["peak"]
    runs = pd.read_csv(HERE / "runs.csv").sort_values("compute")
    passcounts = pd.read_csv(HERE / "passcounts.csv")
    print("| rung | params | tokens | compute (FLOPs) | val loss | train time | tokens/s | GFLOP/s | of fp32 peak | of bf16 peak |"
          " easy: problems passed | easiest: problems passed | HumanEval NLL (nats/problem) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for _, run in runs.iterrows():
        flops = run["tokens_per_second"] * run["flops_per_token"]
        mine = passcounts[passcounts["run"] == run["run"]]
        passed = {suite: int((group["correct"] > 0).sum()) for suite, group in mine.groupby("suite")}
        sizes = {suite: len(group) for suite, group in mine.groupby("suite")}
        nll = mine[mine["suite"] == "humaneval"]["nll"].mean()
        cell = (lambda suite: f"{passed[suite]} of {sizes[suite]}" if suite in passed else "-")
        print(f"| {run['run']} | {run['params']:,} | {run['tokens']:,} | {run['compute']:.3g} | {run['loss']:.4f} | "
              f"{run['train_seconds'] / 60:.1f} min | {run['tokens_per_second']:,.0f} | {flops / 1e9:.0f} | "
              f"{flops / peak[0]:.0%} | {flops / (2 * peak[0]):.0%} | {cell('easy')} | {cell('easiest')} | {nll:.1f} |")
    print(f"\ntotal training time {runs['train_seconds'].sum() / 60:.1f} min; peak: {peak[1]}")
    if (HERE / "scores.csv").exists():
        scores = pd.read_csv(HERE / "scores.csv")
        print("\n| forecast | rung | target (FLOPs) | registered median | 90% interval | actual | inside 90% | PIT |")
        print("|---|---|---|---|---|---|---|---|")
        for _, row in scores[scores["actual"].notna()].iterrows():
            print(f"| {row['name']} | {row['rung']} | {row['target']:.3g} | {row['median']:.4g} | "
                  f"{row['lower_90']:.4g}–{row['upper_90']:.4g} | {row['actual']:.4g} | {'yes' if row['inside_90'] else '**no**'} | "
                  f"{row['pit']:.2f} |")
    return 0


def _records() -> list[dict]:
    import json

    return [json.loads(line) for line in REGISTRY.read_text().splitlines() if line.strip()]


def _problems_passed(passcounts: pd.DataFrame) -> pd.DataFrame:
    """Per run (rows) and suite (columns): how many problems passed at least once."""
    return passcounts.groupby(["run", "suite"])["correct"].agg(lambda c: int((c > 0).sum())).unstack(fill_value=0)


def rerun(folder: Path) -> int:
    """The ladder retrained and evaluated from scratch in ``folder`` (same definition, same corpus, the
    same commands), against the committed rungs: losses, time, throughput, and the evaluation's time."""
    where = machine(folder)
    committed = pd.read_csv(HERE / "runs.csv").set_index("run")
    again = pd.read_csv(folder / "runs.csv").sort_values("compute")
    if set(again["corpus_hash"]) != set(committed["corpus_hash"]):
        raise SystemExit(f"error: {folder} was trained on another corpus ({sorted(set(again['corpus_hash']))})")
    print(f"{where['cpu']}; peak: {where['peak']}\n")
    print("| rung | compute (FLOPs) | val loss, committed | val loss, rerun | difference | train time | tokens/s | GFLOP/s | of fp32 peak |")
    print("|---|---|---|---|---|---|---|---|---|")
    for _, run in again.iterrows():
        flops = run["tokens_per_second"] * run["flops_per_token"]
        before = committed.loc[run["run"], "loss"]
        print(f"| {run['run']} | {run['compute']:.3g} | {before:.4f} | {run['loss']:.4f} | {run['loss'] - before:+.4f} | "
              f"{run['train_seconds'] / 60:.1f} min | {run['tokens_per_second']:,.0f} | {flops / 1e9:.0f} | "
              f"{flops / where['peak_fp32_flops']:.0%} |")
    print(f"\ntotal training time {again['train_seconds'].sum() / 60:.1f} min "
          f"(the committed rungs: {committed['train_seconds'].sum() / 60:.1f} min, loaded)")
    times = pd.read_csv(folder / "eval-times.csv")
    passcounts = pd.read_csv(folder / "passcounts.csv")
    passed = _problems_passed(passcounts)
    print("\n| rung | easy suite | HumanEval | easiest tier | evaluation time | easiest: problems passed (committed) |")
    print("|---|---|---|---|---|---|")
    before = _problems_passed(pd.read_csv(HERE / "passcounts.csv"))["easiest"]
    for run in again["run"]:
        mine = times[times["rung"] == run].set_index("suite")["seconds"]
        print(f"| {run} | {mine.get('easy', np.nan) / 60:.1f} min | {mine.get('humaneval', np.nan) / 60:.1f} min | "
              f"{mine.get('easiest', np.nan) / 60:.1f} min | {mine.sum() / 60:.1f} min | "
              f"{passed.loc[run, 'easiest'] if run in passed.index else '-'} ({before.get(run, '-')}) |")
    print(f"\ntotal evaluation time {times['seconds'].sum() / 60:.1f} min; "
          f"easy-suite problems passed at any rung: {int(passed.get('easy', pd.Series(dtype=int)).sum())}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["register", "score", "tables", "posthoc", "rerun"])
    parser.add_argument("folder", nargs="?", type=Path, help="rerun: the retrained ladder's folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.step == "rerun" and args.folder is None:
        parser.error("rerun needs the retrained ladder's folder, e.g. models/cpu-ladder/reruns/<name>")
    steps = {"register": lambda: register(args.seed), "score": score, "tables": tables,
             "posthoc": lambda: posthoc(args.seed), "rerun": lambda: rerun(args.folder)}
    return steps[args.step]()


if __name__ == "__main__":
    sys.exit(main())
