"""The GPT: parameter and FLOP counts against independent counts, and KV-cached decoding against the full forward."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from bayes_scaling.ladder.model import GPT, GPTConfig  # noqa: E402

CONFIG = GPTConfig(vocab_size=300, seq_len=32, d_model=48, n_layer=3, n_head=4)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return GPT(CONFIG).eval()


def test_parameter_counts_match_the_module(model):
    counted = sum(p.numel() for p in model.parameters())  # a tied weight is listed once
    embeddings = model.token_embedding.weight.numel() + model.position_embedding.weight.numel()
    assert CONFIG.params == counted
    assert CONFIG.non_embedding_params == counted - embeddings


@pytest.mark.parametrize("config", [CONFIG, GPTConfig(vocab_size=512, seq_len=16, d_model=64, n_layer=2, n_head=2)])
def test_flops_per_token_match_torch_flop_counter(config):
    """FlopCounterMode counts every matmul of a forward + backward; the math SDPA kernel shows attention's to it."""
    torch.manual_seed(0)
    model = GPT(config)
    batch = 2
    idx = torch.randint(0, config.vocab_size, (batch, config.seq_len + 1))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        _, loss = model(idx[:, :-1], idx[:, 1:])
        loss.backward()
    assert counter.get_total_flops() == config.flops_per_token * batch * config.seq_len


def test_tied_output_head_shares_the_embedding(model):
    idx = torch.randint(0, CONFIG.vocab_size, (1, 5))
    with torch.no_grad():  # token 7 never appears in the input, so only the output head sees row 7
        idx[idx == 7] = 8
        logits = model(idx)
        model.token_embedding.weight[7].add_(1.0)
        changed = model(idx)
        model.token_embedding.weight[7].sub_(1.0)
    assert not torch.allclose(logits[..., 7], changed[..., 7])
    torch.testing.assert_close(logits[..., :7], changed[..., :7])


def test_cached_decoding_matches_the_full_forward(model):
    """Prefill, then one token at a time and a multi-token chunk, on a batch: same logits as one full pass."""
    torch.manual_seed(1)
    idx = torch.randint(0, CONFIG.vocab_size, (3, 20))
    with torch.no_grad():
        full = model(idx)
        cache = []
        pieces = [model(idx[:, :8], cache=cache)]
        for position in range(8, 12):
            pieces.append(model(idx[:, position:position + 1], cache=cache))
        pieces.append(model(idx[:, 12:20], cache=cache))  # several new tokens after a cache
    stepped = torch.cat(pieces, dim=1)
    assert len(cache) == CONFIG.n_layer and cache[0][0].shape == (3, CONFIG.n_head, 20, CONFIG.head_dim)
    torch.testing.assert_close(stepped, full, rtol=1e-4, atol=1e-5)


def test_greedy_generate_matches_recomputing_from_scratch(model):
    torch.manual_seed(2)
    prompt = torch.randint(0, CONFIG.vocab_size, (2, 6))
    new = model.generate(prompt, max_new_tokens=10, temperature=0)
    sequence = prompt
    with torch.no_grad():
        for _ in range(10):
            sequence = torch.cat([sequence, model(sequence)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert new.shape == (2, 10)
    assert torch.equal(new, sequence[:, 6:])


def test_sampling_is_seeded_and_stops_at_seq_len(model):
    prompt = torch.zeros(4, 28, dtype=torch.long)
    first = model.generate(prompt, 50, temperature=1.0, top_k=20, generator=torch.Generator().manual_seed(3))
    again = model.generate(prompt, 50, temperature=1.0, top_k=20, generator=torch.Generator().manual_seed(3))
    assert torch.equal(first, again)
    assert first.shape == (4, CONFIG.seq_len - 28 + 1)  # the last token is sampled from a full context
    with pytest.raises(ValueError, match="longer than seq_len 32"):
        model(torch.zeros(1, 33, dtype=torch.long))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"d_model": 50, "n_head": 4}, "d_model 50 is not divisible by n_head 4"),
        ({"n_layer": 0}, "n_layer must be a positive integer, got 0"),
        ({"vocab_size": 2.5}, "vocab_size must be a positive integer"),
    ],
)
def test_bad_configs_are_named(fields, message):
    settings = {"vocab_size": 300, "seq_len": 32, "d_model": 48, "n_layer": 2, "n_head": 4, **fields}
    with pytest.raises(ValueError, match=message):
        GPTConfig(**settings)
