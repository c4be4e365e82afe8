"""Tests for translit_core.text.corpus: wiki/UD/ARPA readers, filters, and prepare().

Everything runs on the small hand-written fixtures in tests/fixtures/corpus/data, which
mimic the layout of the real data dir (wikipedia/, arpa/, ud/<treebank>/). Every sentence
of a reserved test file there contains the word "Արգելված" ("forbidden"), and every piece
of wiki text that must be stripped contains "չպետք է հայտնվի" ("must not appear").
"""

from __future__ import annotations

import bz2
import json
import lzma
import shutil
from pathlib import Path

import pytest
from tiny import FIXTURE_DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from translit_core.text import corpus, wiki
from translit_core.text.corpus import (
    armenian_fraction,
    find_sources,
    is_reserved_test_file,
    iter_arpa_texts,
    iter_conllu_texts,
    iter_wiki_texts,
    keep_line,
    normalize_line,
    prepare,
    split_sentences,
    wikitext_to_plain,
)

DATA = FIXTURE_DATA
DUMP = DATA / "wikipedia" / "hywiki-fake.xml"
UD = DATA / "ud" / "UD_Armenian-Fake"
FORBIDDEN = "Արգելված"  # in every sentence of the reserved test files
MUST_NOT_APPEAR = "չպետք է հայտնվի"  # in every piece of wiki text that must be dropped

# What the article pages of the fixture dump must render to, in order (the last line is
# the page that the truncation tests cut in half).
EXPECTED_WIKI = [
    "Երևան, Հայաստանի մայրաքաղաքն ու ամենամեծ քաղաքը։ Այն գտնվում է Հրազդան գետի ափին։",
    "Քաղաքը հիմնադրվել է մ.թ.ա. 782 թվականին Արգիշտի Առաջինի կողմից։ "
    "Էրեբունի ամրոցը կառուցվել է Արարատյան դաշտում։",
    "Տես նաև Երևանի պաշտոնական կայքը արտաքին հղմամբ։",
    "Երևանում կա շատ թանգարաններ և թատրոններ։",
    "Սևան, Հայաստանի ամենամեծ լիճն է։ Այն գտնվում է Գեղարքունիքի մարզում։",
    "Երևանում կա շատ թանգարաններ և թատրոններ։",
    "Արարատ, Հայկական լեռնաշխարհի ամենաբարձր լեռն է։ Արարատի գագաթը մշտապես ծածկված է ձյունով։",
]


def _truncated_dump_bytes() -> bytes:
    """The fixture dump cut in the middle of the last page's <text>, like the real sample."""
    data = DUMP.read_bytes()
    return data[: data.index("Արարատի գագաթը".encode("utf-8"))]


# -----------------------------------------------------------------------------
# wiki dumps


def test_wiki_article_text_is_clean():
    lines = list(iter_wiki_texts(DUMP))
    assert lines == EXPECTED_WIKI
    text = "\n".join(lines)
    # interface message, redirects, template-only page, template namespace, infobox,
    # ref, image caption, heading, table, comment, category: all gone
    assert MUST_NOT_APPEAR not in text
    for residue in ("[[", "]]", "{{", "}}", "'''", "''", "<", ">", "|", "==", "http",
                    "thumb", "Yerevan", "Smith", "Կատեգորիա", "$1", "&nbsp;"):
        assert residue not in text, residue


def test_wikitext_to_plain_pieces():
    assert wikitext_to_plain("[[Հայաստան|Հայաստանի]] ''մայրաքաղաքը''").strip() == "Հայաստանի մայրաքաղաքը"
    assert wikitext_to_plain("Բառ<ref>Smith 2001</ref>։").strip() == "Բառ։"
    assert wikitext_to_plain("[[File:x.png|thumb|caption]] [[en:Yerevan]] [[:Կատեգորիա:X]]").strip() == ""
    assert wikitext_to_plain("Լեռ ({{lang-en|Mountain}}) է").strip() == "Լեռ է"
    assert wikitext_to_plain("Քաղաք[en] է").strip() == "Քաղաք է"
    assert wikitext_to_plain("<<Սասունցի Դավիթ>> էպոսը").strip() == "«Սասունցի Դավիթ» էպոսը"


def test_truncated_dump_keeps_complete_pages(tmp_path):
    cut = tmp_path / "cut.xml"
    cut.write_bytes(_truncated_dump_bytes())
    assert list(iter_wiki_texts(cut)) == EXPECTED_WIKI[:-1]


@pytest.mark.parametrize("suffix, compress", [(".xml.bz2", bz2.compress), (".xml.xz", lzma.compress)])
def test_compressed_dumps(tmp_path, suffix, compress):
    full = tmp_path / f"full{suffix}"
    full.write_bytes(compress(DUMP.read_bytes()))
    assert list(iter_wiki_texts(full)) == EXPECTED_WIKI

    # XML cut mid-page, then compressed: a complete stream, truncated XML inside
    cut_xml = tmp_path / f"cut-xml{suffix}"
    cut_xml.write_bytes(compress(_truncated_dump_bytes()))
    assert list(iter_wiki_texts(cut_xml)) == EXPECTED_WIKI[:-1]

    # the compressed stream itself cut (bz2/lzma raise EOFError): no crash, a prefix
    blob = compress(DUMP.read_bytes())
    cut_stream = tmp_path / f"cut-stream{suffix}"
    cut_stream.write_bytes(blob[: len(blob) * 2 // 3])
    got = list(iter_wiki_texts(cut_stream))
    assert got == EXPECTED_WIKI[: len(got)]


# -----------------------------------------------------------------------------
# UD and ARPA


def test_conllu_texts():
    # train-2 has no "# text" line and is skipped; the parsing itself is conllu's
    assert list(iter_conllu_texts(UD / "hy_fake-ud-train.conllu")) == [
        "Գրքերը դրված են սեղանի վրա։",
        "Աշակերտները դպրոց են գնում առավոտյան։",
    ]


CONLLU_CASES = (
    "# sent_id = 1\n# text = Առաջին։\n1\tԱռաջին\t_\t_\t_\t_\t_\t_\t_\t_\n\n"
    "# sent_id = 2\n1\tա\t_\t_\t_\t_\t_\t_\t_\t_\n\n"                  # no text: skipped
    "#text=Առանց բացատի\n1\tա\t_\t_\t_\t_\t_\t_\t_\t_\n   \n\n"         # no spaces; a blank line of spaces
    "# text = առաջին\n# text = երկրորդ\n1\tա\t_\t_\t_\t_\t_\t_\t_\t_\n\n"  # the later text wins
    "# text =\n1\tա\t_\t_\t_\t_\t_\t_\t_\t_\n\n"                      # an empty text: skipped
    "# text = Վերջին, առանց դատարկ տողի\n1\tա\t_\t_\t_\t_\t_\t_\t_\t_"      # no final blank line
)


def test_conllu_texts_read_as_conllu_reads_them(tmp_path):
    """The comment-only reader gives what conllu's full parse gives, on the fixtures and on edge cases."""
    import conllu
    path = tmp_path / "cases.conllu"
    path.write_text(CONLLU_CASES, encoding="utf-8")
    for p in [path, *sorted(UD.glob("*.conllu"))]:
        with open(p, encoding="utf-8") as f:
            expected = [s.metadata["text"] for s in conllu.parse_incr(f) if s.metadata.get("text")]
        assert list(iter_conllu_texts(p)) == expected, p.name
    assert list(iter_conllu_texts(path))[-1] == "Վերջին, առանց դատարկ տողի"


def test_arpa_texts():
    texts = list(iter_arpa_texts(DATA / "arpa" / "train.tsv"))
    assert texts[:2] == [
        "Կառավարությունը հաստատել է նոր օրենքի նախագիծը:",
        "Կառավարությունը ընդունել է նոր օրենքի նախագիծը:",
    ]
    assert len(texts) == 6  # 3 rows x 2 sentences, header skipped
    assert "Sentence1" not in texts


# -----------------------------------------------------------------------------
# sentence splitting, normalisation, filtering


def test_split_sentences():
    assert split_sentences("Առաջինը։ Երկրորդը: Երրորդը? Չորրորդը! Հինգերորդը… Վեց") == [
        "Առաջինը։", "Երկրորդը:", "Երրորդը?", "Չորրորդը!", "Հինգերորդը…", "Վեց",
    ]
    assert split_sentences("Մեկ։Երկու") == ["Մեկ։", "Երկու"]  # missing space after ։
    assert split_sentences("Առաջին տող\nԵրկրորդ տող") == ["Առաջին տող", "Երկրորդ տող"]
    # "." splits before a capital, but not in abbreviations, initials or before lowercase
    assert split_sentences("Նա եկավ. Հետո գնաց") == ["Նա եկավ.", "Հետո գնաց"]
    for text in ("1990 թ. մայիսին եկավ", "Ա. Իսահակյանը գրել է", "մ.թ.ա. 782 թվականին",
                 "մ. թ. ա. 9-րդ դարում", "և այլն. նաև սա"):
        assert split_sentences(text) == [text]


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=list("աբգԱԲԳab ։:.?!…\n,«»1"), max_size=80))
def test_split_sentences_loses_nothing_but_whitespace(text):
    pieces = split_sentences(text)
    assert "".join(pieces).replace(" ", "") == "".join(text.split())
    assert all(p and p == p.strip() for p in pieces)


def test_normalize_line():
    decomposed = "e\u0301"  # e + combining acute -> é under NFC
    assert normalize_line(f"  Բա\u200bրև \t\u00a0 {decomposed}\n") == "Բարև \u00e9"
    line = "Երևան,  մայրաքաղաք։ "
    assert normalize_line(normalize_line(line)) == normalize_line(line) == "Երևան, մայրաքաղաք։"


def test_armenian_fraction():
    assert armenian_fraction("Հայաստան") == 1.0
    assert armenian_fraction("1990 թվականին, «Երևան»։") == 1.0  # digits, punctuation neutral
    assert armenian_fraction("abc Աբգ") == 0.5
    assert armenian_fraction("Hello world") == 0.0
    assert armenian_fraction("123 ։ ,") == 0.0  # no letters at all
    assert armenian_fraction("\ufb13\ufb14") == 1.0  # Armenian ligatures count


def test_keep_line():
    assert keep_line("Կառավարությունը հաստատել է նախագիծը:")
    assert not keep_line("The government approved a new draft law today.")  # not Armenian
    assert not keep_line("Կարճ է:")  # too short
    assert not keep_line("Երկարերկարերկարբառ երկարբառ")  # long enough, only 2 words
    assert keep_line("Նա ասաց՝ hello world, հետո գնաց տուն։")  # mostly Armenian
    assert not keep_line("Python-ը programming language է")  # mostly Latin


# -----------------------------------------------------------------------------
# reserved evaluation files


@pytest.mark.parametrize("path, reserved", [
    ("ud/UD_Armenian-BSUT/hy_bsut-ud-test.conllu", True),
    ("hy_armtdp-ud-test.conllu", True),
    ("/abs/arpa/test.tsv", True),
    ("ARPA/TEST.TSV", True),
    ("hy_bsut-ud-train.conllu", False),
    ("hy_bsut-ud-dev.conllu", False),
    ("arpa/train.tsv", False),
    ("test/train.tsv", False),  # only the file name counts
    ("hywiki-latest-pages-articles.xml.bz2", False),
])
def test_is_reserved_test_file(path, reserved):
    assert is_reserved_test_file(path) is reserved
    assert is_reserved_test_file(Path(path)) is reserved


def test_find_sources_skips_test_files_and_others():
    found = [(s.kind, s.path.relative_to(DATA).as_posix()) for s in find_sources(DATA)]
    assert found == [
        ("wikipedia", "wikipedia/hywiki-fake.xml"),
        ("arpa", "arpa/train.tsv"),
        ("ud", "ud/UD_Armenian-Fake/hy_fake-ud-dev.conllu"),
        ("ud", "ud/UD_Armenian-Fake/hy_fake-ud-train.conllu"),
    ]


def test_source_refuses_reserved_file():
    with pytest.raises(PermissionError):
        next(corpus.Source("ud", UD / "hy_fake-ud-test.conllu").texts())


def test_prepare_never_opens_test_files(tmp_path, monkeypatch):
    opened: list[str] = []
    real_open = open

    def spy(file, *args, **kwargs):
        opened.append(Path(file).name)
        return real_open(file, *args, **kwargs)

    for module in (corpus, wiki):        # every module that opens a data file
        monkeypatch.setattr(module, "open", spy, raising=False)
    prepare(DATA, tmp_path / "out", valid_fraction=0.5)
    read = [name for name in opened if not name.endswith((".tmp", ".json"))]
    assert sorted(read) == sorted(
        ["hywiki-fake.xml", "train.tsv", "hy_fake-ud-dev.conllu", "hy_fake-ud-train.conllu"]
    )
    assert not any(is_reserved_test_file(name) for name in opened)
    out = (tmp_path / "out" / "train.txt").read_text("utf-8") + (tmp_path / "out" / "valid.txt").read_text("utf-8")
    assert FORBIDDEN not in out


# -----------------------------------------------------------------------------
# prepare


def _read_lines(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines()


def test_prepare_outputs_and_summary(tmp_path):
    summary = prepare(DATA, tmp_path, valid_fraction=0.3, seed=0)
    train, valid = _read_lines(tmp_path / "train.txt"), _read_lines(tmp_path / "valid.txt")
    lines = train + valid

    assert json.loads((tmp_path / "summary.json").read_text("utf-8")) == summary
    assert summary["total"]["lines"] == len(lines) == len(set(lines))  # de-duplicated
    assert summary["train"]["lines"] == len(train) and summary["valid"]["lines"] == len(valid)
    assert summary["total"]["chars"] == sum(map(len, lines))
    assert sum(s["lines"] for s in summary["sources"].values()) == len(lines)
    assert summary["sources"]["wikipedia/hywiki-fake.xml"]["duplicates"] == 1
    assert summary["sources"]["arpa/train.tsv"]["duplicates"] == 1
    assert summary["sources"]["arpa/train.tsv"]["filtered"] == 2  # English + too short
    assert set(summary["by_kind"]) == {"wikipedia", "arpa", "ud"}

    assert all(line == normalize_line(line) and keep_line(line) for line in lines)
    assert "Երևանում կա շատ թանգարաններ և թատրոններ։" in lines
    assert "Երեկ անձրև էր գալիս ամբողջ օրը։" in lines  # dev files are training data
    assert "Գրքերը դրված են սեղանի վրա։" in lines
    assert "The government approved a new draft law today." not in lines
    text = "\n".join(lines)
    assert FORBIDDEN not in text and MUST_NOT_APPEAR not in text
    assert not list(tmp_path.glob("*.tmp"))


def test_prepare_split_is_deterministic_and_per_line(tmp_path):
    a = prepare(DATA, tmp_path / "a", valid_fraction=0.5, seed=1)
    b = prepare(DATA, tmp_path / "b", valid_fraction=0.5, seed=1)
    for name in ("train.txt", "valid.txt"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert a["train"] == b["train"] and a["valid"] == b["valid"]
    valid_a = set(_read_lines(tmp_path / "a" / "valid.txt"))
    assert 0 < len(valid_a) < a["total"]["lines"]

    # Same seed, fewer sources: every line that remains keeps its side.
    only_ud = tmp_path / "only_ud"
    shutil.copytree(DATA / "ud", only_ud / "ud")
    prepare(only_ud, tmp_path / "c", valid_fraction=0.5, seed=1)
    assert set(_read_lines(tmp_path / "c" / "valid.txt")) <= valid_a
    assert not set(_read_lines(tmp_path / "c" / "train.txt")) & valid_a

    # valid_fraction=0: everything trains
    z = prepare(DATA, tmp_path / "z", valid_fraction=0.0)
    assert z["valid"]["lines"] == 0 and z["train"]["lines"] == a["total"]["lines"]


def test_prepare_reads_compressed_truncated_dump(tmp_path):
    data = tmp_path / "data"
    (data / "wikipedia").mkdir(parents=True)
    (data / "wikipedia" / "hywiki-cut.xml.xz").write_bytes(lzma.compress(_truncated_dump_bytes()))
    (data / "wikipedia" / "notes.txt").write_text("Սա ընդհանրապես դամփ չէ, չպետք է կարդացվի։\n", "utf-8")
    summary = prepare(data, tmp_path / "out", valid_fraction=0.0)
    assert list(summary["sources"]) == ["wikipedia/hywiki-cut.xml.xz"]
    lines = _read_lines(tmp_path / "out" / "train.txt")
    assert "Արարատ, Հայկական լեռնաշխարհի ամենաբարձր լեռն է։" not in lines  # the cut page
    assert "Այն գտնվում է Գեղարքունիքի մարզում։" in lines


def test_prepare_without_sources_fails(tmp_path):
    with pytest.raises(FileNotFoundError):
        prepare(tmp_path / "empty", tmp_path / "out")
