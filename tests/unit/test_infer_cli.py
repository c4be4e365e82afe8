"""Inference and the CLI, end to end on the shipped checkpoint."""
import json
import subprocess
import sys

import pytest
import torch
from tiny import tiny_net

from translit_core import Transliterator
from translit_core.settings import DEFAULT_CHECKPOINT
from translit_core.model.alphabets import Alphabets, output_alphabet
from translit_core.infer.transliterator import one_script_per_word, run_batches
from translit_core.text.rules import load_rules


@pytest.fixture(scope="module")
def shipped():
    return Transliterator.load()


def test_shipped_checkpoint_is_real_and_small():
    shipped = [DEFAULT_CHECKPOINT / n for n in ("model.json", "model.safetensors", "lexicon.txt")]
    assert sum(p.stat().st_size for p in shipped) <= 10 * 2**20
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
    texts = ["barev", "", "dzez"]
    assert shipped.transliterate_batch(texts) == [shipped.transliterate(t) for t in texts]


def test_long_text_is_chunked_but_consistent(shipped):
    sentence = "menq gnacinq Yerevan ev tesanq shat geghecik shenqer "
    long = sentence * 4000                                  # ~220 KB, one line
    out = shipped.transliterate(long)
    first = shipped.transliterate(sentence * 3)
    assert len(out.split()) == len(long.split())
    assert out.split()[:20] == first.split()[:20]


def test_batches_group_lengths_without_changing_results():
    alph = Alphabets(["<pad>", "<unk>"] + list("abcdez "), output_alphabet(load_rules()))
    model = tiny_net(0, len(alph.inputs), len(alph.outputs), lstm=6, hidden=4, scale=1.0)
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


def _logp(rows):
    """Log-probabilities from rows of probabilities over [pass, place, ա, բ]."""
    return torch.tensor(rows, dtype=torch.float).log()


def test_one_script_per_word_decides_mixed_latin_runs_whole():
    P, A, B = [0.7, 0.0, 0.2, 0.1], [0.3, 0.0, 0.6, 0.1], [0.45, 0.05, 0.1, 0.4]
    # "ab-c d": run "ab" is mixed (pass, ա); "-" is no letter; "c" and "d" are single letters
    logp = _logp([P, A, [0.1, 0.1, 0.1, 0.7], [0.9, 0.0, 0.05, 0.05], A, [0.5, 0, 0.25, 0.25]])
    got = one_script_per_word(["ab-c d"], logp[None])[0]
    # independent check: try every whole-run assignment and keep the most likely
    best = None
    for keep_ab in (True, False):
        ab = [0, 0] if keep_ab else [int(logp[i, 1:].argmax()) + 1 for i in (0, 1)]
        score = sum(float(logp[i, k]) for i, k in zip((0, 1), ab))
        if best is None or score > best[0]:
            best = (score, ab)
    assert got[:2] == best[1] == [0, 0]          # 0.7 * 0.3 > 0.2 * 0.6: the word stays Latin
    assert got[2:] == [3, 0, 2, 0]               # "-" and the single letters: plain argmax
    # a clearly Armenian word is not touched, and a mixed one can go to Armenian
    assert one_script_per_word(["ab"], _logp([[A, A]])) == [[2, 2]]
    assert one_script_per_word(["ab"], _logp([[B, A]])) == [[3, 2]]   # 0.45*0.3 < 0.4*0.6: transliterate
    # logits give the same answer as log-probabilities (only differences within a position count)
    assert one_script_per_word(["ab"], _logp([[B, A]]) + torch.tensor([[[5.0], [-3.0]]])) == [[3, 2]]
    # a batch: each row is decided on its own, padding beyond a chunk's length is ignored
    assert one_script_per_word(["ab", "a"], _logp([[P, A], [B, A]])) == [[0, 0], [0]]
    # without mixed runs the result is the per-character argmax
    rows = torch.randn(7, 4, generator=torch.Generator().manual_seed(0)).log_softmax(-1)
    plain = one_script_per_word(["1,2 3.4"], rows[None])[0]
    assert plain == rows.argmax(-1).tolist()


def test_questions_and_exclamations_are_transliterated(shipped):
    # Written Armenian marks a question with ՞ (dropped when typing) and ends it with ։, so a
    # model trained on it alone took any word before "?" for English ("vonc es du?" kept "du").
    for text in ("vonc es du?", "inchpes es?", "inch es anum?", "ur es?", "shat lav er!", "inchu?"):
        out = shipped.transliterate(text)
        assert out[-1] == text[-1] and not any(c.isascii() and c.isalpha() for c in out), (text, out)
    assert shipped.transliterate("Did you see it? ayo").startswith("Did you see it?")


def test_mixed_script_words_do_not_come_out(shipped):
    for text in ("es sirum em Deep Learning, isk du", "ays tari sovorum em Machine Learning.",
                 "MSFT-i bajnetomsery", "USB-n chi ashxatum"):
        out = shipped.transliterate(text)
        for word in out.replace("-", " ").split():
            letters = [c for c in word if c.isalpha()]
            assert all(c.isascii() for c in letters) or not any(c.isascii() for c in letters), (text, out)
    assert "Deep Learning," in shipped.transliterate("es sirum em Deep Learning, isk du")
