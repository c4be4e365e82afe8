"""Interventions, steering and attribution on the user's own text (engine and CLI)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from tiny import tiny_net

from translit_core.analysis import Analysis
from translit_core.analysis.methods.attribution import attribute
from translit_core.analysis.methods.intervene import Setting, intervene, parse_span, plain_pass, steer
from translit_core.model.alphabets import Alphabets
from translit_core.model.checkpoint import load_checkpoint
from translit_core.model.names import UnknownName


@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint()[:2]


@pytest.fixture(scope="module")
def tiny_pair():
    """A tiny seeded network over a small alphabet: (model, alphabets)."""
    alph = Alphabets(["<pad>", "<unk>", " ", "a", "b", "s", "t"], ["<pass>", "<place>", "ա", "բ", "ս", "տ", "ծ"])
    return tiny_net(21, len(alph.inputs), len(alph.outputs), lstm=6, hidden=5, scale=3.0), alph


def test_settings_parse_and_refuse_nonsense():
    assert Setting.parse("concat.fwd:159=0") == Setting(Setting.parse("concat.fwd:159=1").neuron, "set", 0.0)
    assert Setting.parse("hidden:37 = mean").op == "mean" and Setting.parse("gate.bwd.g:6=2", "scale").value == 2.0
    for bad in ("concat.fwd:159", "hidden:x=1", "hidden:3=nan", "hidden:3=1e9", "hidden:3=loud", "cell.up:3=0"):
        with pytest.raises(UnknownName):
            Setting.parse(bad)
    with pytest.raises(UnknownName, match="0..227"):
        Setting.parse("hidden:228=0", sizes={"hidden": 228})
    assert parse_span("3:7", 10) == (3, 7) and parse_span(":4", 10) == (0, 4) and parse_span("8:", 10) == (8, 10)
    for bad in ("7:3", "3:11", "a:b", "3"):
        with pytest.raises(UnknownName):
            parse_span(bad, 10)


def test_no_setting_is_the_plain_model_and_says_so(tiny_pair):
    model, alph = tiny_pair
    r = intervene(model, alph, "tasta bata", [])
    assert r.output_before == r.output_after and r.changed == [] and set(r.delta_logp) == {0.0}
    assert "plain model" in r.summary()


def test_a_forward_unit_at_one_position_changes_nothing_before_it(tiny_pair):
    model, alph = tiny_pair
    text = "tasta batab sats"
    settings = [Setting.parse("concat.fwd:2=5"), Setting.parse("cell.fwd:4=-5")]
    r = intervene(model, alph, text, settings, span=(6, 7))
    assert all(d == 0.0 for d in r.delta_logp[:6])                    # bit-identical before the span
    assert any(d != 0.0 for d in r.delta_logp[7:11])                  # it travelled forward
    back = intervene(model, alph, text, [Setting.parse("concat.bwd:2=5"), Setting.parse("cell.bwd:4=-5")], span=(6, 7))
    assert all(d == 0.0 for d in back.delta_logp[7:11]) and any(d != 0.0 for d in back.delta_logp[:6])


def test_a_kept_plain_pass_gives_the_same_result(tiny_pair):
    """The dashboard keeps the plain pass of a text and passes it back for every new setting."""
    model, alph = tiny_pair
    text = "tasta batab\nsats"
    plain = plain_pass(model, alph, text)
    settings = [Setting.parse("concat.fwd:2=5"), Setting.parse("hidden:1=-2")]
    assert intervene(model, alph, text, settings, plain=plain) == intervene(model, alph, text, settings)
    assert intervene(model, alph, text, [], plain=plain) == intervene(model, alph, text, [])
    with pytest.raises(ValueError, match="plain pass"):
        intervene(model, alph, "tasta", settings, plain=plain)                   # another text's


def test_zeroing_the_forward_units_of_s_to_nothing_changes_ts(shipped):
    """The post's #70 story, causally: the forward units most selective for s -> nothing (the s of
    "ts" writes nothing) are what keep that s silent."""
    model, alph = shipped
    an = Analysis.load()
    units = [s.neuron for s in an.top_neurons("s:_", "concat.fwd", 10)]
    for text, s in (("hats kerank", 3), ("tsov@ hangist e", 1)):
        r = intervene(model, alph, text, [Setting(n, "zero") for n in units])
        assert r.tokens_before[s] == "" and r.tokens_after[s] != ""  # the s of "ts" is written now
        assert s in r.changed and r.delta_logp[s] < -0.69          # p(nothing) fell below one half


def test_mean_setting_uses_the_unit_mean_over_the_sample(tiny_pair):
    model, alph = tiny_pair
    means = {"hidden": torch.tensor([0.1, -0.2, 0.3, 0.4, -0.5])}
    a = intervene(model, alph, "tasta", [Setting.parse("hidden:1=mean")], means=means)
    b = intervene(model, alph, "tasta", [Setting.parse("hidden:1=-0.2")])
    assert a.delta_logp == b.delta_logp
    with pytest.raises(UnknownName, match="analysis"):
        intervene(model, alph, "tasta", [Setting.parse("hidden:1=mean")])


def test_steering_t_towards_its_t_units_writes_t(shipped):
    model, alph = shipped
    r, n_x, became = steer(model, alph, Analysis.load(), "barev tatik, tun", "t:թ", k=10, alpha=1.0)
    assert n_x == 3 and r.tokens_before.count("թ") < became == 3


@pytest.mark.parametrize("text,position", [("tasta bata", 3), ("sat tab ats", 9)])
def test_attribution_is_complete_and_each_direction_reads_only_its_side(tiny_pair, text, position):
    model, alph = tiny_pair
    r = attribute(model, alph, text, position, n_steps=64)
    total = sum(c.total for c in r.attributions)
    assert total == pytest.approx(r.logp - r.baseline_logp + r.delta, abs=1e-4)        # delta is what it says
    assert abs(r.delta) <= 0.02 * abs(r.logp - r.baseline_logp) + 1e-3                 # completeness
    chunk = [c for c in r.attributions]
    assert all(c.forward == 0.0 for c in chunk if c.position > position)
    assert all(c.backward == 0.0 for c in chunk if c.position < position)
    assert all(c.direct == 0.0 for c in chunk if c.position != position)
    assert any(c.forward != 0.0 for c in chunk if c.position < position)
    assert r.top_units and abs(r.unit_delta) < 1e-3


def test_attribution_refuses_positions_the_network_does_not_decide(tiny_pair):
    model, alph = tiny_pair
    with pytest.raises(UnknownName):
        attribute(model, alph, "tasta", 9)
    with pytest.raises(UnknownName):
        attribute(model, alph, "ta😀sta", 2)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "translit_core", *args], capture_output=True, text=True, timeout=180)


def test_cli_intervene_and_attribute_print_the_documented_json():
    p = cli("intervene", "--text", "tsaghik", "--set", "concat.fwd:159=0", "--set", "hidden:37=mean",
            "--scale", "gate.bwd.g:6=2", "--span", "0:3", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert {"input", "output_before", "output_after", "changed", "delta_logp", "interventions"} <= set(r)
    assert len(r["delta_logp"]) == len("tsaghik") and len(r["interventions"]) == 3
    p = cli("attribute", "--text", "tsaghik", "--position", "1", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert {"input", "output", "position", "target", "attributions", "top_units"} <= set(r)
    assert {"position", "total", "forward", "backward"} <= set(r["attributions"][0])
    for args in (("intervene", "--text", "abc", "--set", "hidden:999=0"), ("intervene", "--text", "abc"),
                 ("intervene", "--text", "abc", "--set", "hidden:1=0", "--span", "2:9"),
                 ("attribute", "--text", "abc", "--position", "7")):
        p = cli(*args)
        assert p.returncode == 2 and p.stderr.startswith("error:") and "Traceback" not in p.stderr, args
