"""Run a ladder: prepare its corpus once, then train each unfinished rung in turn.

Rungs are independent jobs. This driver runs the selected ones one after another in one
process and skips every rung whose ``metrics.json`` matches its current config; to spread
a ladder over a cluster, start one job per rung with your own launcher (a Slurm array, one
``--rungs NAME`` per task; see docs/ladder.md). There is no scheduler here.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from bayes_scaling.ladder.definition import Ladder, Rung, load_ladder
from bayes_scaling.ladder.precision import EmulatedBf16Warning, emulated_bf16_note

__all__ = ["cache_dir", "plan", "prepare_ladder_corpus", "run_ladder"]

# Model FLOPs utilisation assumed for a dry run's time estimate on a GPU from the peak table.
ASSUMED_MFU = 0.4


def cache_dir(rung: Rung) -> Path:
    """Where corpora and tokenizers are kept: ``[corpus] cache_dir``, $BAYES_SCALING_CACHE, or ~/.cache/bayes_scaling."""
    if rung.corpus["cache_dir"]:
        return rung.ladder_dir / rung.corpus["cache_dir"]
    configured = os.environ.get("BAYES_SCALING_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "bayes_scaling"


def prepare_ladder_corpus(rung: Rung):
    """The packed corpus a rung trains on (built on first use, cached afterwards)."""
    from bayes_scaling.ladder.corpus import prepare_corpus

    spec = rung.corpus
    return prepare_corpus(rung.corpus_dirs, vocab_size=spec["vocab_size"], cache_dir=cache_dir(rung),
                          val_fraction=spec["val_fraction"], max_files=spec["max_files"], max_bytes=spec["max_bytes"])


def _corpus_once(rung: Rung, built: dict):
    """``prepare_ladder_corpus``, once per distinct corpus: even a cached corpus re-reads and
    hashes every source file to find its cache, and the rungs of a ladder share one corpus."""
    key = (repr(rung.corpus_dirs), repr(sorted(rung.corpus.items())), str(cache_dir(rung)))
    if key not in built:
        built[key] = prepare_ladder_corpus(rung)
    return built[key]


def plan(ladder: Ladder, rungs=None, device=None, flops_per_second: float | None = None,
         with_corpus: bool = False, measure: bool = False) -> list[dict]:
    """One row per selected rung: size, budget, FLOPs, estimated time, and whether it is done (no training).

    The time is compute / ``flops_per_second`` when given, else compute / (peak × 0.4 MFU)
    on a GPU in the peak table, else, on CPU with ``measure``, the rung's steps times the
    seconds per step measured here (a few steps of the rung on random tokens:
    ``hardware.measure_step_seconds``), else unknown (None). ``with_corpus`` builds (or loads) the corpus to add ``train_passes``,
    the passes over the training split each rung makes.
    """
    from bayes_scaling.ladder.hardware import measure_step_seconds, peak_flops
    from bayes_scaling.ladder.trainer import is_finished

    cpu = measure and (device is None or str(device) == "cpu")
    if flops_per_second is None and device is not None and str(device) != "cpu":
        peak = peak_flops(device)
        flops_per_second = peak * ASSUMED_MFU if peak else None
    rows, corpora = [], {}
    for rung in ladder.select(rungs):
        budget = rung.budget()
        if flops_per_second:
            seconds = budget.compute / flops_per_second
        elif cpu:
            seconds = budget.steps * measure_step_seconds(rung, "cpu")
        else:
            seconds = None
        rows.append({
            "rung": rung.name,
            "params": budget.params,
            "non_embedding_params": budget.non_embedding_params,
            "tokens": budget.tokens,
            "steps": budget.steps,
            "flops_per_token": budget.flops_per_token,
            "compute": budget.compute,
            "estimated_seconds": seconds,
            "finished": is_finished(rung, ladder.rung_dir(rung)),
        })
        if with_corpus:
            rows[-1]["train_passes"] = budget.tokens / _corpus_once(rung, corpora).manifest["train_tokens"]
    return rows


def run_ladder(path, rungs=None, device=None, progress: bool = True) -> list[dict]:
    """Train the selected rungs of the ladder at ``path`` that are not finished; returns every selected rung's metrics."""
    from bayes_scaling.ladder.results import record_run
    from bayes_scaling.ladder.trainer import finished_metrics, train_rung

    ladder = load_ladder(path)
    results, corpora, warned = [], {}, False
    for rung in ladder.select(rungs):
        rung_dir = ladder.rung_dir(rung)
        metrics = finished_metrics(rung, rung_dir)
        if metrics is not None:
            metrics.pop("training", None)
            if os.environ.get("RANK", "0") == "0":
                record_run(ladder.runs_path, metrics)  # idempotent: restores a row lost to a kill after metrics.json
            results.append(metrics)
            continue
        note = None if warned else emulated_bf16_note(device, rung.training["precision"])
        if note:
            warnings.warn(f"ladder {ladder.name}: {note}", EmulatedBf16Warning, stacklevel=2)
            warned = True
        corpus = _corpus_once(rung, corpora)
        results.append(train_rung(rung, rung_dir, ladder.runs_path, corpus, device=device, progress=progress,
                                  ladder_name=ladder.name))
    return results
