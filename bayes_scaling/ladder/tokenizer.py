"""Byte-level BPE trained on the ladder's corpus with HF ``tokenizers``, cached by corpus hash.

Byte-level, so every Python file (any Unicode, any whitespace) round-trips exactly. One
special token, ``<|endoftext|>``, separates files in the packed token stream. Training
takes seconds on a few MB and a minute or two on site-packages, so the trained tokenizer
is saved once per (corpus hash, vocabulary size) and loaded from then on.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bayes_scaling.atomic_write import write_atomically

__all__ = ["END_OF_TEXT", "load_or_train_tokenizer"]

END_OF_TEXT = "<|endoftext|>"


def load_or_train_tokenizer(texts: Iterable[str], vocab_size: int, corpus_hash: str, cache_dir: Path):
    """The tokenizer for this corpus and vocabulary size: from the cache, or trained on ``texts`` and saved there."""
    from tokenizers import Tokenizer

    path = Path(cache_dir) / "tokenizers" / f"{corpus_hash[:16]}-v{vocab_size}.json"
    if path.exists():
        return Tokenizer.from_file(str(path)), path
    tokenizer = train_tokenizer(texts, vocab_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda temporary: tokenizer.save(str(temporary)))  # a concurrent trainer writes the same file
    return tokenizer, path


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A fresh byte-level BPE with ``vocab_size`` entries at most (fewer if the corpus is tiny)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if vocab_size < 257 + 1:
        raise ValueError(f"vocab_size {vocab_size} is too small: a byte-level BPE needs 256 byte tokens and {END_OF_TEXT}")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[END_OF_TEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer
