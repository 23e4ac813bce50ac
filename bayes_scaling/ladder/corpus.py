"""The ladder's training data: Python source files, de-duplicated, split by file, packed as token ids.

Real code on every machine with no download: by default the running interpreter's standard
library and site-packages. Files are de-duplicated by content hash (site-packages repeats
itself: vendored copies, several versions of one library), and each file goes wholly to
train or validation by its hash, so no validation file leaks into training through a copy.

The corpus hash covers the selected files' contents and the split, not their paths, so two
machines with the same files share a hash. Token ids are written once per (corpus hash,
vocabulary size) to ``train.bin`` and ``val.bin`` (uint16 when the vocabulary fits, else
uint32), read back with ``np.memmap``, with a ``manifest.json`` that records what went in.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import site
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayes_scaling.ladder.tokenizer import END_OF_TEXT, load_or_train_tokenizer

__all__ = ["Corpus", "default_source_dirs", "gather_sources", "prepare_corpus"]

_ENCODE_CHUNK = 512  # files per encode_batch call: bounded memory on a 300 MB corpus


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str
    text: str

    @property
    def validation_key(self) -> float:
        """A number in [0, 1) fixed by the content: the file is held out when it is below the fraction."""
        return int(self.sha256[:12], 16) / 16**12


@dataclass(frozen=True)
class Corpus:
    """A prepared corpus: memory-mapped token files and the manifest that says what is in them."""

    directory: Path
    manifest: dict

    @property
    def dtype(self):
        return np.dtype(self.manifest["dtype"])

    def tokens(self, split: str) -> np.memmap:
        """The packed token ids of ``"train"`` or ``"val"``, memory-mapped read-only."""
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        return np.memmap(self.directory / f"{split}.bin", dtype=self.dtype, mode="r")

    @property
    def tokenizer_path(self) -> Path:
        return self.directory / "tokenizer.json"


def default_source_dirs() -> list[Path]:
    """The running interpreter's standard library and site-packages directories that exist."""
    candidates = [sysconfig.get_paths()["stdlib"], *site.getsitepackages(), site.getusersitepackages()]
    seen, dirs = set(), []
    for candidate in candidates:
        path = Path(candidate)
        if path.is_dir() and path.resolve() not in seen:
            seen.add(path.resolve())
            dirs.append(path)
    return dirs


def gather_sources(dirs, max_files: int | None = None, max_bytes: int | None = None) -> list[SourceFile]:
    """Every distinct ``.py`` file under ``dirs``, walked in sorted order, up to the limits.

    Files that are not UTF-8, are empty, or repeat the content of one already taken are
    skipped; ``__pycache__`` folders are not entered. ``max_files`` and ``max_bytes`` cap
    the selection (the walk stops once either is reached) so tests and dry runs stay quick.
    """
    taken: list[SourceFile] = []
    hashes: set[str] = set()
    visited: set[Path] = set()
    total = 0
    for directory in map(Path, dirs):
        if not directory.is_dir():
            raise FileNotFoundError(f"corpus directory {directory} does not exist")
        for path in _python_files(directory):
            real = path.resolve()
            if real in visited:
                continue
            visited.add(real)
            try:
                data = path.read_bytes()
                text = data.decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            digest = hashlib.sha256(data).hexdigest()
            if not text.strip() or digest in hashes:
                continue
            if max_bytes is not None and total + len(data) > max_bytes:
                return taken
            hashes.add(digest)
            taken.append(SourceFile(str(path), digest, text))
            total += len(data)
            if max_files is not None and len(taken) >= max_files:
                return taken
    return taken


def _python_files(directory: Path):
    for root, subdirs, files in os.walk(directory):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(root) / name


def corpus_hash(sources: list[SourceFile], val_fraction: float) -> str:
    """Hash of the selected contents and the split rule; independent of paths and walk order."""
    digest = hashlib.sha256(f"python-corpus-v1 val_fraction={val_fraction!r}\n".encode())
    for sha in sorted(source.sha256 for source in sources):
        digest.update(sha.encode())
    return digest.hexdigest()


def prepare_corpus(dirs=None, *, vocab_size: int, cache_dir, val_fraction: float = 0.01,
                   max_files: int | None = None, max_bytes: int | None = None) -> Corpus:
    """Gather, split, tokenize and pack a corpus, or load it from ``cache_dir`` if it was packed before."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}")
    dirs = default_source_dirs() if dirs is None else [Path(d) for d in dirs]
    sources = gather_sources(dirs, max_files=max_files, max_bytes=max_bytes)
    splits = {"train": [], "val": []}
    for source in sorted(sources, key=lambda s: s.sha256):  # stream order fixed by content
        splits["val" if source.validation_key < val_fraction else "train"].append(source)
    for split, files in splits.items():
        if not files:
            raise ValueError(
                f"the corpus from {', '.join(map(str, dirs))} has {len(sources)} distinct .py files and none in "
                f"the {split} split (val_fraction {val_fraction}); give more files or change val_fraction"
            )
    digest = corpus_hash(sources, val_fraction)
    cache_dir = Path(cache_dir)
    directory = cache_dir / "corpus" / f"{digest[:16]}-v{vocab_size}"
    if (directory / "manifest.json").exists():
        return Corpus(directory, json.loads((directory / "manifest.json").read_text()))

    tokenizer, _ = load_or_train_tokenizer((s.text for s in splits["train"]), vocab_size, digest, cache_dir)
    dtype = np.uint16 if vocab_size <= 2**16 else np.uint32
    temporary = directory.with_name(f"{directory.name}.{os.getpid()}.tmp")
    temporary.mkdir(parents=True, exist_ok=True)
    end = tokenizer.token_to_id(END_OF_TEXT)
    counts = {split: _pack(files, tokenizer, end, dtype, temporary / f"{split}.bin") for split, files in splits.items()}
    tokenizer.save(str(temporary / "tokenizer.json"))
    manifest = {
        "hash": digest,
        "dirs": [str(d) for d in dirs],
        "python": sys.version.split()[0],
        "max_files": max_files,
        "max_bytes": max_bytes,
        "val_fraction": val_fraction,
        "vocab_size": vocab_size,
        "tokenizer_vocab_size": tokenizer.get_vocab_size(),
        "dtype": np.dtype(dtype).name,
        "end_of_text_id": end,
        **{f"{split}_files": len(files) for split, files in splits.items()},
        **{f"{split}_bytes": sum(len(s.text.encode()) for s in files) for split, files in splits.items()},
        **{f"{split}_tokens": count for split, count in counts.items()},
    }
    (temporary / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    try:
        os.rename(temporary, directory)
    except OSError:  # another process packed the same corpus first: use theirs
        shutil.rmtree(temporary, ignore_errors=True)
    return Corpus(directory, json.loads((directory / "manifest.json").read_text()))


def _pack(files: list[SourceFile], tokenizer, end: int, dtype, path: Path) -> int:
    """Append each file's token ids and an end-of-text token to ``path``; returns the token count."""
    count = 0
    with open(path, "wb") as out:
        for start in range(0, len(files), _ENCODE_CHUNK):
            chunk = files[start:start + _ENCODE_CHUNK]
            for encoding in tokenizer.encode_batch([s.text for s in chunk], add_special_tokens=False):
                ids = np.asarray(encoding.ids + [end], dtype=dtype)
                ids.tofile(out)
                count += len(ids)
    return count
