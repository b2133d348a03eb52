"""The keyword pre-filter never drops a text the exact topic matcher finds a topic in."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.org.policy import Policy, load_policy
from townhall.understand.prefilter import KeywordPrefilter
from townhall.understand.topics import TopicMatcher

ACME_POLICY = Path(__file__).resolve().parents[2] / "examples" / "acme" / "policy.yaml"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(ACME_POLICY)


@pytest.fixture(scope="module")
def prefilter(policy: Policy) -> KeywordPrefilter:
    return KeywordPrefilter.from_policy(policy)


@pytest.fixture(scope="module")
def matcher(policy: Policy) -> TopicMatcher:
    return TopicMatcher.from_policy(policy)


def _keywords() -> list[str]:
    policy = load_policy(ACME_POLICY)
    brand = policy.brand
    words = [brand.name, *brand.keywords]
    for product in brand.products:
        words += [product.name, *product.aliases]
    for competitor in brand.competitors:
        words += [competitor.name, *competitor.aliases]
    return words


KEYWORDS = _keywords()

ACCENTS = {"a": "áàâäå", "e": "éèêë", "i": "íìîï", "o": "óòôöø", "u": "úùûü", "c": "ç"}
EMOJI = ["😤", "🔥", "👍🏽", "🇬🇧", "❤️", "🫖"]


@st.composite
def mangled_keyword(draw: st.DrawFn) -> str:
    """A keyword as people write it: case changed, accents, fullwidth letters, spaces dropped,
    a #/@ prefix, letters or emoji glued on either side."""
    word = draw(st.sampled_from(KEYWORDS))
    out = []
    for ch in word:
        choice = draw(st.integers(0, 9))
        if choice == 0:
            ch = ch.swapcase()
        elif choice == 1 and ch.lower() in ACCENTS:
            ch = draw(st.sampled_from(ACCENTS[ch.lower()]))
        elif choice == 2 and ch.lower() in ACCENTS:
            ch = ch + "\u0301"  # a combining acute accent
        elif choice == 3 and ch.isascii() and ch.isalnum():
            ch = chr(ord(ch.upper()) - 0x21 + 0xFF01)  # fullwidth form
        elif choice == 4 and ch == " ":
            ch = draw(st.sampled_from(["", "  ", "\t", " "]))
        out.append(ch)
    prefix = draw(st.sampled_from(["", "#", "@", "＃", "x", "the ", *EMOJI]))
    suffix = draw(st.sampled_from(["", "s", "5", "!", " ", "’s", *EMOJI]))
    return prefix + "".join(out) + suffix


WORDS = st.sampled_from(
    [
        *["my", "kettle", "blender", "air", "fry", "scale", "smart", "one", "pro", "leaks"],
        *["acm", "glob", "ex", "corp", "appliances", "ß", "straße", "İ", "ﬁ", "\n", "👍", "😤"],
    ]
)
FILLER = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]), min_size=0, max_size=12
) | st.lists(WORDS, max_size=6).map(" ".join)


@st.composite
def post_text(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.one_of(mangled_keyword(), FILLER, WORDS), max_size=6))
    glue = draw(st.sampled_from([" ", "", "\n", " 😤 ", ", "]))
    return glue.join(pieces)


@settings(max_examples=400, deadline=None)
@given(texts=st.lists(post_text(), max_size=12))
def test_every_text_the_matcher_matches_is_a_candidate(
    prefilter: KeywordPrefilter, matcher: TopicMatcher, texts: list[str]
) -> None:
    candidates = prefilter.candidates(texts)
    assert candidates == sorted(set(candidates))
    assert all(0 <= i < len(texts) for i in candidates)
    missed = [t for i, t in enumerate(texts) if matcher.match(t) and i not in candidates]
    assert not missed


@settings(max_examples=200, deadline=None)
@given(text=post_text())
def test_one_text_alone_or_in_a_batch_gives_the_same_answer(
    prefilter: KeywordPrefilter, text: str
) -> None:
    alone = prefilter.candidates([text]) == [0]
    assert (1 in prefilter.candidates(["nothing", text, "here"])) == alone


@pytest.mark.parametrize(
    "text",
    [
        "#AirFry5 melted",
        "My ACME KettleOne stopped working",
        "Ácme blender pro",
        "ＡＣＭＥ fullwidth",
        "#BlenderPro 👍",
        "switching to GLOBEX corp 😤",
        "my kettle one is loud",
    ],
)
def test_brand_mentions_are_candidates(
    prefilter: KeywordPrefilter, matcher: TopicMatcher, text: str
) -> None:
    assert matcher.match(text)
    assert prefilter.candidates([text]) == [0]


def test_texts_without_keywords_are_not_candidates(prefilter: KeywordPrefilter) -> None:
    texts = ["nothing here", "", "lovely weather 😤", "a kettle and a blender", "café"]
    assert prefilter.candidates(texts) == []


def test_a_word_containing_a_keyword_may_be_a_candidate(
    prefilter: KeywordPrefilter, matcher: TopicMatcher
) -> None:
    assert matcher.match("acmemart sale") == []
    assert prefilter.candidates(["acmemart sale"]) in ([], [0])  # a false positive is allowed


def test_indexes_in_a_mixed_batch(prefilter: KeywordPrefilter) -> None:
    texts = ["nothing", "ACME rocks", "naïve text", "", "#airfry5 🔥", "x" * 500, "globex"]
    assert prefilter.candidates(texts) == [1, 4, 6]
    assert prefilter.keep(texts) == [False, True, False, False, True, False, True]


def test_no_keywords_no_candidates() -> None:
    assert KeywordPrefilter.from_keywords([]).candidates(["ACME"]) == []
    assert KeywordPrefilter.from_keywords(["ACME"]).candidates([]) == []


def test_non_ascii_keywords_fold_like_the_matcher() -> None:
    words = ["Café Noir", "東京"]
    prefilter = KeywordPrefilter.from_keywords(words)
    matcher = TopicMatcher.from_keywords({"t": words})
    texts = ["CAFÉ NOIR 😤", "#cafenoir", "東京に行く", "tokyo"]
    for i, text in enumerate(texts):
        if matcher.match(text):
            assert i in prefilter.candidates(texts)
    assert prefilter.candidates(texts) == [0, 1, 2]
