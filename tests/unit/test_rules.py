import json

import pytest

from translit_core.text.rules import DEFAULT_RULES, RulesError, load_rules, parse_rules


def raw():
    return json.loads(DEFAULT_RULES.read_text(encoding="utf-8"))


def test_packaged_rules_load_and_cover_every_letter():
    rules = load_rules()
    for code in range(0x0561, 0x0587):
        assert chr(code) in rules.letters
    for letter, variants in rules.letters.items():
        assert abs(sum(variants.values()) - 1) < 1e-6, letter
    assert rules.letters["ու"] == {"u": 0.95, "ou": 0.05}
    assert rules.most_probable("ո", word_start=True) == "vo"
    assert rules.most_probable("ո") == "o"
    assert rules.letters["Ձ"]["Dz"] == pytest.approx(0.8)


@pytest.mark.parametrize("letter, variants, message", [
    ("ց", {"c": 0.8, "ts": 0.1}, "ց.*sum to 0.9"),
    ("ց", {"c": 0.5, "": 0.5}, "ց.*non-empty printable ASCII"),
    ("ց", {"c": 0.5, "ց": 0.5}, "ց.*ASCII"),
    ("ց", {"c": 1.5, "ts": -0.5}, "ց.*probability"),
    ("ց", {}, "ց.*non-empty"),
])
def test_bad_letter_is_named(letter, variants, message):
    r = raw()
    r["letters"][letter] = variants
    with pytest.raises(RulesError, match=message):
        parse_rules(r)


def test_missing_letter_and_unknown_word_initial():
    r = raw()
    del r["letters"]["ք"]
    with pytest.raises(RulesError, match="ք"):
        parse_rules(r)
    r = raw()
    r["word_initial"]["x"] = {"a": 1.0}
    with pytest.raises(RulesError, match="word_initial 'x'"):
        parse_rules(r)


def test_unreadable_or_invalid_file(tmp_path):
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(RulesError, match="not valid JSON"):
        load_rules(bad)


def test_hash_changes_with_content():
    r = raw()
    a = parse_rules(r).sha256
    r["letters"]["վ"] = {"v": 0.8, "w": 0.2}
    assert parse_rules(r).sha256 != a
