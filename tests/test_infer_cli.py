"""Inference and the CLI, end to end on the shipped checkpoint."""
import json
import subprocess
import sys

import pytest
import torch

from translit_core import Transliterator
from translit_core.checkpoint import DEFAULT_CHECKPOINT
from translit_core.data import Alphabets, output_alphabet
from translit_core.infer import run_batches
from translit_core.model import ModelConfig, TranslitNet
from translit_core.rules import load_rules


@pytest.fixture(scope="module")
def shipped():
    return Transliterator.load()


def test_shipped_checkpoint_is_real_and_small():
    size = sum(p.stat().st_size for p in DEFAULT_CHECKPOINT.iterdir() if p.name.startswith("model."))
    assert size <= 10 * 2**20
    meta = json.loads((DEFAULT_CHECKPOINT / "model.json").read_text())
    assert meta["config"]["lstm"] == 228 and meta["config"]["hidden"] == 228
    assert meta["corpus"]["train"]["chars"] > 5_000_000      # trained on the shared corpus
    assert meta["metrics"]["valid_char_accuracy"] > 98.0


def test_examples_from_the_issue(shipped):
    assert shipped.transliterate("barev dzez") == "բարև ձեզ"
    assert shipped.transliterate("es sirum em Deep Learning").endswith(" Deep Learning")
    assert shipped.transliterate("") == ""


def test_lines_newlines_unknowns_and_armenian_kept(shipped):
    text = "barev\n\nAydpes 😀 ✓ ձեզ\n"
    out = shipped.transliterate(text)
    assert out.count("\n") == 3 and out.split("\n")[1] == "" and out.endswith("\n")
    assert "😀 ✓ ձեզ" in out                               # unknown and Armenian characters pass through
    assert shipped.transliterate_batch(["barev", "", "dzez"]) == [shipped.transliterate(t) for t in ["barev", "", "dzez"]]


def test_long_text_is_chunked_but_consistent(shipped):
    sentence = "menq gnacinq Yerevan ev tesanq shat geghecik shenqer "
    long = sentence * 4000                                  # ~220 KB, one line
    out = shipped.transliterate(long)
    first = shipped.transliterate(sentence * 3)
    assert len(out.split()) == len(long.split())
    assert out.split()[:20] == first.split()[:20]


def test_batches_group_lengths_without_changing_results():
    torch.manual_seed(0)
    alph = Alphabets(["<pad>", "<unk>"] + list("abcdez "), output_alphabet(load_rules()))
    model = TranslitNet(ModelConfig(n_in=len(alph.inputs), n_out=len(alph.outputs), lstm=6, hidden=4)).eval()
    chunks = ["abc", "", "dz e", "abc", "e"]
    together = run_batches(model, alph, chunks, batch_size=2)
    alone = [run_batches(model, alph, [c])[0] for c in chunks]
    assert together == alone


def test_predict_gives_probabilities(shipped):
    preds = shipped.predict("barev 😀")
    assert "".join(p.output for p in preds) == shipped.transliterate("barev 😀")
    for p in preds:
        assert 0 <= p.prob <= 1 and all(q <= p.prob + 1e-6 for _, q in p.alternatives)
    assert preds[-1].output == "😀" and preds[-1].prob == 1.0


def run_cli(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "translit_core", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_cli_transliterate_one_line_per_line():
    lines = ["barev dzez", "", "es sirum em Deep Learning", "   ", "github.com"]
    proc = run_cli("transliterate", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.split("\n")
    assert out[-1] == "" and len(out) - 1 == len(lines)
    assert out[0] == "բարև ձեզ" and out[1] == "" and out[3] == "   "
    assert "Deep Learning" in out[2]


def test_cli_streams_before_input_ends():
    p = subprocess.Popen([sys.executable, "-m", "translit_core", "transliterate"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, bufsize=1)
    try:
        p.stdin.write("barev dzez\n")
        p.stdin.flush()
        assert p.stdout.readline() == "բարև ձեզ\n"      # answered while stdin is still open
    finally:
        p.stdin.close()
        p.wait(timeout=60)


def test_cli_bad_checkpoint_is_a_clear_error(tmp_path):
    proc = run_cli("transliterate", "--checkpoint", str(tmp_path), stdin="barev\n")
    assert proc.returncode == 2 and "checkpoint file missing" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "model.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"junk")
    proc = run_cli("transliterate", "--checkpoint", str(tmp_path), stdin="barev\n")
    assert proc.returncode == 2 and "model.json" in proc.stderr and "Traceback" not in proc.stderr
