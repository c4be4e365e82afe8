"""Bad input, as a careless or hostile user gives it: each case ends with a clear
message naming what is wrong (and the file), or with the text kept intact."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tiny import FIXTURE_DATA, TESTS
from safetensors.torch import load_file, save_file

from translit_core import Transliterator
from translit_core.analysis import Analysis, AnalysisMissing
from translit_core.analysis.methods.intervene import Setting, parse_span
from translit_core.infer.lexicon import LEXICON, load_checkpoint_lexicon
from translit_core.infer.transliterator import keep_english_punctuation, keep_numbers
from translit_core.model.checkpoint import CheckpointError, load_checkpoint
from translit_core.model.names import NeuronId, UnknownName
from translit_core.settings import DEFAULT_CHECKPOINT
from translit_core.text.words import split_at_spaces
from translit_core.training.train import TrainConfig

CORPUS = TESTS / "fixtures" / "tiny_corpus"
DATA = FIXTURE_DATA
WHITESPACE = ["\t", "\u00a0", "\u2009", "\u3000", "\x0b", "\r", "\x0c"]


@pytest.fixture(scope="module")
def shipped():
    return Transliterator.load()


def cli(*args, stdin: bytes = b"", timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "translit_core", *args], input=stdin, capture_output=True,
                          timeout=timeout)


def clear_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    err = proc.stderr.decode("utf-8", errors="replace")
    assert proc.returncode == 2, err
    assert err.startswith("error:") and "Traceback" not in err, err
    for n in needles:
        assert n in err, (n, err)
    return err


# 1. train flags -----------------------------------------------------------------------------

@pytest.mark.parametrize("flag,value,words", [
    ("max_len", 0, ">= 1"), ("epochs", 0, ">= 1"), ("epochs", -1, ">= 1"), ("batch_size", 0, ">= 1"),
    ("valid_lines", 0, ">= 1"), ("device", "tpu", "auto, cpu, cuda"), ("precision", "fp8", "bf16, fp32"),
    ("lr", 0.0, "positive"), ("lr", float("nan"), "positive"),
])
def test_train_refuses_settings_that_cannot_train(flag, value, words, tmp_path):
    cfg = TrainConfig(corpus=str(CORPUS), out=str(tmp_path), **{flag: value})
    with pytest.raises(ValueError, match=f"--{flag.replace('_', '-')}") as e:
        cfg.validate()
    assert words in str(e.value)


def test_train_cli_max_len_0_fails_at_once(tmp_path):
    t = time.perf_counter()
    clear_error(cli("train", "--corpus", str(CORPUS), "--out", str(tmp_path), "--max-len", "0"), "--max-len")
    assert time.perf_counter() - t < 60 and not (tmp_path / LEXICON).exists()
    with pytest.raises(ValueError, match="max_len"):
        split_at_spaces("barev dzez", 0)


# 2. digits in numbers ------------------------------------------------------------------------

def test_digits_of_numbers_stay_digits(shipped):
    for text in ("+374 91 444444", "version 4.4.4", "zangi 091-44-44-44", "10:30-in ekeq"):
        out = shipped.transliterate(text)
        assert [c for c in out if c.isdigit() or c in ".:-+"] == [c for c in text if c.isdigit() or c in ".:-+"], out
    assert shipped.transliterate("ka qez 14444").endswith(" 14444")
    assert shipped.transliterate("es 4gitem") == "ես չգիտեմ"          # a 4 inside a word is still չ


def test_keep_numbers_on_hand_made_classes():
    x = 7                                                        # some letter class
    assert keep_numbers("a44", [x, x, x]) == [x, 0, 0]          # two digits: a number
    assert keep_numbers("4em", [x, x, x]) == [x, x, x]          # one digit touching a letter: maybe a letter
    assert keep_numbers("4 em", [x, 0, x, x]) == [0, 0, x, x]   # a digit on its own: a number
    assert keep_numbers("1.4.4", [x] * 5) == [0] * 5            # a version, separators included


# 3. whitespace -------------------------------------------------------------------------------

@pytest.mark.parametrize("ws", WHITESPACE)
def test_any_whitespace_ends_a_word_and_is_kept(shipped, ws):
    assert shipped.transliterate(f"barev{ws}dzez{ws}{ws}vonc es") == f"բարև{ws}ձեզ{ws}{ws}ոնց ես"


def test_chunks_cut_at_other_whitespace_too():
    assert split_at_spaces("ab\tcd\tef", 4) == [(0, 3), (3, 6), (6, 8)]


# 4. the CLI is byte-exact --------------------------------------------------------------------

def test_cli_keeps_line_endings_and_bytes():
    proc = cli("transliterate", stdin=b"barev\r\ndzez\r\n\r\nvonc es")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "բարև\r\nձեզ\r\n\r\nոնց ես".encode()
    raw = b"barev \xff\xfe dzez\n"                                 # not UTF-8: the bytes pass through
    proc = cli("transliterate", stdin=raw)
    assert proc.stdout == "բարև ".encode() + b"\xff\xfe" + " ձեզ\n".encode()


# 5. English punctuation ----------------------------------------------------------------------

def test_english_sentences_keep_ascii_punctuation(shipped):
    assert shipped.transliterate('He said "hello", ok.').endswith(' said "hello", ok.')
    assert shipped.transliterate("ays tari sovorum em Machine Learning.").endswith("Machine Learning։")


def test_keep_english_punctuation_on_hand_made_classes():
    x, dot = 7, 9                                               # a letter class, the ։ class
    text = "ok. barev."
    classes = [0, 0, dot, 0, x, x, x, x, x, dot]               # "ok" kept, "barev" transliterated
    assert keep_english_punctuation(text, list(classes)) == [0, 0, 0, 0, x, x, x, x, x, dot]


# 6. checkpoints that cannot be used ----------------------------------------------------------

def copy_checkpoint(tmp_path: Path, *names: str) -> Path:
    d = tmp_path / "ck"
    d.mkdir()
    for n in ("model.json", "model.safetensors", *names):
        shutil.copy2(DEFAULT_CHECKPOINT / n, d / n)
    return d


@pytest.mark.parametrize("lstm,file", [(10**12, "model.json"), (20000, "model.safetensors")])
def test_an_impossible_config_fails_before_allocating(tmp_path, lstm, file):
    d = copy_checkpoint(tmp_path)
    meta = json.loads((d / "model.json").read_text())
    meta["config"]["lstm"] = lstm
    (d / "model.json").write_text(json.dumps(meta))
    t = time.perf_counter()
    with pytest.raises(CheckpointError, match=file):
        load_checkpoint(d)
    assert time.perf_counter() - t < 2                            # no 6 GB allocation first


def test_nan_weights_are_refused(tmp_path):
    d = copy_checkpoint(tmp_path)
    tensors = load_file(d / "model.safetensors")
    tensors["out.bias"][0] = float("nan")
    save_file(tensors, d / "model.safetensors")
    with pytest.raises(CheckpointError, match="non-finite.*out.bias"):
        load_checkpoint(d)
    clear_error(cli("transliterate", "--checkpoint", str(d), stdin=b"barev\n"), "model.safetensors")


def test_a_lexicon_that_is_a_directory_is_an_error(tmp_path):
    d = copy_checkpoint(tmp_path)
    (d / LEXICON).mkdir()
    with pytest.raises(CheckpointError, match="not a file"):
        load_checkpoint_lexicon(d)


def test_an_analysis_with_fewer_rows_than_its_description_is_refused(tmp_path):
    d = copy_checkpoint(tmp_path, "analysis.json", "analysis.safetensors")
    tensors = load_file(d / "analysis.safetensors")
    tensors["hellinger"] = tensors["hellinger"][:-3].contiguous()
    save_file(tensors, d / "analysis.safetensors")
    with pytest.raises(AnalysisMissing, match="analysis.safetensors does not match"):
        Analysis.load(d)
    clear_error(cli("pairs", "--checkpoint", str(d), "--neuron", "hidden:3"), "analysis.safetensors")


# 7. errors that name the file ----------------------------------------------------------------

def test_evaluate_on_a_binary_file_names_it(tmp_path):
    f = tmp_path / "photo.txt"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 10)
    clear_error(cli("evaluate", "--text", str(f)), str(f), "UTF-8")


@pytest.mark.parametrize("suffix,payload", [(".xml.xz", b"\xfd7zXZ\x00 not really xz" * 4),
                                            (".xml.bz2", b"BZh9 not really bzip2" * 4)])
def test_prepare_on_a_corrupt_dump_names_it_and_leaves_nothing(tmp_path, suffix, payload):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    bad = data / "wikipedia" / f"broken{suffix}"
    bad.write_bytes(payload)
    out = tmp_path / "out"
    err = clear_error(cli("prepare", "--data", str(data), "--out", str(out)), bad.name)
    assert "cannot read" in err
    assert not list(out.glob("*.tmp"))


def test_prepare_on_bad_conllu_names_it(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    bad = data / "ud" / "UD_Armenian-Fake" / "hy_bad-ud-train.conllu"
    bad.write_bytes(b"# text = \xff\xfe\n1\tbroken\n")
    clear_error(cli("prepare", "--data", str(data), "--out", str(tmp_path / "out")), bad.name)
    assert not list((tmp_path / "out").glob("*.tmp"))


# 8. absurd counts and look-alike digits ------------------------------------------------------

def test_absurd_threads_and_draws_are_refused():
    clear_error(cli("histogram", "--pair", "t:թ", "--neuron", "hidden:3", "--threads", "10000"), "--threads")
    clear_error(cli("ablate", "--pair", "t:թ", "--draws", "100000"), "--draws")
    clear_error(cli("ablate", "--pair", "t:թ", "--per-output", "-5"), "--per-output")


@pytest.mark.parametrize("name", ["hidden:３", "hidden:٣", "hidden:1_0", "hidden: 3x"])
def test_neuron_indices_are_ascii_digits_only(name):
    with pytest.raises(UnknownName):
        NeuronId.parse(name)


# 13. help examples that work -----------------------------------------------------------------

def test_the_neurons_help_example_pairs_exist():
    import re
    out = cli("neurons", "--help").stdout.decode()
    examples = re.findall(r"\b(\S:\S)\s\(", out) + re.findall(r"e\.g\. (\S+),", out)
    have = {str(p) for p in Analysis.load().pairs()}
    assert examples and all(e in have for e in examples), (examples, out)


@pytest.mark.parametrize("make", [
    lambda big: NeuronId.parse(f"concat.fwd:{big}"),
    lambda big: Setting.parse(f"hidden:{big}=0"),
    lambda big: parse_span(f"{big}:2", 10),
    lambda big: parse_span(f"0:{big}", 10),
])
def test_an_index_of_thousands_of_digits_is_a_clear_error(make):
    """int() of over 4,300 digits raises Python's own ValueError; the names refuse such an index first."""
    with pytest.raises(UnknownName) as e:
        make("9" * 5000)
    assert len(str(e.value)) < 200


def test_the_cli_refuses_an_index_of_thousands_of_digits_in_one_line():
    proc = cli("histogram", "--neuron", "concat.fwd:" + "7" * 5000, "--pair", "t:թ", "--json")
    assert proc.returncode != 0
    message = clear_error(proc, "digits")
    assert "Exceeds the limit" not in message
