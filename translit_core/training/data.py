"""Training examples: alphabets, code-switching, chunking and batching.

Every epoch the corpus is romanized afresh with a new seed, so the model never sees the same
spelling of a sentence twice and has to learn the whole distribution of ways people type.
"""
from __future__ import annotations

import random
import re

import torch

from .. import settings
from ..model.alphabets import Alphabets
from ..text.romanize import Aligned, romanize, split_units
from ..text.rules import Rules, is_armenian_letter
from ..text.words import split_at_spaces, word_counts


SENTENCE_PUNCT = set(",.:;!?։՝")    # punctuation a word can end with
BRANDS = settings.LANGUAGE_DIR / "foreign_words.txt"


def armenian_lookalikes(lines: list[str], rules: Rules, min_count: int = 3) -> set[str]:
    """The most probable typed form of every Armenian word seen at least min_count times
    ("նոր" -> "nor", "ինչ" -> "inch", "մեդիա" -> "media")."""
    counts = word_counts(lines)
    return {"".join(rules.most_probable(u, i == 0) for i, u in enumerate(split_units(w, rules)))
            for w, n in counts.items() if n >= min_count}


def load_foreign_words(exclude: set[str] = frozenset()) -> list[str]:
    """English words (wordfreq's packaged list) and hand-picked brands, acronyms and URLs.

    English words in `exclude` are left out: pass `armenian_lookalikes` of the corpus. "nor",
    "inch", "chi", "amen", "ban", "media" are English words too, and inserted into Armenian
    sentences as Latin they taught the model to keep the Armenian words "նոր", "ինչ", "չի",
    "ամեն", "բան", "մեդիա" Latin now and then (on the shared corpus: 469 of the 14,381 words)."""
    from wordfreq import top_n_list
    words = [w for w in top_n_list("en", 15000)
             if w.isascii() and w.isalpha() and len(w) >= 3 and w not in exclude]
    brands = [line.strip() for line in BRANDS.read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith("#")]
    return words + brands * 20   # brands are few: weight them up


def code_switch(line: str, rng: random.Random, foreign: list[str], p: float = 0.3) -> str:
    """Insert 1-3 foreign words at word boundaries of an Armenian line, as people mix them in."""
    if not foreign or rng.random() >= p:
        return line
    words = line.split(" ")
    for _ in range(rng.randint(1, 3)):
        w = rng.choice(foreign)
        r = rng.random()
        if w.islower():
            w = w.capitalize() if r < 0.2 else w.upper() if r < 0.27 and len(w) <= 5 else w
        i = rng.randint(0, len(words))
        # Half the time the word takes over the punctuation after its left neighbour
        # ("em Deep Learning։"): otherwise the model never sees a foreign word before a
        # comma or full stop and starts transliterating it there.
        if i and words[i - 1] and words[i - 1][-1] in SENTENCE_PUNCT and rng.random() < 0.5:
            words[i - 1], w = words[i - 1][:-1], w + words[i - 1][-1]
        words.insert(i, w)
    return " ".join(w for w in words if w)


# A sentence's closing full stop: ։ or the ASCII ":" many writers use, after a word. The range
# U+0531-U+0587 also holds the marks ՛ ՜ ՞ that can sit on a word's last letter ("սա՞։").
SENTENCE_END = re.compile(r"(?<=[\u0531-\u0587»)])[։:](?=\s|$)")


def chat_marks(line: str, rng: random.Random, p: float = 0.7, p_any: float = 0.15) -> str:
    """End questions with "?" and exclamations with "!", as people do when they type.

    Written Armenian marks a question with ՞ on the stressed word and still ends it with ։;
    romanization drops the ՞, so without this the corpus has almost no "?" after Armenian
    words (19 lines in 56k, most of them quoting Turkish or Japanese) and the model learns
    that a word before "?" is foreign ("vonc es du?" kept "du"). A sentence with ՞ (՜) ends
    with "?" ("!") with probability p, any other sentence with probability p_any: chats ask
    more than encyclopedias do, and at 4% the model still kept short words before "?" Latin.
    Only the closing mark changes (or is added to an unclosed last sentence): nothing else is lost."""
    chars, start = list(line), 0
    for e in [m.start() for m in SENTENCE_END.finditer(line)] + [len(line)]:
        sent = line[start:e]
        kind = "?" if "՞" in sent else "!" if "՜" in sent else ""
        if kind:
            mark = kind if rng.random() < p else ""
        else:
            mark = rng.choice("?!") if e < len(line) and rng.random() < p_any else ""
        if mark and e < len(line):
            chars[e] = mark
        elif mark and sent.strip() and sent.rstrip()[-1] not in SENTENCE_PUNCT:
            chars.append(mark)
        start = e + 1
    return "".join(chars)


def parse_mix(spec: str) -> dict[str, float]:
    """"wikipedia=0.5,ud=4" -> {"wikipedia": 0.5, "ud": 4.0}: how often each source's lines
    are used per epoch."""
    mix = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, sep, w = part.partition("=")
        try:
            weight = float(w)
        except ValueError:
            weight = -1.0
        if not sep or weight < 0 or weight != weight:
            raise ValueError(f"bad mix entry {part!r}: expected kind=weight with a weight >= 0")
        mix[kind.strip()] = weight
    return mix


def mix_lines(lines: list[str], kinds: list[str], mix: dict[str, float], rng: random.Random) -> list[str]:
    """One epoch's lines: each line of kind k appears floor(w) times, plus once more with
    probability frac(w). Kinds missing from `mix` keep weight 1."""
    out = []
    for line, kind in zip(lines, kinds, strict=True):
        w = mix.get(kind, 1.0)
        n = int(w) + (rng.random() < w - int(w))
        out.extend([line] * n)
    return out


def keep_armenian_word(ex: Aligned, rng: random.Random, p: float = 0.03) -> Aligned:
    """Sometimes leave one word in Armenian script: people paste Armenian into Latin text."""
    if rng.random() >= p:
        return ex
    spans, start = [], 0
    for i, c in enumerate(ex.latin + " "):
        if c == " ":
            if i > start:
                spans.append((start, i))
            start = i + 1
    if not spans:
        return ex
    a, b = rng.choice(spans)
    word = "".join(ex.target[a:b])
    if not any(is_armenian_letter(c) for c in word):
        return ex
    return Aligned(ex.latin[:a] + word + ex.latin[b:], ex.target[:a] + list(word) + ex.target[b:])


def fragment(ex: Aligned, rng: random.Random, max_words: int = 6) -> Aligned | None:
    """A run of 1-6 words from inside a sentence: chats are short, lowercase and unpunctuated,
    unlike encyclopedia sentences, and the model must not rely on long context to be right."""
    starts = [0] + [i + 1 for i, c in enumerate(ex.latin) if c == " "]
    if len(starts) < 3:
        return None
    a = rng.randrange(1, len(starts))            # never the sentence's first (capitalised) word
    b = min(len(starts), a + rng.randint(1, max_words))
    end = starts[b] - 1 if b < len(starts) else len(ex.latin)
    latin, target = ex.latin[starts[a]:end], ex.target[starts[a]:end]
    if latin and latin[-1] in ".:," and target[-1] != latin[-1] and rng.random() < 0.7:
        latin, target = latin[:-1], target[:-1]  # chats rarely end with the full stop
    return Aligned(latin, target) if latin.strip() else None


def make_examples(lines: list[str], rules: Rules, seed: int, foreign: list[str],
                  max_len: int, augment: bool = True) -> list[Aligned]:
    """Romanize every line with one seeded rng and cut it into chunks of at most max_len."""
    rng = random.Random(seed)
    out = []
    for line in lines:
        if augment:
            line = code_switch(chat_marks(line, rng), rng, foreign)
        ex = romanize(line, rules, rng)
        if augment:
            ex = keep_armenian_word(ex, rng)
            if rng.random() < 0.3:
                frag = fragment(ex, rng)
                if frag:
                    out.append(frag)
        for a, b in split_at_spaces(ex.latin, max_len):
            out.append(Aligned(ex.latin[a:b], ex.target[a:b]))
    return out


def batches(examples: list[Aligned], alphabets: Alphabets, batch_size: int, seed: int,
            shuffle: bool = True):
    """Yield (x, y) batches whose examples all have exactly the same length.

    Equal lengths mean no padding at all, so the LSTM runs unpacked (packed sequences are
    several times slower on CPU) and the backward direction never reads padding.
    """
    rng = random.Random(seed)
    by_len: dict[int, list[int]] = {}
    for i, ex in enumerate(examples):
        by_len.setdefault(len(ex.latin), []).append(i)
    groups = []
    for n in sorted(by_len):
        ids = by_len[n]
        if shuffle:
            rng.shuffle(ids)
        groups += [ids[i:i + batch_size] for i in range(0, len(ids), batch_size)]
    if shuffle:
        rng.shuffle(groups)
    for g in groups:
        x = torch.tensor([alphabets.encode_input(examples[i].latin) for i in g])       # (B, T)
        y = torch.tensor([alphabets.encode_target(examples[i]) for i in g])            # (B, T)
        yield x, y
