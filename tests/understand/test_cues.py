"""Surface cues for spam and help requests, and how intent.py combines them with the model."""

from __future__ import annotations

import numpy as np
import pytest

from townhall.understand.cues import help_cues, spam_score, spam_scores
from townhall.understand.features import tokenize
from townhall.understand.intent import (
    ACT_P_NONE,
    ACT_P_STRONG,
    SPAM_ALONE,
    SPAM_WITH_MODEL,
    _combine_spam,
    decide_actionable,
)


@pytest.mark.parametrize(
    "text",
    [
        "FREE entry in 2 a wkly comp to win FA Cup final tkts. Text FA to 87121 to receive entry",
        "URGENT! You have won a 1 week FREE membership in our £100,000 prize Jackpot!",
        "Congratulations! You've been selected for a $500 gift card, claim your reward now",
        "Buy 10k real followers cheap, DM me 🔥 link in bio",
        "earn $500 a day from home with crypto signals, join t.me/getrich",
        "Gefeliciteerd! U heeft een gratis nacht gewonnen. Vul uw gegevens in via de link",
    ],
)
def test_spam_phrases_are_spam_by_themselves(text: str) -> None:
    assert spam_score(text) >= SPAM_ALONE


@pytest.mark.parametrize(
    "text",
    [
        "I paid $200 for this kettle and it broke in a week",
        "@united you won't believe how long we waited at the gate",
        "Thanks for the free upgrade, lovely crew",
        "My order 2081807 never arrived, please check",
        "unsubscribed 3 times… is this even legal",
    ],
)
def test_ordinary_posts_are_not_spam_by_their_surface(text: str) -> None:
    assert spam_score(text) < SPAM_WITH_MODEL


def test_cue_words_count_once_and_links_count() -> None:
    assert spam_score("just text") == 0
    plain = spam_score("cheap cheap cheap watches")
    linked = spam_score("cheap watches at best-watch.click")
    shortened = spam_score("cheap watches bit.ly/3xYz")
    assert plain == 0.5  # one distinct word
    assert linked > plain and shortened > plain


def test_scores_from_tokens_equal_scores_from_text() -> None:
    texts = ["Win a FREE #giveaway now!!! txt WIN to 80086", "love it", "call 09061701461 now"]
    tokens = [tokenize(t) for t in texts]
    assert spam_scores(texts, tokens) == spam_scores(texts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Anyone know how to descale a kettle?", 2),
        ("My laptop won't boot after the update, any ideas?", 2),
        ("how do I reset the router", 2),
        ("Weet iemand hoe ik de filter vervang?", 2),
        ("¿Alguien sabe cómo se limpia la cesta?", 2),
        ("Is the KettleOne BPA free?", 1),
        ("please send me the invoice again", 1),
        ("just had the best coffee of my life", 0),
        ("lol", 0),
        ("who knew? 😂", 0),
    ],
)
def test_help_cues(text: str, expected: int) -> None:
    assert help_cues(text) == expected


def test_actionable_needs_more_from_the_model_without_a_cue() -> None:
    between = (ACT_P_STRONG + ACT_P_NONE) / 2
    assert decide_actionable(between, 2, "question")
    assert not decide_actionable(between, 0, "question")
    assert decide_actionable(ACT_P_NONE, 0, "complaint")
    assert not decide_actionable(0.99, 2, "spam")  # spam never needs an answer
    assert not decide_actionable(ACT_P_STRONG / 2, 2, "question")


def test_spam_is_added_by_strong_cues_and_dropped_without_any() -> None:
    spam = 1
    # rows: a scam the model calls "other"; an unsure spam label with no cue; a sure spam label
    p_intent = np.array([[0.95, 0.01, 0.04], [0.30, 0.45, 0.25], [0.05, 0.90, 0.05]])
    best = np.argmax(p_intent, axis=1)
    out = _combine_spam([SPAM_ALONE, 0.0, 0.0], best, p_intent, spam)
    assert out.tolist() == [spam, 0, spam]
    # a weaker cue needs the model's support
    out = _combine_spam([SPAM_WITH_MODEL, 0.0, 0.0], best, p_intent, spam)
    assert out[0] == 0
