"""The text bank: size, distinctness, metadata and slots."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from townhall.connectors.simulator.bank import INTENTS, SLOTS, fill, load_bank, slots_in
from townhall.connectors.simulator.scenario import CATEGORY_WEIGHTS


def test_at_least_400_distinct_templates() -> None:
    templates = load_bank().all_templates()
    texts = [t.text for t in templates]
    duplicates = [text for text, n in Counter(texts).items() if n > 1]
    assert not duplicates
    assert len(set(texts)) >= 400
    assert len({t.key for t in templates}) == len(templates)


def test_every_intent_and_language_is_covered() -> None:
    templates = load_bank().all_templates()
    assert {t.intent for t in templates} == INTENTS
    langs = Counter(t.lang for t in templates)
    for lang in ("es", "fr", "de", "pt", "it", "nl"):
        assert langs[lang] >= 10
    lengths = sorted(len(t.text) for t in templates)
    assert lengths[0] < 20 and lengths[-1] > 400
    assert any("Globex" in t.text or "{competitor}" in t.text for t in templates)


def test_every_category_has_a_traffic_weight() -> None:
    assert set(load_bank().by_category) == set(CATEGORY_WEIGHTS)


def test_every_slot_is_known_and_filled() -> None:
    rng = random.Random(0)
    for template in load_bank().all_templates():
        assert slots_in(template.text) <= SLOTS, template.key
        filled = fill(template.text, rng, template.lang, {"link": "https://x.example/t/1"})
        assert "{" not in filled, template.key


def test_fill_is_deterministic_and_rejects_unknown_slots() -> None:
    text = "my {product} from {store} cost {price}"
    assert fill(text, random.Random(5)) == fill(text, random.Random(5))
    with pytest.raises(KeyError):
        fill("{nonsense}", random.Random(0))
