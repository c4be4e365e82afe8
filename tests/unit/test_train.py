"""Training on a tiny corpus: runs, saves a loadable checkpoint, resumes, and runs under torchrun."""
import json
import os
import subprocess
import sys

import pytest
from tiny import TESTS
import torch

from translit_core.infer.lexicon import load_checkpoint_lexicon
from translit_core.model.checkpoint import load_checkpoint
from translit_core.text.words import word_counts
from translit_core.training.train import TrainConfig, train

CORPUS = TESTS / "fixtures" / "tiny_corpus"
SMALL = dict(lstm=16, hidden=12, batch_size=4, warmup=5, valid_lines=3, precision="fp32")


def test_train_saves_checkpoint_and_learns(tmp_path):
    result = train(TrainConfig(corpus=str(CORPUS), out=str(tmp_path), epochs=3, lr=1e-2, **SMALL))
    model, alphabets, meta = load_checkpoint(tmp_path)
    assert model.config.lstm == 16
    assert meta["rules_sha256"] and meta["training_seconds"] > 0
    # the full history is in the training state; the checkpoint holds the best epoch's
    hist = json.loads((tmp_path / "train_state" / "state.json").read_text())["history"]
    assert len(hist) == 3
    best = max(hist, key=lambda h: h["valid_char_accuracy"])
    assert result.best_valid_char_accuracy == best["valid_char_accuracy"] == meta["metrics"]["valid_char_accuracy"]
    assert meta["metrics"]["epoch"] == best["epoch"]
    # the loss must go down on this tiny corpus, or the loop is not training anything
    assert hist[-1]["loss"] < hist[0]["loss"]
    # the training text's words ship beside the weights, for the known-word rule
    train_words = word_counts((CORPUS / "train.txt").read_text(encoding="utf-8").splitlines())
    assert load_checkpoint_lexicon(tmp_path) == set(train_words) and train_words


def test_resume_continues_from_saved_state(tmp_path):
    cfg = TrainConfig(corpus=str(CORPUS), out=str(tmp_path), epochs=2, max_steps=3, **SMALL)
    train(cfg)                                   # "interrupted" after 3 steps
    state = json.loads((tmp_path / "train_state" / "state.json").read_text())
    assert state["step"] == 3 and state["epoch"] == 0 and state["batch"] == 3
    resumed = train(TrainConfig(corpus=str(CORPUS), out=str(tmp_path), epochs=2, resume=True, **SMALL))
    full = train(TrainConfig(corpus=str(CORPUS), out=str(tmp_path / "full"), epochs=2, **SMALL))
    assert resumed.steps == full.steps     # the resumed run did the remaining steps, not all of them again
    a, _, _ = load_checkpoint(tmp_path)
    b, _, _ = load_checkpoint(tmp_path / "full")
    # same batches, same order, same optimizer state: the same weights as an uninterrupted run
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        torch.testing.assert_close(va, vb, atol=1e-5, rtol=1e-4, msg=k)


def test_torchrun_two_cpu_processes(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "translit_core", "train", "--corpus", str(CORPUS), "--out", str(tmp_path),
           "--epochs", "1", "--max-steps", "2", "--lstm", "16", "--hidden", "12", "--batch-size", "2",
           "--precision", "fp32", "--valid-lines", "3"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _, _, meta = load_checkpoint(tmp_path)
    assert meta["world_size"] == 2 and meta["metrics"]["step"] == 2


def test_init_fine_tunes_from_a_checkpoint_with_a_source_mix(tmp_path):
    parent = tmp_path / "parent"
    train(TrainConfig(corpus=str(CORPUS), out=str(parent), epochs=1, **SMALL))
    # a corpus with a summary, so lines can be weighted by source
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = (CORPUS / "train.txt").read_text(encoding="utf-8").splitlines()
    (corpus / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (corpus / "valid.txt").write_text((CORPUS / "valid.txt").read_text(encoding="utf-8"), encoding="utf-8")
    (corpus / "summary.json").write_text(json.dumps({"sources": {
        "a": {"kind": "wikipedia", "train_lines": 5}, "b": {"kind": "ud", "train_lines": len(lines) - 5}}}))
    child = tmp_path / "child"
    # lr ~ 0: one step must leave the parent's weights where they were
    train(TrainConfig(corpus=str(corpus), out=str(child), epochs=1, max_steps=1, init=str(parent),
                      mix="wikipedia=0,ud=2", **dict(SMALL, lstm=99, lr=1e-12)))
    a, alph_a, meta_a = load_checkpoint(parent)
    b, alph_b, meta_b = load_checkpoint(child)
    assert b.config == a.config and alph_b == alph_a          # sizes come from the parent, not the flags
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        torch.testing.assert_close(va, vb, atol=1e-6, rtol=1e-5, msg=k)
    assert meta_b["init_from"]["metrics"] == meta_a["metrics"]
    assert meta_b["train_config"]["mix"] == "wikipedia=0,ud=2"
    with pytest.raises(ValueError, match="re-run `prepare`"):
        train(TrainConfig(corpus=str(CORPUS), out=str(tmp_path / "x"), epochs=1, mix="ud=2", **SMALL))
