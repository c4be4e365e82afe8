"""Every command's machine-readable output, pinned: the `--json` commands (and the few that print
JSON or text without it: train, prepare, lexicon, transliterate) run on a tiny seeded checkpoint
with an analysis, and their output is compared with golden files in tests/fixtures/cli_json/.

The comparison is on the structure (keys in their order, list lengths, value types, recursively),
strings, integers and booleans exactly, and floats to a tolerance: the last bits of a float may
differ between CPUs (AVX-512 BF16 or not). Timings are compared as numbers only; the temporary
directory and the repository are written <root> and <repo> in the goldens.

A golden file that is missing is written from today's output (and its test fails, saying so):
to pin an output that is meant to change, delete its file and run this module twice.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import subprocess
import sys

import pytest
from tiny import SENTENCES, TESTS

GOLDEN = TESTS / "fixtures" / "cli_json"
REPO = TESTS.parent
PAIR, NEURON = "t:թ", "concat.fwd:1"      # a pair and a neuron of the tiny analysis
FLOAT_REL, FLOAT_ABS = 1e-3, 1e-4
# Numbers that change from run to run (times, and the size of a file that holds times): compared as numbers.
VOLATILE_KEYS = {"seconds", "chars_per_s", "timings_s", "files"}

# name -> the command line after the program name; {ck}, {other}, {text}, ... are the lab's paths.
COMMANDS = {
    "neurons": ["neurons", "--checkpoint", "{ck}", "--pair", PAIR, "--top", "3", "--json"],
    "neurons_all_by_h": ["neurons", "--checkpoint", "{ck}", "--pair", PAIR, "--layer", "all", "--top", "2",
                         "--by", "hellinger", "--json"],
    "pairs": ["pairs", "--checkpoint", "{ck}", "--neuron", NEURON, "--top", "2", "--json"],
    "histogram": ["histogram", "--checkpoint", "{ck}", "--pair", PAIR, "--neuron", NEURON, "--bins", "10", "--json"],
    "ablate": ["ablate", "--checkpoint", "{ck}", "--pair", PAIR, "--k", "2", "--draws", "5", "--json"],
    "ablate_all_recurrent": ["ablate", "--checkpoint", "{ck}", "--pair", PAIR, "--k", "1", "--draws", "3",
                             "--layer", "all", "--recurrent", "--max-positions", "40", "--json"],
    "rank_methods_stored": ["rank-methods", "--checkpoint", "{ck}", "--pair", PAIR, "--layer", "concat.fwd",
                            "--json"],
    "rank_methods_recomputed": ["rank-methods", "--checkpoint", "{ck}", "--pair", PAIR, "--layer", "hidden",
                                "--method", "excess", "--method", "probeless", "--recompute", "--json"],
    "intervene": ["intervene", "--checkpoint", "{ck}", "--text", "barev dzez", "--set", "concat.fwd:1=0",
                  "--scale", "hidden:0=2", "--set", "hidden:2=mean", "--json"],
    "steer": ["steer", "--checkpoint", "{ck}", "--text", "barev dzez", "--pair", PAIR, "--k", "2", "--json"],
    "attribute": ["attribute", "--checkpoint", "{ck}", "--text", "barev", "--position", "1", "--steps", "8",
                  "--json"],
    "activations": ["activations", "--checkpoint", "{ck}", "--text", "barev dzez", "--neurons",
                    "cell.fwd:1,concat.bwd:2,hidden:0", "--json"],
    "sample": ["sample", "--checkpoint", "{sample}", "--data", "{data}", "--json"],
    "hypothesis": ["hypothesis", "--checkpoint", "{ck}", "--text", "barev dzez", "--span", "1:3", "--left", "1",
                   "--right", "0", "--threshold", "0", "--top", "3", "--json"],
    "tracks": ["tracks", "--checkpoint", "{ck}", "--neuron", NEURON, "--json"],
    "saturation": ["saturation", "--checkpoint", "{ck}", "--json"],
    "saturation_layer": ["saturation", "--checkpoint", "{ck}", "--layer", "gate.fwd.g", "--json"],
    "clusters": ["clusters", "--checkpoint", "{ck}", "--layer", "hidden", "--json"],
    "clusters_neuron": ["clusters", "--checkpoint", "{ck}", "--neuron", "concat.bwd:2", "--json"],
    "clusters_pair": ["clusters", "--checkpoint", "{ck}", "--pair", PAIR, "--k", "3", "--json"],
    "compare": ["compare", "--checkpoint", "{ck}", "--other", "{other}", "--json"],
    "compare_break_tracks": ["compare", "--checkpoint", "{ck}", "--other", "{other}", "--pair", PAIR, "--layer",
                             "concat.bwd", "--tracks", "--json"],
    "dynamics": ["dynamics", "--run", "{run}", "--text", "{text}", "--sentences", "24", "--json"],
    "evaluate_text": ["evaluate", "--checkpoint", "{ck}", "--text", "{text}", "--no-lexicon", "--limit", "6",
                      "--json"],
    "evaluate_pairs": ["evaluate", "--checkpoint", "{ck}", "--pairs", "{pairs}", "--no-lexicon", "--json"],
    "lexicon": ["lexicon", "--corpus", "{corpus}", "--out", "{lexicon}"],
    "prepare": ["prepare", "--data", "{data}", "--out", "{prepared}"],
}


def run_main(argv: list[str]) -> tuple[int, str, str]:
    from translit_core.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def outputs(tiny, tmp_path_factory):
    """{name: (exit status, stdout)} of every pinned command on a tiny lab: a checkpoint with an
    analysis built by `analyze`, a copy of it (the other model of `compare`), a training run with
    two snapshots (`train`, then `dynamics`), and a sample description on the fixture data."""
    from translit_core.model.checkpoint import save_checkpoint
    model, alphabets, _ = tiny
    root = tmp_path_factory.mktemp("cli_json")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRANSLIT_CACHE", str(root / "cache"))
    paths = {name: root / name for name in ("ck", "other", "run", "sample", "prepared", "lexicon")}
    paths.update(text=root / "sample.txt", pairs=root / "pairs.tsv", data=TESTS / "fixtures" / "corpus" / "data",
                 corpus=TESTS / "fixtures" / "tiny_corpus")
    save_checkpoint(paths["ck"], model, alphabets, {"train_config": {"max_len": 24}})
    paths["text"].write_text("\n".join(SENTENCES * 3), encoding="utf-8")
    paths["pairs"].write_text("barev dzez\tբարև ձեզ\n# a comment\nes sirum em\tես սիրում եմ\n", encoding="utf-8")
    paths["sample"].mkdir()
    paths["lexicon"].mkdir()
    (paths["sample"] / "analysis.json").write_text(json.dumps({"sample": {
        "source": "heldout", "data_dir": str(paths["data"]), "n_requested": 6, "seed": 3}}), encoding="utf-8")
    got = {}
    try:
        got["analyze"] = run_main(["analyze", "--checkpoint", str(paths["ck"]), "--text", str(paths["text"]),
                                   "--min-count", "4", "--bins", "50", "--ablation-k", "2", "--draws", "3",
                                   "--json"])[:2]
        shutil.copytree(paths["ck"], paths["other"])
        got["train"] = run_main(["train", "--corpus", str(paths["corpus"]), "--out", str(paths["run"]),
                                 "--epochs", "2", "--snapshots", "1,2", "--lstm", "8", "--hidden", "6",
                                 "--batch-size", "4", "--warmup", "2", "--valid-lines", "3",
                                 "--precision", "fp32"])[:2]
        for name, argv in COMMANDS.items():
            got[name] = run_main([a.format(**{k: str(v) for k, v in paths.items()}) for a in argv])[:2]
        proc = subprocess.run([sys.executable, "-m", "translit_core", "transliterate", "--checkpoint",
                               str(paths["ck"]), "--no-lexicon"], input="barev dzez\n\nes sirum em\r\nhayeren",
                              capture_output=True, text=True, timeout=120, cwd=REPO)
        got["transliterate"] = (proc.returncode, proc.stdout)
    finally:
        mp.undo()
    replace = [(str(root), "<root>"), (str(REPO), "<repo>")]
    for name, (rc, out) in got.items():
        for old, new in replace:
            out = out.replace(old, new).replace(json.dumps(old)[1:-1], new)
        got[name] = (rc, out)
    return got


def parsed(name: str, text: str):
    """The output as data: JSON (one document, or one per line for train), else its lines."""
    if name == "train":
        return [json.loads(line) for line in text.splitlines()]
    if name in ("lexicon", "transliterate"):
        return text.split("\n")
    return json.loads(text)


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def mismatches(golden, got, path: tuple = ()) -> list[str]:
    """Where `got` differs from `golden`: structure, key order, types; floats to a tolerance;
    timings (VOLATILE_KEYS) as numbers only."""
    here = "/".join(map(str, path)) or "(top)"
    if any(k in VOLATILE_KEYS for k in path) and is_number(golden) and is_number(got):
        return []
    if type(golden) is not type(got):
        return [f"{here}: {type(golden).__name__} {golden!r:.80} != {type(got).__name__} {got!r:.80}"]
    if isinstance(golden, dict):
        if list(golden) != list(got):
            return [f"{here}: keys {list(golden)} != {list(got)}"]
        return [m for k in golden for m in mismatches(golden[k], got[k], (*path, k))]
    if isinstance(golden, list):
        if len(golden) != len(got):
            return [f"{here}: {len(golden)} items != {len(got)}"]
        return [m for i, (g, o) in enumerate(zip(golden, got)) for m in mismatches(g, o, (*path, i))]
    if isinstance(golden, float):
        same = (math.isnan(golden) and math.isnan(got)) or got == pytest.approx(golden, rel=FLOAT_REL, abs=FLOAT_ABS)
        return [] if same else [f"{here}: {golden} != {got}"]
    return [] if golden == got else [f"{here}: {golden!r:.80} != {got!r:.80}"]


@pytest.mark.parametrize("name", ["analyze", "train", *COMMANDS, "transliterate"])
def test_the_output_is_the_pinned_one(outputs, name):
    rc, text = outputs[name]
    assert rc == 0, f"{name} exited with {rc}"
    path = GOLDEN / f"{name}.json"
    if not path.is_file():
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"rc": rc, "output": parsed(name, text)}, ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")
        pytest.fail(f"{path} was missing: written from this output; run again to compare with it")
    golden = json.loads(path.read_text(encoding="utf-8"))
    assert golden["rc"] == rc
    bad = mismatches(golden["output"], parsed(name, text))
    assert not bad, f"{name}: " + "; ".join(bad[:10])


def test_every_command_takes_json():
    from translit_core.cli import build_parser
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    lacking = [name for name, p in sub.choices.items()
               if not any("--json" in a.option_strings for a in p._actions)]
    assert not lacking, lacking


def test_transliterate_json_is_one_object_per_line_in_order():
    text = "barev dzez\n\nes sirum em Deep Learning\r\nvonc es"
    proc = subprocess.run([sys.executable, "-m", "translit_core", "transliterate", "--json"],
                          input=text.encode("utf-8"), capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert [r["input"] for r in rows] == ["barev dzez", "", "es sirum em Deep Learning", "vonc es"]
    plain = subprocess.run([sys.executable, "-m", "translit_core", "transliterate"], input=text.encode("utf-8"),
                           capture_output=True, timeout=120).stdout.decode("utf-8")
    assert [r["output"] for r in rows] == plain.replace("\r\n", "\n").split("\n")
    assert rows[0]["output"] == "բարև ձեզ"
