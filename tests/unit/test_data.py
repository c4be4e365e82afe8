"""Training-data helpers: source mixing and code-switching, on seeded inputs."""
import random

import pytest

from translit_core.training.data import (armenian_lookalikes, chat_marks, code_switch, load_foreign_words, mix_lines,
                                 parse_mix)
from translit_core.text.rules import load_rules
from translit_core.training.train import line_kinds


def test_parse_mix():
    assert parse_mix("") == {}
    assert parse_mix("wikipedia=0.5, ud=4") == {"wikipedia": 0.5, "ud": 4.0}
    for bad in ("ud", "ud=x", "ud=-1", "ud=nan"):
        with pytest.raises(ValueError, match="bad mix entry"):
            parse_mix(bad)


def test_mix_lines_weights():
    lines = [f"w{i}" for i in range(2000)] + [f"u{i}" for i in range(100)] + ["a0", "a1"]
    kinds = ["wikipedia"] * 2000 + ["ud"] * 100 + ["arpa"] * 2
    out = mix_lines(lines, kinds, {"wikipedia": 0.5, "ud": 3, "arpa": 0}, random.Random(0))
    assert sum(line.startswith("u") for line in out) == 300                 # whole weights are exact
    assert all(out.count(f"u{i}") == 3 for i in range(100))
    assert not any(line.startswith("a") for line in out)                    # weight 0 drops a source
    n_wiki = sum(line.startswith("w") for line in out)
    assert 900 < n_wiki < 1100 and len(set(out)) == n_wiki + 100       # fractions are sampled, no repeats
    # kinds the mix does not name keep weight 1
    assert mix_lines(["x", "y"], ["news", "news"], {"ud": 5}, random.Random(0)) == ["x", "y"]
    with pytest.raises(ValueError):
        mix_lines(["x"], [], {}, random.Random(0))


def test_line_kinds_follow_summary_order():
    summary = {"sources": {"w.xml": {"kind": "wikipedia", "train_lines": 2},
                           "a.tsv": {"kind": "arpa", "train_lines": 1}}}
    assert line_kinds(summary, 3) == ["wikipedia", "wikipedia", "arpa"]
    with pytest.raises(ValueError, match="re-run `prepare`"):
        line_kinds(summary, 4)


def test_code_switch_moves_punctuation_onto_foreign_words():
    foreign = ["learning", "github.com"]
    line = "ես սիրում եմ, դու՝ ոչ։"
    moved = kept = 0
    for seed in range(300):
        out = code_switch(line, random.Random(seed), foreign, p=1.0)
        words = out.split(" ")
        armenian = [w for w in words if w.lower().strip(",.:;!?։՝") not in foreign]
        inserted = [w for w in words if w not in armenian]
        assert 1 <= len(inserted) <= 3
        # nothing is lost: dropping the inserted words and re-attaching punctuation gives the line back
        rebuilt = []
        for w in words:
            if w in inserted:
                tail = w[len(w.rstrip(",:;!?։՝")):]
                if rebuilt and tail:
                    rebuilt[-1] += tail
                moved += bool(tail)
            else:
                rebuilt.append(w)
        assert " ".join(rebuilt) == line, out
        kept += any(w[-1] not in ",:;!?։՝" for w in inserted)
    assert moved > 30 and kept > 100   # both happen, often


def test_chat_marks_ends_questions_with_question_marks():
    line = "Ո՞նց ես դու։ Ժամը 10:30-ին եկավ։ Ինչ լավ է՜: Իսկ դու՞"
    q, plain, excl = line.index("։"), line.index("։", 12), line.index("՜") + 1
    seen = set()
    for seed in range(400):
        out = chat_marks(line, random.Random(seed))
        assert len(out) - len(line) in (0, 1) and out[len(line):] in ("", "?")
        # only sentence-closing marks change ("10:30" is not one): nothing else is lost
        diff = [i for i, (a, b) in enumerate(zip(line, out)) if a != b]
        assert set(diff) <= {q, plain, excl} and all(out[i] in "?!" for i in diff), out
        seen.add((out[q], out[plain], out[excl], out[len(line):]))
    assert {k[0] for k in seen} == {"?", "։"}           # a question ends with "?" or stays
    assert {k[2] for k in seen} == {"!", ":"}           # an exclamation with "!" or stays
    assert {k[3] for k in seen} == {"?", ""}            # an unclosed question gets "?" appended
    assert "!" not in {k[0] for k in seen} and "?" not in {k[2] for k in seen}
    ordinary = "Սա տուն է։ Այն մեծ է։"
    changed = sum(chat_marks(ordinary, random.Random(s)) != ordinary for s in range(1000))
    assert 200 < changed < 360                           # ordinary sentences: 1 - 0.85² of the time
    assert chat_marks("", random.Random(0)) == ""


def test_armenian_lookalikes_are_typed_forms_of_common_words():
    lines = ["Նոր բան չկա։", "նոր ֆիլմ", "ոչ մի նոր ինչ-որ ուրիշ", "Ինչ կա, ինչ չկա", "ինչու"]
    got = armenian_lookalikes(lines, load_rules(), min_count=2)
    # most probable letters, ո -> "vo" at a word's start, ու as "u"; counted case-insensitively
    assert got == {"nor", "inch", "chka"}
    assert armenian_lookalikes(lines, load_rules(), min_count=4) == set()
    assert armenian_lookalikes(["ոչինչ, ուր"], load_rules(), min_count=1) == {"vochinch", "ur"}


def test_foreign_words_leave_out_armenian_lookalikes():
    everything = load_foreign_words()
    assert {"nor", "inch", "media", "learning"} <= set(everything)
    kept = load_foreign_words(exclude={"nor", "inch", "media"})
    assert not {"nor", "inch", "media"} & set(kept) and "learning" in kept
    assert len(everything) - len(kept) == 3
