import json

import pytest
import torch
from tiny import tiny_net

from translit_core.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from translit_core.model.alphabets import Alphabets, output_alphabet
from translit_core.infer.device import fast_head_dtype
from translit_core.model.net import ModelConfig
from translit_core.text.rules import load_rules


def tiny():
    alphabets = Alphabets(["<pad>", "<unk>"] + list("abcdz "), output_alphabet(load_rules()))
    return tiny_net(0, len(alphabets.inputs), len(alphabets.outputs), lstm=7, hidden=5, scale=1.0), alphabets


def test_output_shapes_and_layers():
    model, _ = tiny()
    x = torch.randint(0, model.config.n_in, (3, 11))
    logits, layers = model.run_with_cache(x, names=["concat.fwd", "concat.bwd", "hidden"])
    assert logits.shape == (3, 11, model.config.n_out)
    assert layers["concat.bwd"].shape == (3, 11, 7) and layers["hidden"].shape == (3, 11, 5)
    assert layers["hidden"].abs().max() <= 1      # tanh


def test_default_config_is_the_posts():
    cfg = ModelConfig()
    assert (cfg.lstm, cfg.hidden) == (228, 228)


def test_padded_rows_match_packed_reference_and_unpadded_runs():
    model, _ = tiny()
    torch.manual_seed(1)
    x = torch.randint(2, model.config.n_in, (3, 9))
    lengths = torch.tensor([9, 6, 1])
    for row, n in enumerate(lengths):
        x[row, n:] = 0                                  # right padding
    with torch.no_grad():
        padded = model(x, lengths)
        # independent reference: torch's own packed-sequence biLSTM
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
        onehot = torch.nn.functional.one_hot(x, model.config.n_in).float()
        packed, _ = model.lstm(pack_padded_sequence(onehot, lengths, batch_first=True, enforce_sorted=False))
        concat, _ = pad_packed_sequence(packed, batch_first=True, total_length=9)
        hidden = torch.tanh(model.dense(concat))
        reference = model.out(torch.cat([hidden, onehot], -1))
        for row, n in enumerate(lengths):
            alone = model(x[row:row + 1, :n])
            torch.testing.assert_close(padded[row, :n], alone[0], atol=1e-6, rtol=1e-5)
            torch.testing.assert_close(padded[row, :n], reference[row, :n], atol=1e-6, rtol=1e-5)


def test_bf16_head_is_the_float32_head_rounded():
    """The inference option: dense and output layers in bfloat16, the LSTM untouched."""
    model, _ = tiny()
    torch.manual_seed(2)
    x = torch.randint(2, model.config.n_in, (4, 12))
    lengths = torch.tensor([12, 7, 3, 12])
    with torch.no_grad():
        full = model(x, lengths)
        fast = model(x, lengths, head_dtype=torch.bfloat16)
        # independent reference: the same layers written out, with each operand rounded to bf16
        r = lambda t: t.bfloat16().float()  # noqa: E731
        _, layers = model.run_with_cache(x, lengths, names=["concat.fwd", "concat.bwd"])
        concat = torch.cat([layers["concat.fwd"], layers["concat.bwd"]], dim=-1)
        hidden = r(torch.tanh(r(concat) @ r(model.dense.weight).t() + r(model.dense.bias)))
        onehot = torch.nn.functional.one_hot(x, model.config.n_in).float()
        w_h, w_x = model.out.weight.split([model.config.hidden, model.config.n_in], dim=1)
        reference = hidden @ r(w_h).t() + r(model.out.bias) + onehot @ w_x.t()
    assert fast.dtype == torch.float32 and fast.shape == full.shape
    torch.testing.assert_close(fast, reference, atol=2e-2, rtol=2e-2)    # bf16 keeps 8 bits of mantissa
    assert not torch.equal(fast, full)                                     # it did run in bf16
    torch.testing.assert_close(fast, full, atol=5e-2, rtol=5e-2)


def test_fast_head_dtype_follows_the_hardware():
    assert fast_head_dtype(torch.device("cuda")) == torch.bfloat16
    flags = next((line for line in open("/proc/cpuinfo") if line.startswith("flags")), "").split()
    native = "avx512_bf16" in flags or "amx_bf16" in flags
    assert fast_head_dtype(torch.device("cpu")) == (torch.bfloat16 if native else None)


def test_save_load_identical_outputs(tmp_path):
    model, alphabets = tiny()
    save_checkpoint(tmp_path, model, alphabets, {"metrics": {"valid_char_accuracy": 1.0}})
    loaded, alph2, meta = load_checkpoint(tmp_path)
    x = torch.randint(0, model.config.n_in, (2, 13))
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert alph2.inputs == alphabets.inputs and alph2.outputs == alphabets.outputs
    assert meta["config"]["lstm"] == 7 and meta["metrics"]["valid_char_accuracy"] == 1.0


def test_missing_corrupt_and_mismatched(tmp_path):
    model, alphabets = tiny()
    with pytest.raises(CheckpointError, match="missing.*model.json"):
        load_checkpoint(tmp_path)
    save_checkpoint(tmp_path, model, alphabets, {})
    w = tmp_path / "model.safetensors"
    good = w.read_bytes()
    w.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="corrupt weights file"):
        load_checkpoint(tmp_path)
    w.write_bytes(b"\x00" * 40)
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_checkpoint(tmp_path)
    w.write_bytes(good)
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["config"]["lstm"] = 8                         # weights no longer fit the description
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(tmp_path)
    meta["config"]["lstm"] = "7"                       # a string where a size belongs
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="whole numbers from 1 to"):
        load_checkpoint(tmp_path)
    (tmp_path / "model.json").write_text("{broken")
    with pytest.raises(CheckpointError, match="model.json"):
        load_checkpoint(tmp_path)
