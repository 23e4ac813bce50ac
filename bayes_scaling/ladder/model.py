"""A small GPT in one readable file: the model every ladder rung trains.

Pre-norm transformer blocks, causal attention through ``F.scaled_dot_product_attention``
(flash / memory-efficient kernels where the device has them), learned position
embeddings, no biases, and the output head tied to the token embedding. The config counts
its own parameters and training FLOPs, so a rung's compute is computed from the config,
never guessed from a log.

FLOPs per token (forward + backward = 3 × forward, a multiply-add counts as 2 FLOPs)::

    6 · N_matmul  +  12 · n_layer · d_model · seq_len

``N_matmul`` is the parameters that take part in a matrix multiply: ``12 · d_model²``
per layer (q, k, v and output projections, the 4× MLP) plus the tied output head
``vocab_size · d_model``. The embedding lookups and layer norms cost no matmul FLOPs and
are left out. The second term is attention's ``QKᵀ`` and ``AV`` products over the full
``seq_len × seq_len`` score matrix (as in PaLM and nanoGPT; causal masking is not
credited). ``torch.utils.flop_counter.FlopCounterMode`` agrees exactly (tests/test_ladder_model.py).

A key/value cache makes generation incremental: ``model(idx, cache=cache)`` appends
the new positions' keys and values to ``cache`` and returns logits for the new tokens
only. Every row of a batch shares one position, so a batch is many samples of one prompt
(or prompts of equal length) — what sampling code completions needs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["GPT", "GPTConfig", "KVCache", "load_model"]


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int
    seq_len: int
    d_model: int
    n_layer: int
    n_head: int

    def __post_init__(self):
        for name in ("vocab_size", "seq_len", "d_model", "n_layer", "n_head"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"GPTConfig.{name} must be a positive integer, got {value!r}")
        if self.d_model % self.n_head:
            raise ValueError(f"GPTConfig: d_model {self.d_model} is not divisible by n_head {self.n_head}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    @property
    def embedding_params(self) -> int:
        """Token embedding (shared with the output head) plus position embedding."""
        return (self.vocab_size + self.seq_len) * self.d_model

    @property
    def non_embedding_params(self) -> int:
        """Parameters outside the embeddings (Kaplan et al.'s N): blocks and the final norm."""
        per_layer = 12 * self.d_model**2 + 2 * self.d_model  # attention + MLP weights, two norms
        return self.n_layer * per_layer + self.d_model  # final norm

    @property
    def params(self) -> int:
        """Every trainable parameter, the tied embedding counted once."""
        return self.embedding_params + self.non_embedding_params

    @property
    def flops_per_token(self) -> int:
        """Training FLOPs per token (forward + backward); see the module docstring."""
        matmul_params = 12 * self.n_layer * self.d_model**2 + self.vocab_size * self.d_model
        attention = 12 * self.n_layer * self.d_model * self.seq_len
        return 6 * matmul_params + attention

    def to_dict(self) -> dict:
        return asdict(self)


KVCache = list  # one (keys, values) pair per layer, each (batch, n_head, positions, head_dim)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=False)
        self.proj = nn.Linear(config.d_model, config.d_model, bias=False)

    def forward(self, x, past=None):
        batch, steps, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)
        q, k, v = (t.view(batch, steps, self.n_head, -1).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        known = k.shape[2] - steps  # positions already in the cache
        if known == 0:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        elif steps == 1:
            y = F.scaled_dot_product_attention(q, k, v)  # one new token sees everything before it
        else:  # several new tokens after a cache: causal mask aligned to the end
            mask = torch.ones(steps, k.shape[2], dtype=torch.bool, device=x.device).tril(diagonal=known)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).contiguous().view(batch, steps, width)
        return self.proj(y), (k, v)


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(config.d_model, bias=False)
        self.attn = CausalSelfAttention(config)
        self.norm2 = nn.LayerNorm(config.d_model, bias=False)
        self.mlp = nn.Sequential(
            nn.Linear(config.d_model, 4 * config.d_model, bias=False),
            nn.GELU(approximate="tanh"),
            nn.Linear(4 * config.d_model, config.d_model, bias=False),
        )

    def forward(self, x, past=None):
        attended, present = self.attn(self.norm1(x), past)
        x = x + attended
        return x + self.mlp(self.norm2(x)), present


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embedding = nn.Embedding(config.seq_len, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.norm = nn.LayerNorm(config.d_model, bias=False)
        self.apply(self._init_weights)
        # GPT-2's scaled init of the projections that write into the residual stream.
        for name, param in self.named_parameters():
            if name.endswith("attn.proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None, cache: KVCache | None = None):
        """Logits for ``idx`` (batch, steps); with ``targets``, also the mean cross-entropy.

        With ``cache`` (a list, empty at the start of a sequence) the new keys and values
        are appended to it and positions continue after the cached ones.
        """
        start = cache_length(cache)
        steps = idx.shape[1]
        if start + steps > self.config.seq_len:
            raise ValueError(f"sequence of {start + steps} tokens is longer than seq_len {self.config.seq_len}")
        positions = torch.arange(start, start + steps, device=idx.device)
        x = self.token_embedding(idx) + self.position_embedding(positions)
        for layer, block in enumerate(self.blocks):
            past = cache[layer] if start else None
            x, present = block(x, past)
            if cache is not None:
                if start:
                    cache[layer] = present
                else:
                    cache.append(present)
        logits = F.linear(self.norm(x), self.token_embedding.weight)  # tied output head
        if targets is None:
            return logits
        loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 generator: torch.Generator | None = None):
        """Sample ``max_new_tokens`` after ``idx`` (batch, steps) with the KV cache; returns only the new tokens.

        ``temperature=0`` is greedy decoding. Stops early at ``seq_len``.
        """
        cache: KVCache = []
        logits = self(idx, cache=cache)[:, -1]
        new = []
        for _ in range(min(max_new_tokens, self.config.seq_len - idx.shape[1] + 1)):
            token = sample_next(logits, temperature, top_k, generator)
            new.append(token)
            if cache_length(cache) >= self.config.seq_len:
                break
            logits = self(token, cache=cache)[:, -1]
        return torch.cat(new, dim=1) if new else idx[:, :0]


def load_model(path, device="cpu") -> tuple[GPT, dict]:
    """A trained rung's ``model.pt``: the model (eval mode) and the file's other fields.

    The other fields include ``tokenizer`` (the tokenizer as JSON text, for
    ``tokenizers.Tokenizer.from_str``) and ``config_hash``.
    """
    state = torch.load(path, map_location=device, weights_only=True)
    model = GPT(GPTConfig(**state.pop("config"))).to(device)
    model.load_state_dict(state.pop("model"))
    return model.eval(), state


def cache_length(cache: KVCache | None) -> int:
    """Positions already held in a KV cache (0 for none or an empty one)."""
    return cache[0][0].shape[2] if cache else 0


def sample_next(logits, temperature: float, top_k: int | None, generator=None, top_p: float = 1.0):
    """One token id per row, shape (batch, 1), from last-position logits.

    ``top_p`` < 1 is nucleus sampling: only the most likely tokens whose probabilities
    add up to ``top_p`` (at least one) can be drawn.
    """
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits.float() / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = F.softmax(logits, dim=-1)
    if top_p < 1:
        ranked, order = probs.sort(dim=-1, descending=True)
        ranked = ranked.masked_fill(ranked.cumsum(dim=-1) - ranked >= top_p, 0.0)  # the mass before it reaches top_p
        probs = torch.zeros_like(probs).scatter_(-1, order, ranked)
    return torch.multinomial(probs, 1, generator=generator)
