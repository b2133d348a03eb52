"""Sentiment: VADER + emoji, tuned for social and brand text."""

from __future__ import annotations

import pytest

from townhall.understand.sentiment import NEUTRAL_BAND, Sentiment, score_many, score_sentiment

POSITIVE = [
    "this kettle is sick 🔥",
    "This is fire",
    "it slaps",
    "goated",
    "the new blender straight up slaps, goated kettle too",
    "can't wait to buy it",
    "cant wait to get it!",
    "not bad at all",
    "soooo good",
    "I love my new kettle 😍",
    "😍",
    "🔥",
    "It is pricey, though it works great",
    "Fantastic kettle!! Boils in 60s. Highly recommend.",
    "no complaints, killing it ACME",
]

NEGATIVE = [
    "good price but broke in a week",
    "great, another 2h on hold 🙃",
    "Best kettle ever, stopped working after 3 days 🙄",
    "yeah right, best support ever /s",
    "My kettle stopped working",
    "it broke after two uses",
    "still waiting for my order",
    "no refund yet",
    "the lid melted",
    "never again",
    "what a waste of money",
    "on hold for 2 hours",
    "it doesn't work",
    "the kettle caught fire",
    "Although it looks nice, it broke after two days.",
    "soooo bad",
    "not happy at all",
    "I feel so sick today",
    "sick of this",
    "Worst customer service ever",
]

NEUTRAL = [
    "The new ACME kettle ships on Monday.",
    "Does the AirFry 5 come in blue?",
    "",
    "   ",
]


@pytest.mark.parametrize("text", POSITIVE)
def test_positive(text: str) -> None:
    assert score_sentiment(text).label == "positive"


@pytest.mark.parametrize("text", NEGATIVE)
def test_negative(text: str) -> None:
    assert score_sentiment(text).label == "negative"


@pytest.mark.parametrize("text", NEUTRAL)
def test_neutral(text: str) -> None:
    assert score_sentiment(text).label == "neutral"


def test_elongation_emphasises() -> None:
    assert score_sentiment("soooo goooood").score > score_sentiment("so good").score - 0.01
    assert score_sentiment("goooood").score > score_sentiment("good").score


def test_contrast_weights_the_clause_after() -> None:
    assert (
        score_sentiment("broke in a week but good price").score
        > score_sentiment("good price but broke in a week").score
    )


def test_sarcasm_needs_a_negative_situation() -> None:
    # 🙃 alone with praise stays praise
    assert score_sentiment("Best kettle ever 🙃").label == "positive"
    assert score_sentiment("great, thanks for the help").label == "positive"


def test_review_weights_the_conclusion() -> None:
    review = (
        "I bought the ACME KettleOne last month after reading good reviews. The design is lovely "
        "and it looks great on the counter. It boils fast and the handle is comfortable. However "
        "after three weeks the lid started to stick. Customer support was slow to answer. Now it "
        "leaks and I regret buying it."
    )
    assert score_sentiment(review).label == "negative"
    happy = (
        "I was sceptical at first. The box was damaged when it arrived. But the blender itself is "
        "brilliant, quiet and powerful. Ten out of ten, would buy again."
    )
    assert score_sentiment(happy).label == "positive"


def test_news_like_text() -> None:
    news = (
        "ACME Appliances reported quarterly revenue of 2.1 billion dollars on Tuesday. The company "
        "said sales of its kettles rose 4 percent. Shares fell 2 percent in early trading after "
        "the company warned of supply chain disruptions."
    )
    assert score_sentiment(news).label == "negative"


def test_score_range_and_band() -> None:
    for text in POSITIVE + NEGATIVE + NEUTRAL:
        result = score_sentiment(text)
        assert -1.0 <= result.score <= 1.0
        assert (result.label == "neutral") == (abs(result.score) < NEUTRAL_BAND)


def test_score_many_keeps_order() -> None:
    results = score_many(["love it", "", "hate it"])
    assert [r.label for r in results] == ["positive", "neutral", "negative"]
    assert all(isinstance(r, Sentiment) for r in results)


@pytest.mark.parametrize(
    "text",
    [
        "x" * 100_000,
        "bad " * 25_000,
        "This is bad. " * 8_000,
        "😂🔥🙃🇩🇪❤️👍🏽" * 50,
        "Привет, это 東京 and ACME مرحبا",
        "ctrl\x00\x01\x1b[31m\u202e text\ufeff",
        "<script>alert('x')</script>",
        "!!!???...",
        "\n\n\n",
    ],
)
def test_edge_inputs_never_crash(text: str) -> None:
    result = score_sentiment(text)
    assert result.label in {"positive", "neutral", "negative"}
    assert -1.0 <= result.score <= 1.0


def test_only_emoji() -> None:
    assert score_sentiment("😂😂😂").label == "positive"
    assert score_sentiment("😡🤬").label == "negative"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("a tedious, contrived sequel", "negative"),
        ("gripping and witty from start to finish", "positive"),
        ("sturdy and reliable, five years on", "positive"),
        ("&lt;3 &lt;3", "positive"),  # HTML-escaped feeds
        ("this jacket is fiiire 🔥", "positive"),  # elongation is undone before the slang rule
    ],
)
def test_review_words_entities_and_stretched_slang(text: str, label: str):
    assert score_sentiment(text).label == label


def test_a_long_factual_text_with_a_faint_tilt_is_neutral():
    text = (
        "The city council met on Tuesday evening to discuss the budget for next year. "
        "Members reviewed the proposals for road repairs and the new library. "
        "The vote on the transport plan was postponed until the spring session. "
        "Officials said the library should open in March, a little later than planned. "
        "Residents can read the full minutes on the council's website from Friday."
    )

    result = score_sentiment(text)

    assert len(text) > 280
    assert result.label == "neutral" and -0.2 < result.score < 0.2


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I must have missed the pick.", "negative"),  # "must have" is not "a must-have"
        ("a must have for every kitchen", "positive"),
        ("Sorry you had a bad day! Love you xx", "positive"),  # "!" emphasis once, like VADER
        ("I forgot it was garbage day, all nice and clean now", "positive"),
        ("this kettle is garbage", "negative"),
        ("Keep shopping. Save your money.", "negative"),
        ("It never worked, I sent it back.", "negative"),
        ("The player doesn't recognize half my discs.", "negative"),
        ("I can't recommend it highly enough!", "positive"),
    ],
)
def test_post_rules_and_review_verdicts(text: str, label: str):
    assert score_sentiment(text).label == label


def test_a_long_review_is_read_sentence_by_sentence():
    review = (
        "I bought this DVD player as a gift for my dad. It looked great out of the box. After two "
        "weeks it stopped recognising discs, and the support line never answered my calls or "
        "emails. The replacement they finally sent does the same. Keep shopping and save your "
        "money, it is a paperweight now."
    )

    result = score_sentiment(review)

    assert len(review) > 280
    assert result.label == "negative"


def test_the_neutral_band_of_long_texts_depends_on_the_voice():
    # the same faint positive tilt: an opinion in a review, description in a report
    sentences = [
        "The new store on the high street opened its doors at nine on Saturday morning.",
        "The staff at the entrance were friendly.",
        "Prices were listed on the shelves next to each product, as the law requires.",
        "The car park behind the building was full by noon.",
        "Deliveries from the warehouse arrived in the afternoon.",
        "The store closed at six, and the opening was a success.",
    ]
    report = " ".join(sentences)
    review = " ".join(["I went on Saturday.", *sentences])

    assert len(report) > 280 and len(review) > 280
    assert 0.1 < score_sentiment(review).score < score_sentiment(report).score < 0.2
    assert score_sentiment(report).label == "neutral"
    assert score_sentiment(review).label == "positive"
