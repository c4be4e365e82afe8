"""Hypothesis matching (LSTMVis) and annotation tracks, on hand-built activations and small
synthetic recordings whose units are planted: each result is checked against an independent
reference (a plain Python loop for the matcher, sklearn's roc_auc_score for the AUC)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tiny import tiny_net
from translit_core.analysis.methods.hypothesis import match, select_units
from translit_core.analysis.measurement.recording import Recording
from translit_core.analysis.methods.tracks import (annotate, auc_matrix, best_track, binary_tracks, digraphs,
                                           sample_tracks, text_tracks)
from translit_core.model.alphabets import Alphabets, output_alphabet
from translit_core.model.names import UnknownName

LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [chr(c) for c in range(ord("A"), ord("Z") + 1)]


@pytest.fixture(scope="module")
def alphabets(rules):
    return Alphabets(["<pad>", "<unk>", " ", ",", "@"] + LETTERS, output_alphabet(rules))


def synthetic(alphabets, chunks: list[str], h_fwd: np.ndarray, H: int = 6) -> Recording:
    """A recording of `chunks` whose forward h is `h_fwd` (P, H); backward h and c are zero."""
    model = tiny_net(0, n_in=len(alphabets.inputs), n_out=len(alphabets.outputs), lstm=H, hidden=5)
    lengths = torch.tensor([len(c) for c in chunks])
    starts = torch.zeros(len(chunks) + 1, dtype=torch.long)
    starts[1:] = lengths.cumsum(0)
    P = int(starts[-1])
    x = torch.tensor([i for c in chunks for i in alphabets.encode_input(c)])
    h = np.zeros((P, 2 * H), np.float32)
    h[:, :H] = h_fwd
    return Recording(model, alphabets, chunks, starts, torch.arange(len(chunks)),
                     torch.zeros(len(chunks), dtype=torch.long),
                     x, torch.zeros(P, dtype=torch.long), torch.zeros(P, dtype=torch.long), h, np.zeros_like(h))


# --------------------------------------------------------------------------------------------
# select_units: LSTMVis's rule on one text

def naive_select(acts, span, threshold, left, right):
    T, U = acts.shape
    s, e = span
    out = []
    for u in range(U):
        inside = all(acts[t, u] > threshold for t in range(s, e))
        around = [t for t in range(s - left, s) if t >= 0] + [t for t in range(e, e + right) if t < T]
        if inside and not any(acts[t, u] > threshold for t in around):
            out.append(u)
    return out


def test_select_units_on_hand_built_activations():
    on, off = 0.9, 0.0
    acts = np.full((8, 5), off, np.float32)
    acts[3:5, 0] = on                       # on in the span only: selected
    acts[2:5, 1] = on                       # also on just before: not
    acts[3, 2] = on                         # not on throughout: not
    acts[3:6, 3] = on                       # also on just after: not
    acts[3:5, 4] = on
    acts[1, 4] = on                         # on two before: fits left=1, not left=2
    assert select_units(acts, (3, 5), 0.5, 1, 1).tolist() == [0, 4]
    assert select_units(acts, (3, 5), 0.5, 2, 1).tolist() == [0]
    assert select_units(acts, (3, 5), 0.5, 0, 0).tolist() == [0, 1, 3, 4]
    assert select_units(acts, (3, 5), 0.95, 1, 1).tolist() == []        # "on" is above the threshold
    edge = np.zeros((4, 2), np.float32)
    edge[0:2, 0] = on                       # a span at the text's start: nothing before it to be off on
    edge[2:4, 1] = on                       # and at its end
    assert select_units(edge, (0, 2), 0.5, 3, 1).tolist() == [0]
    assert select_units(edge, (2, 4), 0.5, 1, 3).tolist() == [1]
    with pytest.raises(UnknownName):
        select_units(acts, (5, 5), 0.5)
    with pytest.raises(UnknownName):
        select_units(acts, (3, 9), 0.5)


def test_select_units_agrees_with_a_plain_loop():
    rng = np.random.default_rng(0)
    for _ in range(50):
        T, U = rng.integers(3, 12), rng.integers(1, 20)
        acts = rng.uniform(-1, 1, (T, U)).astype(np.float32)
        s = int(rng.integers(0, T - 1))
        e = int(rng.integers(s + 1, T + 1))
        thr, left, right = float(rng.uniform(-0.9, 0.3)), int(rng.integers(0, 3)), int(rng.integers(0, 3))
        assert select_units(acts, (s, e), thr, left, right).tolist() == naive_select(acts, (s, e), thr, left, right)


# --------------------------------------------------------------------------------------------
# match: the planted span detector, found and located

CHUNKS = ["azatutyun ev hamar", "tyun", "mer hasarakutyun@", "misionner bari", "lav utyun u sion",
          "vochinch chka", "tyunner tyun"]


def planted(chunks, words=("tyun",), also=("sion",), units=(2, 4), H=6, seed=0):
    """h of a span detector: `units` at 0.9 on every letter of `words` and of `also`, -0.5
    elsewhere; unit 0 random noise; the rest small. Returns (h (P, H), spans, same-letter spans)."""
    rng = np.random.default_rng(seed)
    text = "".join(chunks)
    h = rng.uniform(-0.2, 0.2, (len(text), H)).astype(np.float32)
    h[:, 0] = rng.uniform(-1, 1, len(text))
    for u in units:
        h[:, u] = -0.5
    spans, same = [], []
    offset = 0
    for c in chunks:
        for w in words + also:
            i = c.find(w)
            while i >= 0:
                a, b = offset + i, offset + i + len(w)
                for u in units:
                    h[a:b, u] = 0.9
                spans.append((a, b))
                if w in words:
                    same.append((a, b))
                i = c.find(w, i + len(w))
        offset += len(c)
    return h, sorted(spans), sorted(same)


def test_the_planted_span_detector_is_selected_and_its_matches_located(alphabets):
    h, spans, same = planted(CHUNKS)
    rec = synthetic(alphabets, CHUNKS, h)
    text = "ays azatutyun@"
    a = text.index("tyun")
    acts, _, _ = planted([text])
    units = select_units(acts, (a, a + 4), 0.3, 1, 1)
    assert units.tolist() == [2, 4]
    r = match(rec, "concat.fwd", units, 0.3, 4, 1, 1, top=100, span_latin="tyun")
    found = sorted((m.start, m.end) for m in r.matches)
    assert found == spans                           # at the start, in the middle and at the end of chunks
    assert r.n_matches == len(spans) and r.n_full == len(spans)
    assert r.n_same_letters == len(same) < r.n_matches      # "sion" shares the pattern, not the letters
    assert sorted((m.start, m.end) for m in r.matches if m.same_letters) == same
    m = next(m for m in r.matches if m.latin == "sion")
    assert m.before.endswith("mi") and m.after.startswith("ner")
    assert len(m.outputs) == len(m.before) + len(m.latin) + len(m.after)
    assert all(m.mean_activation == pytest.approx(0.9) for m in r.matches)
    assert "2 units of concat.fwd" in r.summary()


def naive_matches(on: np.ndarray, starts: list[int], left: int, right: int, m: int):
    """{(start, end): n_fit} by a loop over every chunk and position."""
    out = {}
    for c0, c1 in zip(starts[:-1], starts[1:]):
        t = c0
        while t < c1:
            if on[t].sum() < m:
                t += 1
                continue
            e = t
            while e < c1 and on[e].sum() >= m:
                e += 1
            fit = 0
            for u in range(on.shape[1]):
                around = list(range(max(c0, t - left), t)) + list(range(e, min(c1, e + right)))
                if on[t:e, u].all() and not on[around, u].any():
                    fit += 1
            if fit >= m:
                out[(t, e)] = fit
            t = e
    return out


@pytest.mark.parametrize("seed", range(6))
def test_match_agrees_with_a_plain_loop(alphabets, seed):
    rng = np.random.default_rng(seed)
    chunks = ["".join(rng.choice(list("abcdefgh "), rng.integers(1, 30))) for _ in range(25)]
    P = sum(map(len, chunks))
    h = rng.uniform(-1, 1, (P, 6)).astype(np.float32)
    rec = synthetic(alphabets, chunks, h)
    units = [1, 3, 4] if seed % 2 else [0, 5]
    left, right, m = int(seed % 3), int((seed + 1) % 3), (None if seed < 3 else 1)
    r = match(rec, "concat.fwd", units, 0.0, 2, left, right, top=10 ** 6, min_units=m)
    want = naive_matches(h[:, units] > 0.0, rec.chunk_start.tolist(), left, right, m or len(units))
    assert {(x.start, x.end): x.n_fit for x in r.matches} == want
    assert r.n_matches == len(want)
    keys = [(-x.n_fit, abs(x.length - 2), -x.mean_activation) for x in r.matches]
    assert keys == sorted(keys)                                        # ranked
    top = match(rec, "concat.fwd", units, 0.0, 2, left, right, top=5, min_units=m)
    assert [(x.start, x.end) for x in top.matches] == [(x.start, x.end) for x in r.matches[:5]]


def test_on_bits_fills_only_the_bytes_of_the_units_asked_for(alphabets):
    from translit_core.analysis.methods.hypothesis import on_bits
    rng = np.random.default_rng(11)
    chunks = ["".join(rng.choice(list("abcdefgh "), rng.integers(1, 30))) for _ in range(20)]
    P, H = sum(map(len, chunks)), 19                                  # 3 bytes, the last one short
    h = rng.uniform(-1, 1, (P, H)).astype(np.float32)
    rec = synthetic(alphabets, chunks, h, H=H)
    full = np.packbits(h > 0.2, axis=1)                               # (P, 3)
    packed = on_bits(rec, "concat.fwd", 0.2, np.array([17]))
    np.testing.assert_array_equal(packed[:, 2], full[:, 2])
    assert not packed[:, :2].any()                                    # not asked for: not computed
    packed = on_bits(rec, "concat.fwd", 0.2, np.array([3, 9]))
    np.testing.assert_array_equal(packed, full)
    # the dense layer for a few units (their weight rows only) is the whole layer's columns
    units = torch.tensor([1, 4])
    whole = rec.layer("hidden")                                       # (P, 5)
    torch.testing.assert_close(rec.layer("hidden", units=units), whole[:, units])
    bits = np.unpackbits(on_bits(rec, "hidden", 0.0, units.numpy()), axis=1)[:, :5]
    want = (whole > 0.0).numpy()
    near = whole.abs().numpy() < 1e-5                                 # a last-bit difference may flip these
    assert ((bits == want) | near).all()                              # one byte holds all five: all filled


def test_match_with_no_units_is_empty(alphabets):
    h, _, _ = planted(CHUNKS)
    r = match(synthetic(alphabets, CHUNKS, h), "concat.fwd", [], 0.3, 4)
    assert r.n_matches == 0 and not r.matches and "no unit fits" in r.summary()


# --------------------------------------------------------------------------------------------
# tracks

def test_digraphs_come_from_the_rules(rules):
    d = digraphs(rules)
    assert {"ts", "sh", "ch", "kh", "gh", "zh", "dz", "th", "tch"} <= set(d)
    assert not {"ye", "ev", "ou"} & set(d)                    # vowel spellings are ordinary letter pairs too
    assert d.index("tch") < d.index("ch")                     # longest first


def test_annotate_a_hand_written_text(rules):
    text = "barev dzez, u shat@ tchka"
    p = annotate(text, rules=rules)
    word = "".join(".SME1"[w] for w in p.word)
    assert word == "SMMME.SMME..1.SMMME.SMMME"                # '@' (ը) is a letter; ',' and ' ' are not
    got = [(i, p.kinds[d], int(p.digraph_at[i])) for i, d in enumerate(p.digraph.tolist()) if d >= 0]
    assert got == [(6, "dz", 0), (7, "dz", 1), (14, "sh", 0), (15, "sh", 1),
                   (20, "tch", 0), (21, "tch", 1), (22, "tch", 2)]
    # chunk edges cut words and digraphs: "s|h" across a chunk boundary is no digraph
    first = np.zeros(4, bool)
    first[2] = True
    last = np.zeros(4, bool)
    last[1] = True
    q = annotate("aszh", first, last, rules)
    assert q.word.tolist() == [1, 3, 1, 3] and q.digraph[:2].tolist() == [-1, -1] and q.digraph[2] >= 0


def test_text_tracks_rows(rules):
    text = "barev dzez"
    outs = ["բ", "ա", "ր", "ե", "ւ", " ", "ձ", "", "ե", "զ"]
    rows = {name: labels for name, labels, _ in text_tracks(text, outs, [0.99] * 9 + [0.5], [False] * 9 + [True],
                                                             rules).rows}
    assert rows["word"] == list("SMMME") + [""] + list("SMME")
    assert rows["digraph"] == [""] * 6 + ["dz", "dz", "", ""]
    assert rows["uncertain"][-1] == "50" and rows["lexicon"][-1] == "L" and rows["kept Latin"] == [""] * 10


def test_auc_matches_sklearn():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(1)
    acts = np.round(rng.normal(size=(400, 3)), 1)             # rounded: ties, which count half
    masks = rng.random((5, 400)) < [[0.1], [0.3], [0.5], [0.7], [0.02]]
    auc = auc_matrix(masks, acts)
    for t in range(5):
        for u in range(3):
            assert auc[t, u] == pytest.approx(roc_auc_score(masks[t], acts[:, u]), abs=1e-12)


H_WORDS = ["shat", "chka", "khach", "ghazar", "zhamanak", "hamar", "hishel", "barev", "tsav", "dzez", "mah",
           "tshort", "shnorh", "khosel", "hogh", "ararat", "chi", "voch", "gorts"]


def test_the_best_track_of_an_h_after_s_c_k_g_z_unit_is_the_digraph_track(alphabets, rules):
    rng = np.random.default_rng(2)
    chunks = [" ".join(rng.choice(H_WORDS, 6)) for _ in range(120)]
    text = "".join(chunks)
    H = 6
    h = rng.normal(0, 0.3, (len(text), H)).astype(np.float32)
    lower = text.lower()
    for i in range(1, len(text)):
        if lower[i] == "h" and lower[i - 1] in "sckgz" and text[i - 2:i] != "ts":
            h[i, 1] += 2.0                                   # the planted unit: h after s, c, k, g, z
    rec = synthetic(alphabets, chunks, h, H)
    b = best_track(rec, "concat.fwd:1")
    assert b.track == "digraph: later h" and b.high and b.auc > 0.95
    assert "the h of a digraph" in b.description and "AUC" in b.description
    st = sample_tracks(rec)
    names = [t.name for t in st.tracks]
    assert "input h" in names and "in digraph sh" in names       # the rivals were scored, and lost
    assert "changed by the lexicon" not in names                 # the sample has no lexicon pass


def test_binary_tracks_predicates(rules):
    text = "shat"
    tracks, masks = binary_tracks(annotate(text, rules=rules), list(text), ["շ", "", "ա", "տ"])
    by = {t.name: m.tolist() for t, m in zip(tracks, masks)}
    assert by["input h"] == [False, True, False, False]
    assert by["output շ"] == [True, False, False, False]
    assert by["digraph: later h"] == [False, True, False, False]
    assert by["word start"] == [True, False, False, False] and by["word end"] == [False, False, False, True]


def test_count_on_popcounts_the_selected_units_of_the_packed_bits():
    import numpy as np
    from translit_core.analysis.methods.hypothesis import count_on
    rng = np.random.default_rng(3)
    on = rng.random((50, 21)) > 0.5                                   # (P, units)
    packed = np.packbits(on, axis=1)
    for units in ([0], [7, 8], [20, 3, 9, 15, 1, 2, 0, 11, 19, 5], list(range(21))):
        np.testing.assert_array_equal(count_on(packed, np.array(units)).numpy(), on[:, units].sum(1))
