"""The known-word rule: the search, the correction on hand-made scores, the file, the checkpoint."""
import itertools
import random
import shutil
import subprocess
import sys

import pytest
import torch

from translit_core import Transliterator
from translit_core.model.checkpoint import CheckpointError
from translit_core.settings import DEFAULT_CHECKPOINT
from translit_core.model.alphabets import Alphabets, output_alphabet
from translit_core.infer.transliterator import decide
from translit_core.infer.lexicon import (LEXICON, MAX_WORD, LexiconError, cheapest_accepted, correct_words,
                                         load_lexicon, save_lexicon)
from translit_core.text.words import word_counts
from translit_core.text.rules import load_rules


def test_cheapest_accepted_matches_brute_force():
    rng = random.Random(0)
    for trial in range(300):
        n = rng.randint(1, 5)
        options = [[(0.0, 0)] + sorted((rng.uniform(0, 5), k) for k in range(1, rng.randint(1, 4)))
                   for _ in range(n)]
        accepted = {combo for combo in itertools.product(*[[k for _, k in o] for o in options]) if rng.random() < 0.2}
        margin = rng.uniform(0, 8)
        got = cheapest_accepted(options, lambda cls: tuple(cls) in accepted, margin, max_candidates=10_000)
        # independent reference: every combination, the cheapest accepted one within the margin
        best = None
        for picks in itertools.product(*options):
            cost, cls = sum(c for c, _ in picks), tuple(k for _, k in picks)
            if any(k for k in cls) and cls in accepted and cost <= margin and (best is None or cost < best[0]):
                best = (cost, list(cls))
        assert got == (best[1] if best else None), trial


def test_cheapest_accepted_stops_after_max_candidates():
    options = [[(0.0, 0), (0.1, 1)], [(0.0, 0), (0.2, 1)]]
    assert cheapest_accepted(options, lambda cls: cls == [1, 1], 5.0, max_candidates=3) is None
    assert cheapest_accepted(options, lambda cls: cls == [1, 1], 5.0, max_candidates=4) == [1, 1]


@pytest.fixture(scope="module")
def alph():
    return Alphabets(["<pad>", "<unk>"] + list("ATSadst ,-"), output_alphabet(load_rules()))


def scores_for(alph, rows):
    """(T, V) logits: each row maps output tokens to logits, everything else -10."""
    s = torch.full((len(rows), len(alph.outputs)), -10.0)
    for t, row in enumerate(rows):
        for tok, v in row.items():
            s[t, alph.out_index[tok]] = v
    return s


def run(alph, chunk, rows, lexicon, margin=4.0):
    """The chunk as written after the known-word rule, from the network's argmax."""
    scores = scores_for(alph, rows)
    classes = correct_words(chunk, scores, scores.argmax(-1).tolist(), frozenset(lexicon), alph, margin=margin)
    return alph.decode(chunk, classes)


TAS = [{"տ": 2.0, "թ": 1.0}, {"ա": 3.0}, {"ս": 2.0, "շ": 0.5}]


def test_an_unknown_word_becomes_the_cheapest_known_reading(alph):
    assert run(alph, "tas", TAS, set()) == "տաս"                       # no lexicon word: as the network chose
    assert run(alph, "tas", TAS, {"թաս"}) == "թաս"                     # one letter, cost 1
    assert run(alph, "tas", TAS, {"թաս", "տաշ"}) == "թաս"              # cost 1 beats cost 1.5
    assert run(alph, "tas", TAS, {"տաշ"}) == "տաշ"
    assert run(alph, "tas", TAS, {"թաշ"}) == "թաշ"                     # two letters, cost 2.5
    assert run(alph, "tas", TAS, {"տաս", "թաս"}) == "տաս"              # a known word is never changed
    assert run(alph, "tas", TAS, {"թաս"}, margin=0.5) == "տաս"         # too costly


def test_known_word_rule_keeps_latin_and_case(alph):
    keep = [{"<pass>": 3.0, "թ": 2.0}, {"<pass>": 3.0, "ա": 2.0}, {"<pass>": 3.0, "ս": 2.5}]
    assert run(alph, "tas", keep, {"թաս"}) == "tas"                    # kept Latin: the script rule's call
    caps = [{"Տ": 2.0, "թ": 1.5, "Թ": 1.0}, {"ա": 3.0}, {"ս": 2.0}]
    assert run(alph, "Tas", caps, {"թաս"}) == "Թաս"                   # never a small letter for a capital
    # the title-case digraph Ու is a capital too (its second character is not)
    assert run(alph, "Ta", [{"Ու": 2.0, "ո": 1.5}, {"ա": 3.0}], {"ոա"}) == "Ուա"
    assert run(alph, "ta", [{"թ": 2.0, "Ու": 1.5}, {"ա": 3.0}], {"ուա"}) == "թա"
    # a capital may not move off the word through a placeholder: "Թ_" -> "_ա" would drop it
    assert run(alph, "Ta", [{"Թ": 3.0, "<place>": 2.5}, {"<place>": 3.0, "ա": 2.5}], {"ա"}) == "Թ"
    assert run(alph, "ta", [{"թ": 3.0, "<place>": 2.5}, {"<place>": 3.0, "ա": 2.5}], {"ա"}) == "ա"
    # all capitals stay all capitals
    assert run(alph, "TAS", [{"Տ": 2.0, "Թ": 1.0}, {"Ա": 3.0}, {"Ս": 2.0}], {"թաս"}) == "ԹԱՍ"


def test_known_word_rule_finds_words_between_spaces_and_punctuation(alph):
    rows = TAS + [{"<pass>": 5.0}] + TAS
    assert run(alph, "tas tas", rows, {"թաս"}) == "թաս թաս"
    assert run(alph, "tas tas", rows[:4] + [{"թ": 2.0, "տ": 1.0}] + TAS[1:], {"թաս"}) == "թաս թաս"
    assert run(alph, "  tas  ", [{"<pass>": 5.0}] * 2 + TAS + [{"<pass>": 5.0}] * 2, {"թաս"}) == "  թաս  "
    comma = TAS + [{"<pass>": 5.0, "՝": 1.0}] + TAS                 # "," may be "՝": never part of a word
    assert run(alph, "tas,tas", comma, {"թաս"}) == "թաս,թաս"
    assert run(alph, "tas,tas", comma, {"թաս,թաս", "թաս՝թաս"}) == "տաս,տաս"
    assert run(alph, "d-tas", [{"դ": 5.0}, {"<pass>": 5.0}] + TAS, {"դ", "թաս"}) == "դ-թաս"
    # a space the network wrote as a letter joins two words into one unknown word
    rows = TAS + [{"ա": 5.0}] + TAS
    assert run(alph, "tas tas", rows, {"թաս"}) == "տասատաս"
    assert run(alph, "tas tas", rows, {"թասաթաս"}) == "թասաթաս"


def test_known_word_rule_leaves_long_runs_alone(alph):
    n = MAX_WORD // 3 + 1
    assert run(alph, "tas" * n, TAS * n, {"թաս" * n}) == "տաս" * n      # longer than MAX_WORD: no search
    n = MAX_WORD // 3
    assert run(alph, "tas" * n, TAS * n, {"թաս" + "տաս" * (n - 1)}) == "թաս" + "տաս" * (n - 1)


def test_logits_and_log_probabilities_agree(alph):
    g = torch.Generator().manual_seed(1)
    lexicon = frozenset({"թաս", "տաշ", "դաս", "թադ"})
    for _ in range(50):
        logits = torch.randn(1, 3, len(alph.outputs), generator=g) * 3
        a = decide(["tas"], logits, alph, lexicon)
        b = decide(["tas"], logits.log_softmax(-1), alph, lexicon)
        assert a == b


def test_lexicon_file_round_trip_and_errors(tmp_path):
    counts = word_counts(["Երևանը մեծ է։", "երևանը, մեծ", "Deep Learning 2024"])
    assert counts == {"երևանը": 2, "մեծ": 2, "է": 1}
    path = tmp_path / LEXICON
    assert save_lexicon(path, counts, min_count=2) == 2
    assert load_lexicon(path) == {"երևանը", "մեծ"}
    path.write_text("# header\nմեծ\nbig\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"lexicon.txt:3: expected one lowercase Armenian word, got 'big'"):
        load_lexicon(path)
    path.write_text("# only a header\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="no words"):
        load_lexicon(path)
    path.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(LexiconError, match="not UTF-8"):
        load_lexicon(path)


def test_a_gzip_lexicon_reads_as_the_plain_one_and_a_broken_one_is_named(tmp_path):
    import gzip
    from translit_core.infer.lexicon import LEXICON_GZ, load_checkpoint_lexicon
    save_lexicon(tmp_path / LEXICON, word_counts(["Երևանը մեծ է։"]))
    plain = load_lexicon(tmp_path / LEXICON)
    (tmp_path / LEXICON_GZ).write_bytes(gzip.compress((tmp_path / LEXICON).read_bytes()))
    assert load_lexicon(tmp_path / LEXICON_GZ) == plain == {"երևանը", "մեծ", "է"}
    (tmp_path / LEXICON).unlink()                       # a checkpoint with only the compressed one
    assert load_checkpoint_lexicon(tmp_path) == plain
    (tmp_path / LEXICON_GZ).write_bytes(b"\x1f\x8b\x08 not really gzip")
    with pytest.raises(CheckpointError, match="lexicon.txt.gz: not a gzip file"):
        load_checkpoint_lexicon(tmp_path)


@pytest.fixture(scope="module")
def shipped():
    return Transliterator.load()


def test_shipped_checkpoint_has_its_lexicon(shipped):
    assert shipped.lexicon is not None and len(shipped.lexicon) > 50_000
    assert {"բարև", "ձեզ", "ծարավ", "քանիսն"} <= shipped.lexicon


def test_shipped_lexicon_fixes_unknown_words_and_predict_says_so(shipped):
    net = Transliterator(shipped.model, shipped.alphabets, shipped.meta)
    # the network alone writes words that do not exist; the lexicon has the reading it ranked second
    assert net.transliterate("tsarav em") == "ծառավ եմ"
    assert shipped.transliterate("tsarav em") == "ծարավ եմ"
    assert shipped.transliterate("zhamy kanisn e") == "ժամը քանիսն է"
    preds = shipped.predict("tsarav em")
    assert "".join(p.output for p in preds) == "ծարավ եմ"
    changed = [(p.latin, p.network, p.output) for p in preds if p.network is not None]
    assert changed == [("r", "ռ", "ր")]


def test_corrupt_or_missing_lexicon(tmp_path):
    for name in ("model.json", "model.safetensors"):
        shutil.copy(DEFAULT_CHECKPOINT / name, tmp_path / name)
    bare = Transliterator.load(tmp_path)                               # an older checkpoint: no lexicon, no rule
    assert bare.lexicon is None and bare.transliterate("tsarav em") == "ծառավ եմ"
    (tmp_path / LEXICON).write_text("# words\nծարավ\nthirsty\n", encoding="utf-8")
    with pytest.raises(CheckpointError, match="lexicon.txt:3"):
        Transliterator.load(tmp_path)
    assert Transliterator.load(tmp_path, lexicon=False).lexicon is None


def run_cli(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "translit_core", *args], input=stdin, capture_output=True,
                          text=True, timeout=300)


def test_cli_lexicon_command_and_no_lexicon_flag(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "train.txt").write_text("Ծարավ եմ։\nծարավ ես\n", encoding="utf-8")
    proc = run_cli("lexicon", "--corpus", str(corpus), "--out", str(tmp_path))
    assert proc.returncode == 0 and "3 words" in proc.stdout
    assert load_lexicon(tmp_path / LEXICON) == {"ծարավ", "եմ", "ես"}
    assert run_cli("transliterate", stdin="tsarav em\n").stdout == "ծարավ եմ\n"
    assert run_cli("transliterate", "--no-lexicon", stdin="tsarav em\n").stdout == "ծառավ եմ\n"
