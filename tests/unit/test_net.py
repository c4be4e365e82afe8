"""The network's hooked step-by-step pass against torch.nn.LSTM and the fused forward, the
hook points (read and change every named activation, inside the recurrence), and the names."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tiny import tiny_net

from translit_core.model.names import LAYERS, LSTM_LAYERS, NeuronId, UnknownName, layer_sizes
from translit_core.analysis.graph import edge_weights
from translit_core.model.net import Intervention, compile_hooks, lstm_steps
from translit_core.settings import DEFAULT_CHECKPOINT


def concat(cache):
    return torch.cat([cache["concat.fwd"], cache["concat.bwd"]], dim=-1)


def inputs(seed, B=4, T=11, n_in=13):
    return torch.randint(0, n_in, (B, T), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_path_equals_nn_lstm(seed):
    model = tiny_net(seed)
    x = inputs(seed)
    with torch.no_grad():
        reference, _ = model.lstm(F.one_hot(x, 13).float())                 # (B, T, 2H)
        _, cache = model.run_with_cache(x, names=["concat.fwd", "concat.bwd"])
    assert torch.allclose(concat(cache), reference, atol=1e-5)


def test_padded_rows_match_each_sequence_alone():
    model = tiny_net(3)
    lengths = torch.tensor([9, 3, 6, 1])
    x = inputs(3, T=9)
    x[torch.arange(9).unsqueeze(0) >= lengths.unsqueeze(1)] = 0          # padding
    with torch.no_grad():
        logits, cache = model.run_with_cache(x, lengths)
        fused = model(x, lengths)
        for b, n in enumerate(lengths.tolist()):
            alone, _ = model.lstm(F.one_hot(x[b:b + 1, :n], 13).float())
            assert torch.allclose(concat(cache)[b, :n], alone[0], atol=1e-5)
            assert torch.allclose(logits[b, :n], fused[b, :n], atol=1e-5)


def test_no_op_intervention_is_the_plain_forward():
    model = tiny_net(6)
    x = inputs(6)
    lengths = torch.tensor([11, 8, 5, 11])
    noop = [Intervention("concat.fwd", (0, 3), "scale", 1.0), Intervention("gate.bwd.f", (2,), "add", 0.0),
            Intervention("cell.fwd", (1,), "set", 5.0, span=(100, 200)), Intervention("hidden", (4,), "scale", 1.0)]
    with torch.no_grad():
        for L in (None, lengths):
            plain = model(x, L)
            hooked = model.run_with_hooks(x, L, noop)
            assert (hooked - plain).abs().max() <= 1e-6
            # and bit for bit the same as the step path without hooks
            assert torch.equal(hooked, model.run(x, L)[0])


def test_every_named_layer_is_cached_with_its_shape_and_reproduces_the_output():
    model = tiny_net(5)
    x = inputs(5, B=2, T=7)
    with torch.no_grad():
        logits, acts = model.run_with_cache(x)
    assert list(acts) == list(LAYERS)
    sizes = layer_sizes(6, 5, 7)
    assert all(acts[name].shape == (2, 7, sizes[name]) for name in LAYERS)
    assert torch.allclose(acts["output"], model(x), atol=1e-5) and torch.equal(acts["output"], logits)


def test_gates_and_cells_obey_the_lstm_equations():
    model = tiny_net(4)
    x = inputs(4, B=3, T=8)
    with torch.no_grad():
        _, p = model.run_with_cache(x)
    for d in ("fwd", "bwd"):
        g = {k: p[f"gate.{d}.{k}"] for k in "ifgo"}
        before = p["cell_prev.fwd"] if d == "fwd" else p["cell_next.bwd"]
        assert torch.allclose(p[f"concat.{d}"], g["o"] * p[f"cell.{d}"].tanh(), atol=1e-6)
        assert torch.allclose(p[f"cell.{d}"], g["f"] * before + g["i"] * g["g"], atol=1e-6)
    # The cell a step started from is the previous position's (forward) / next one's (backward), 0 at the ends.
    assert torch.equal(p["cell_prev.fwd"][:, 1:], p["cell.fwd"][:, :-1])
    assert torch.equal(p["cell_next.bwd"][:, :-1], p["cell.bwd"][:, 1:])
    assert not p["cell_prev.fwd"][:, 0].any() and not p["cell_next.bwd"][:, -1].any()
    # Gates are in their ranges and not all saturated (the test would be vacuous otherwise).
    for gate in ("i", "f", "o"):
        assert 0 < p[f"gate.fwd.{gate}"].min() and p[f"gate.fwd.{gate}"].max() < 1
    assert p["gate.bwd.g"].abs().max() < 1 and p["gate.bwd.g"].std() > 0.1


@pytest.mark.parametrize("layer", [n for n, (d, _) in LSTM_LAYERS.items() if d == "fwd"])
def test_a_forward_unit_changes_only_what_comes_after(layer):
    """Inside the recurrence: everything before p is bit-identical, something after p changes."""
    model = tiny_net(7)
    x, p = inputs(7), 5
    with torch.no_grad():
        base = model.run(x)[0]
        out = model.run_with_hooks(x, interventions=[Intervention(layer, (1, 4), "add", 3.0, span=(p, p + 1))])
    assert torch.equal(out[:, :p], base[:, :p])
    assert (out[:, p + 1:] - base[:, p + 1:]).abs().max() > 1e-3       # it travelled along the recurrence


@pytest.mark.parametrize("layer", [n for n, (d, _) in LSTM_LAYERS.items() if d == "bwd"])
def test_a_backward_unit_changes_only_what_comes_before(layer):
    model = tiny_net(8)
    lengths = torch.tensor([11, 9, 11, 7])
    x, p = inputs(8), 5
    with torch.no_grad():
        base = model.run(x, lengths)[0]
        out = model.run_with_hooks(x, lengths, [Intervention(layer, (0, 2), "add", 3.0, span=(p, p + 1))])
    real = torch.arange(11).unsqueeze(0) < lengths.unsqueeze(1)         # padding holds garbage
    after = real & (torch.arange(11) > p)
    assert torch.equal(out[after], base[after])
    assert (out[:, :p] - base[:, :p]).abs().max() > 1e-3


def test_interventions_set_scale_add_where_and_span():
    model = tiny_net(9)
    x = inputs(9)
    where = torch.zeros(4, 11, dtype=torch.bool)
    where[1, 3] = where[2, 7] = True
    with torch.no_grad():
        _, base = model.run_with_cache(x, names=["hidden", "cell.bwd"])
        _, c = model.run_with_cache(x, names=["hidden", "cell.bwd"], interventions=[
            Intervention("hidden", (0, 2), "set", (0.5, -0.25)),
            Intervention("hidden", (1,), "scale", 2.0, span=(2, 4)),
            Intervention("cell.bwd", (3,), "add", 1.0, where=where)])
    assert torch.equal(c["hidden"][..., 0], torch.full((4, 11), 0.5)) and (c["hidden"][..., 2] == -0.25).all()
    # rows 0 and 3: no cell.bwd change reaches them
    assert torch.equal(c["hidden"][::3, 2:4, 1], 2 * base["hidden"][::3, 2:4, 1])
    assert torch.equal(c["hidden"][::3, 4:, 1], base["hidden"][::3, 4:, 1])
    assert torch.allclose(c["cell.bwd"][where][:, 3], base["cell.bwd"][where][:, 3] + 1.0)
    # the changed backward cell feeds the earlier steps of its row only
    assert torch.equal(c["cell.bwd"][0], base["cell.bwd"][0]) and torch.equal(c["cell.bwd"][3], base["cell.bwd"][3])
    with pytest.raises(UnknownName, match="operations"):
        Intervention("hidden", (0,), "multiply", 2.0)
    with pytest.raises(UnknownName, match="layers"):
        Intervention("dense", (0,), "set", 0.0)


def test_zeroing_a_forward_unit_everywhere_equals_a_hand_written_loop():
    """The intervention mechanism against an independent LSTM loop written from the equations."""
    model = tiny_net(10)
    x = inputs(10, B=2, T=6)
    unit = 3
    with torch.no_grad():
        out = model.run_with_hooks(x, interventions=[Intervention("concat.fwd", (unit,), "set", 0.0)])
        w_ih, w_hh, b = model.direction_params("fwd")
        H = model.config.lstm
        h, c, hs = torch.zeros(2, H), torch.zeros(2, H), []
        for t in range(6):
            z = F.one_hot(x[:, t], 13).float() @ w_ih.t() + h @ w_hh.t() + b
            i, f, g, o = z[:, :H].sigmoid(), z[:, H:2 * H].sigmoid(), z[:, 2 * H:3 * H].tanh(), z[:, 3 * H:].sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
            h[:, unit] = 0.0
            hs.append(h)
        fwd = torch.stack(hs, 1)
        bwd, _ = model.lstm(F.one_hot(x, 13).float())
        _, ref = model.head(torch.cat([fwd, bwd[..., H:]], -1), x)
    assert torch.allclose(out, ref, atol=1e-5)


def test_lstm_steps_keeps_what_it_is_asked_for():
    xproj = torch.randn(2, 4, 8)
    res = lstm_steps(xproj, torch.randn(8, 2), torch.arange(4).expand(2, 4), keep=["f", "c_before"])
    assert set(res) == {"h", "c", "f", "c_before"} and all(v.shape == (2, 4, 2) for v in res.values())


def test_run_head_changes_recorded_concat_before_the_dense_layer():
    model = tiny_net(11)
    x = inputs(11)
    with torch.no_grad():
        _, cache = model.run_with_cache(x, names=["concat.fwd", "concat.bwd"])
        iv = Intervention("concat.bwd", (2,), "set", 0.0)
        hidden, logits = model.run_head(concat(cache), x, [iv])
        changed = concat(cache).clone()
        changed[..., 6 + 2] = 0.0
        ref_hidden, ref_logits = model.head(changed, x)
    assert torch.equal(hidden, ref_hidden) and torch.equal(logits, ref_logits)
    # the same through the column update ablations use: W c' = W c + W[:, changed] (c' - c)
    _, fast = model.run_head(concat(cache), x, [iv], dense_pre=model.dense(concat(cache)))
    assert torch.allclose(fast, ref_logits, atol=1e-5)
    with pytest.raises(UnknownName, match="inside the LSTM"):
        model.run_head(concat(cache), x, [Intervention("gate.fwd.i", (0,), "set", 0.0)])


def test_the_head_is_its_pieces_and_the_layers_written_out():
    """head = output_layer(tanh(dense_pre), direct_term), with hooks, in bfloat16 and for a dense
    stand-in of the one-hot; and all of it equals the two layers written out with the concatenation."""
    model = tiny_net(15)
    g = torch.Generator().manual_seed(15)
    c, x = torch.randn(4, 9, 12, generator=g), inputs(15, T=9)                  # concat (B, T, 2H), x (B, T)
    onehot = F.one_hot(x, 13).float()
    positions = torch.arange(9).expand(4, 9)
    hooks = compile_hooks([Intervention("hidden", (1, 3), "set", 0.5, span=(2, 6)),
                           Intervention("output", (0,), "add", -1.0)])
    with torch.no_grad():
        for dtype in (None, torch.bfloat16):
            hidden, logits = model.head(c, x, head_dtype=dtype, hooks=hooks, positions=positions)
            pre = model.dense_pre(c, dtype)
            by_pieces = model.output_layer(torch.tanh(pre), model.direct_term(x), dtype, hooks, positions)
            assert torch.equal(hidden, by_pieces[0]) and torch.equal(logits, by_pieces[1])
            assert logits.dtype == torch.float32 and hidden.dtype == (dtype or torch.float32)
        hidden, logits = model.head(c, x)
        written_out = torch.tanh(c @ model.dense.weight.t() + model.dense.bias)
        assert torch.allclose(hidden, written_out, atol=1e-6)
        ref = torch.cat([written_out, onehot], -1) @ model.out.weight.t() + model.out.bias
        assert torch.allclose(logits, ref, atol=1e-5)
        # a dense stand-in for the one-hot takes the one-hot's place
        assert torch.allclose(model.head(c, onehot)[1], logits, atol=1e-6)
        assert torch.allclose(model.head(c, 0.5 * onehot)[1], ref - 0.5 * onehot @ model.out.weight[:, 5:].t(),
                              atol=1e-5)
        hooked_hidden, hooked = model.head(c, x, hooks=hooks, positions=positions)
        assert torch.all(hooked_hidden[:, 2:6, [1, 3]] == 0.5) and torch.equal(hooked_hidden[:, :2], hidden[:, :2])
        assert not torch.allclose(hooked, logits, atol=1e-3)


def test_forward_returns_the_activations_the_regularizer_reads():
    model = tiny_net(16)
    x, lengths = inputs(16), torch.tensor([11, 4, 7, 11])
    logits, acts = model(x, lengths, return_acts=True)
    assert set(acts) == {"concat", "hidden"} and acts["concat"].requires_grad and acts["hidden"].requires_grad
    with torch.no_grad():
        assert torch.allclose(logits, model(x, lengths), atol=1e-6)      # (the kernel differs under no_grad)
        _, cache = model.run_with_cache(x, lengths, names=["concat.fwd", "concat.bwd", "hidden"])
    for b, n in enumerate(lengths.tolist()):
        assert torch.allclose(acts["concat"][b, :n], concat(cache)[b, :n], atol=1e-5)
        assert torch.allclose(acts["hidden"][b, :n], cache["hidden"][b, :n], atol=1e-5)


def test_edge_weights_follow_the_concat_layout():
    model = tiny_net(12)
    w = {"dense.weight": model.dense.weight.detach(), "out.weight": model.out.weight.detach()}
    lower = [NeuronId("concat.fwd", 1), NeuronId("concat.bwd", 1), NeuronId("hidden", 2)]
    upper = [NeuronId("hidden", 3), NeuronId("output", 4)]
    e = edge_weights(w, lower, upper)
    assert e[0, 0] == model.dense.weight[3, 1] and e[1, 0] == model.dense.weight[3, 6 + 1]
    assert e[2, 1] == model.out.weight[4, 2] and e[0, 1] == 0 and e[2, 0] == 0


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
def test_step_path_equals_nn_lstm_on_the_shipped_checkpoint():
    from translit_core.model.checkpoint import load_checkpoint
    model, alphabets, _ = load_checkpoint()
    texts = ["barev dzez, inch ka chka?", "hayastani mayraqaxaqy Yerevann e:"]
    lengths = torch.tensor([len(t) for t in texts])
    x = torch.zeros(2, int(lengths.max()), dtype=torch.long)
    for b, t in enumerate(texts):
        x[b, : len(t)] = torch.tensor(alphabets.encode_input(t))
    with torch.no_grad():
        logits, cache = model.run_with_cache(x, lengths, names=["concat.fwd", "concat.bwd"])
        fused = model(x, lengths)
        for b, t in enumerate(texts):
            alone, _ = model.lstm(F.one_hot(x[b:b + 1, : len(t)], model.config.n_in).float())
            assert torch.allclose(concat(cache)[b, : len(t)], alone[0], atol=1e-5)
            assert torch.allclose(logits[b, : len(t)], fused[b, : len(t)], atol=1e-4)


def test_the_hooked_pass_is_differentiable_and_equals_the_no_grad_pass():
    """With gradients on (attribution), the step path takes an autograd-friendly route."""
    model = tiny_net(13)
    x = inputs(13)
    lengths = torch.tensor([11, 6, 9, 2])
    iv = [Intervention("gate.fwd.f", (1,), "scale", 0.5, span=(2, 8)), Intervention("cell.bwd", (0,), "add", 1.0)]
    with torch.no_grad():
        fast, fast_cache = model.run_with_cache(x, lengths, interventions=iv)
    logits, cache = model.run_with_cache(x, lengths, interventions=iv)
    assert logits.requires_grad
    torch.testing.assert_close(logits, fast, atol=1e-6, rtol=1e-6)
    for name in LAYERS:
        torch.testing.assert_close(cache[name], fast_cache[name], atol=1e-6, rtol=1e-6)
    logits[0, 3, 2].backward()
    assert model.lstm.weight_hh_l0.grad.abs().sum() > 0 and model.dense.weight.grad.abs().sum() > 0


def test_run_head_column_update_matches_the_full_pass_for_mixed_interventions():
    """The column update works on the named units only, renumbered; whatever the mix of layers,
    operations, per-unit values, spans and repeated units, it equals changing the whole concat."""
    model = tiny_net(13)
    x = inputs(13)
    with torch.no_grad():
        _, cache = model.run_with_cache(x, names=["concat.fwd", "concat.bwd"])
        c = concat(cache)
        ivs = [Intervention("concat.fwd", (4, 1), "set", (0.5, -0.25)),
               Intervention("concat.bwd", (3,), "scale", 3.0, span=(1, 3)),
               Intervention("concat.bwd", (0, 3), "add", (0.1, -0.2)),
               Intervention("hidden", (2,), "set", 0.0)]
        _, ref = model.run_head(c, x, ivs)
        _, fast = model.run_head(c, x, ivs, dense_pre=model.dense(c))
        _, plain = model.run_head(c, x, [], dense_pre=model.dense(c))
    assert torch.allclose(fast, ref, atol=1e-5)
    assert not torch.allclose(plain, ref, atol=1e-3)       # the interventions do change the logits


def test_a_precomputed_direct_term_gives_the_same_logits():
    model = tiny_net(14)
    x = inputs(14)
    with torch.no_grad():
        _, cache = model.run_with_cache(x, names=["concat.fwd", "concat.bwd"])
        c = concat(cache)
        iv = [Intervention("concat.fwd", (1,), "set", 0.3)]
        _, ref = model.run_head(c, x, iv, dense_pre=model.dense(c))
        _, fast = model.run_head(c, x, iv, dense_pre=model.dense(c), direct=model.direct_term(x))
        onehot = torch.nn.functional.one_hot(x, model.config.n_in).float()
        by_hand = onehot @ model.out.weight[:, model.config.hidden:].t()           # the one-hot's own term
    assert torch.equal(fast, ref) and torch.allclose(model.direct_term(x), by_hand, atol=1e-6)


def test_hidden_interventions_update_the_unchanged_logits_by_their_columns_alone():
    """With the unchanged logits given, hidden units change only their columns' share of them; the
    result equals the full output layer, spans and repeated units included, and the hidden returned
    is the changed one."""
    model = tiny_net(15)
    x = inputs(15)
    with torch.no_grad():
        _, cache = model.run_with_cache(x, names=["concat.fwd", "concat.bwd"])
        c = concat(cache)
        pre = model.dense(c)
        hidden = torch.tanh(pre)
        base = model.run_head(c, x, [], dense_pre=pre, hidden=hidden)[1]
        ivs = [Intervention("hidden", (2, 0), "set", (0.5, -0.1)),
               Intervention("hidden", (2,), "scale", 2.0, span=(1, 3))]
        ref_hidden, ref = model.run_head(c, x, ivs, dense_pre=pre, hidden=hidden)
        fast_hidden, fast = model.run_head(c, x, ivs, dense_pre=pre, hidden=hidden, logits=base)
    assert torch.allclose(fast, ref, atol=1e-5) and torch.allclose(fast_hidden, ref_hidden)
    assert not torch.allclose(base, ref, atol=1e-3)
