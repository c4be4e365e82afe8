"""The hand-unrolled biLSTM against torch.nn.LSTM, and the neuron naming scheme."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from translit_core.checkpoint import DEFAULT_CHECKPOINT
from translit_core.model import ModelConfig, TranslitNet
from translit_core.unrolled import LAYERS, NeuronId, UnknownName, layer_activations, layer_sizes, unrolled_bilstm


def tiny_model(seed=0, n_in=13, n_out=7, lstm=6, hidden=5) -> TranslitNet:
    torch.manual_seed(seed)
    model = TranslitNet(ModelConfig(n_in=n_in, n_out=n_out, lstm=lstm, hidden=hidden)).eval()
    with torch.no_grad():   # larger weights than the default init, so gates leave their linear range
        for p in model.parameters():
            p.mul_(3.0)
    return model


def concat(parts):
    return torch.cat([parts["h.fwd"], parts["h.bwd"]], dim=-1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_h_equals_nn_lstm_on_random_inputs(seed):
    model = tiny_model(seed)
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 13, (4, 11), generator=g)
    onehot = F.one_hot(x, 13).float()
    reference, _ = model.lstm(onehot)                                  # (B, T, 2H)
    with torch.no_grad():
        assert torch.allclose(concat(unrolled_bilstm(model.lstm, onehot)), reference, atol=1e-5)
        # Class indices take the gather path; dense (non one-hot) inputs the matmul path.
        assert torch.allclose(concat(unrolled_bilstm(model.lstm, x)), reference, atol=1e-5)
        dense = torch.randn(4, 11, 13, generator=g)
        assert torch.allclose(concat(unrolled_bilstm(model.lstm, dense)), model.lstm(dense)[0], atol=1e-5)


def test_padded_rows_match_each_sequence_alone():
    model = tiny_model(3)
    g = torch.Generator().manual_seed(3)
    lengths = torch.tensor([9, 3, 6, 1])
    x = torch.randint(2, 13, (4, 9), generator=g)
    x[torch.arange(9).unsqueeze(0) >= lengths.unsqueeze(1)] = 0        # padding
    with torch.no_grad():
        parts = unrolled_bilstm(model.lstm, x, lengths)
        for b, n in enumerate(lengths.tolist()):
            alone, _ = model.lstm(F.one_hot(x[b:b + 1, :n], 13).float())
            assert torch.allclose(concat(parts)[b, :n], alone[0], atol=1e-5)


def test_gates_and_cells_obey_the_lstm_equations():
    model = tiny_model(4)
    x = torch.randint(0, 13, (3, 8), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        p = unrolled_bilstm(model.lstm, x)
    for d in ("fwd", "bwd"):
        assert torch.allclose(p[f"h.{d}"], p[f"o.{d}"] * p[f"c.{d}"].tanh(), atol=1e-6)
        before = p["c_prev.fwd"] if d == "fwd" else p["c_next.bwd"]
        assert torch.allclose(p[f"c.{d}"], p[f"f.{d}"] * before + p[f"i.{d}"] * p[f"g.{d}"], atol=1e-6)
    # The neighbouring cell is the previous position's (forward) / next position's (backward), 0 at the ends.
    assert torch.equal(p["c_prev.fwd"][:, 1:], p["c.fwd"][:, :-1])
    assert torch.equal(p["c_next.bwd"][:, :-1], p["c.bwd"][:, 1:])
    assert not p["c_prev.fwd"][:, 0].any() and not p["c_next.bwd"][:, -1].any()
    # Gates are in their ranges and not all saturated (the test would be vacuous otherwise).
    for gate in ("i", "f", "o"):
        assert 0 < p[f"{gate}.fwd"].min() and p[f"{gate}.fwd"].max() < 1
    assert p["g.bwd"].abs().max() < 1 and p["g.bwd"].std() > 0.1


def test_layer_activations_reproduce_the_model_output():
    model = tiny_model(5)
    x = torch.randint(0, 13, (2, 7), generator=torch.Generator().manual_seed(5))
    acts = layer_activations(model, x)
    assert list(acts) == list(LAYERS)
    assert torch.allclose(acts["output"], model(x), atol=1e-5)
    sizes = layer_sizes(6, 5, 7)
    assert all(acts[name].shape == (2, 7, sizes[name]) for name in LAYERS)


def test_neuron_names_round_trip_and_bad_names_list_the_valid_ones():
    n = NeuronId.parse("concat.fwd:70")
    assert n == NeuronId("concat.fwd", 70) and str(n) == "concat.fwd:70"
    assert str(NeuronId.parse("gate.bwd.g:6")) == "gate.bwd.g:6"
    with pytest.raises(UnknownName, match="cell_next.bwd"):            # the message lists the layers
        NeuronId.parse("concat.up:3")
    with pytest.raises(UnknownName, match="LAYER:INDEX"):
        NeuronId.parse("hidden")
    with pytest.raises(UnknownName, match=r"0\.\.227"):
        NeuronId.parse("hidden:228", layer_sizes(228, 228, 90))
    assert isinstance(UnknownName("x"), ValueError)


@pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "model.safetensors").is_file(), reason="no shipped checkpoint")
def test_h_equals_nn_lstm_on_the_shipped_checkpoint():
    from translit_core.checkpoint import load_checkpoint
    model, alphabets, _ = load_checkpoint()
    texts = ["barev dzez, inch ka chka?", "hayastani mayraqaxaqy Yerevann e:"]
    lengths = torch.tensor([len(t) for t in texts])
    x = torch.zeros(2, int(lengths.max()), dtype=torch.long)
    for b, t in enumerate(texts):
        x[b, : len(t)] = torch.tensor(alphabets.encode_input(t))
    with torch.no_grad():
        parts = unrolled_bilstm(model.lstm, x, lengths)
        for b, t in enumerate(texts):
            alone, _ = model.lstm(F.one_hot(x[b:b + 1, : len(t)], model.config.n_in).float())
            assert torch.allclose(concat(parts)[b, : len(t)], alone[0], atol=1e-5)
        acts = layer_activations(model, x[:1, : len(texts[0])])
        assert torch.allclose(acts["output"], model(x[:1, : len(texts[0])]), atol=1e-4)
