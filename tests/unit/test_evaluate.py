import json
import random

import pytest

from translit_core.infer.evaluate import (LETTER_COUNTS, RulesBaseline, char_accuracy, count_letters, describe_edits,
                                    edit_breakdown, evaluate, read_sentences, word_accuracy)
from translit_core.text.romanize import romanize
from translit_core.text.rules import load_rules


def test_char_accuracy_known_pairs():
    assert char_accuracy(["բարև"], ["բարև"]) == 100.0
    assert char_accuracy(["բարէ"], ["բարև"]) == pytest.approx(75.0)          # one substitution in 4
    assert char_accuracy(["բար", "ձեզ"], ["բարև", "ձեզ"]) == pytest.approx(100 - 100 / 7)  # summed over lines
    assert char_accuracy(["xxxxxxxx"], ["ab"]) < 0                            # insertions can exceed length


def test_word_accuracy_aligns_words():
    assert word_accuracy(["բարև ձեզ"], ["բարև ձեզ"]) == 100.0
    assert word_accuracy(["բարէ ձեզ"], ["բարև ձեզ"]) == 50.0
    assert word_accuracy(["ձեզ"], ["բարև ձեզ"]) == 50.0                        # a dropped word does not shift the rest


def test_rules_baseline_greedy_longest_match():
    base = RulesBaseline(load_rules())
    assert base.transliterate("dzi") == "ձի"         # dz before d
    assert base.transliterate("shat") == "շատ"
    assert base.transliterate("vor") == "որ"
    assert base.transliterate("Deep 123") != "Deep 123"   # a baseline does not know English


def test_rules_baseline_weighs_by_letter_frequency():
    rules = load_rules()
    # "e" is always է's spelling but only 80% of ե's; ե is far more common, so it wins
    assert RulesBaseline(rules).transliterate("es") == "ես"
    assert RulesBaseline(rules, letter_counts={}).transliterate("es") == "էս"   # flat prior: P(latin | letter)
    assert RulesBaseline(rules, letter_counts={"է": 10, "ե": 1}).transliterate("es") == "էս"
    assert RulesBaseline(rules).transliterate("a, b") == "ա, բ"   # commas outnumber ՝


def test_count_letters_counts_digraphs_once():
    counts = count_letters(["ուր ու, Ուռ։", "ո ւ"], load_rules())
    assert counts["ու"] == 2 and counts["Ու"] == 1 and counts["ո"] == 1 and counts["ւ"] == 1
    assert counts["ր"] == 1 and counts["ռ"] == 1 and counts[","] == 1 and counts["։"] == 1
    packaged = json.loads(LETTER_COUNTS.read_text(encoding="utf-8"))["counts"]
    assert set(load_rules().letters) <= set(packaged) and packaged["ա"] > packaged["օ"]


def test_evaluate_with_oracle_and_identity(tmp_path):
    rules = load_rules()
    sents = ["Բարև ձեզ։", "Ես սիրում եմ Deep Learning", "Ինչո՞ւ ոչ"]
    rng_seed = 3
    rng = random.Random(rng_seed)
    truth = {romanize(s, rules, rng).latin: s for s in sents}
    oracle = evaluate(sents, rules, lambda xs: [truth[x] for x in xs], seed=rng_seed)
    # the oracle gives back the original, ՞ included: 100%
    assert oracle["model"]["char_accuracy"] == 100.0 and oracle["model"]["word_accuracy"] == 100.0
    identity = evaluate(sents, rules, lambda xs: list(xs), seed=rng_seed)
    assert identity["model"]["char_accuracy"] < 50   # only spaces, punctuation and English survive
    assert identity["rules_baseline"]["char_accuracy"] > identity["model"]["char_accuracy"] + 20


def test_edit_breakdown_sorts_every_edit_by_kind():
    rules = load_rules()
    hyp = ["Բարև ձեզ:", "Ինչու ոչ", "ban Deep Learning, բառի", "կարդում եմ"]
    ref = ["Բարև ձեզ։", "Ինչո՞ւ ոչ", "բան Deep Learning՝ բարի", "կարդում էմ։"]
    # 1 ":"/"։" + 1 ","/"՝" + 1 missing "։" = 3 punctuation; one ՞ missing = 1 dropped;
    # "ban" left Latin = 3 script; ռ/ր and ե/է = 2 letters
    b = edit_breakdown(hyp, ref, rules)
    assert (b["punctuation"], b["dropped"], b["script"], b["letters"]) == (3, 1, 3, 2)
    distance = sum(len(r) for r in ref) * (100 - char_accuracy(hyp, ref)) / 100
    assert b["edits"] == round(distance) == 9
    assert {"model": "ռ", "reference": "ր", "count": 1} in b["confusions"]
    assert "9 edits: 3 punctuation, 1 dropped, 3 script, 2 letters" in describe_edits(b)
    assert "∅→՞ 1" in describe_edits(b)
    assert edit_breakdown(ref, ref, rules)["edits"] == 0


def test_read_sentences_conllu_and_plain(tmp_path):
    c = tmp_path / "x.conllu"
    c.write_text("# sent_id = 1\n# text = Բարև ձեզ։\n1\tԲարև\tբարև\tINTJ\t_\t_\t0\troot\t_\t_\n"
                 "2\tձեզ\tդուք\tPRON\t_\t_\t1\tobj\t_\t_\n\n", encoding="utf-8")
    assert read_sentences(c) == ["Բարև ձեզ։"]
    p = tmp_path / "x.txt"
    p.write_text("ա բ\n\nգ\n", encoding="utf-8")
    assert read_sentences(p) == ["ա բ", "գ"]


def test_evaluate_cli_refuses_empty_input(tmp_path, capsys):
    from translit_core.cli import main
    empty, comments = tmp_path / "empty.txt", tmp_path / "pairs.tsv"
    empty.write_text("\n  \n", encoding="utf-8")
    comments.write_text("# only a comment\n", encoding="utf-8")
    assert main(["evaluate", "--text", str(empty)]) == 2
    assert "empty.txt: nothing to evaluate (no sentences" in capsys.readouterr().err
    assert main(["evaluate", "--pairs", str(comments)]) == 2
    assert "pairs.tsv: nothing to evaluate (no pairs" in capsys.readouterr().err
