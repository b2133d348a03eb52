"""The password policy: long enough, not a known leaked password, not the person's own name,
and hard to guess by zxcvbn's estimate.

The leaked-password list is the one zxcvbn ships (``FREQUENCY_LISTS["passwords"]``: the 30,000
most common passwords of public breaches), so the check works offline.
"""

from __future__ import annotations

import re
from functools import cache

from pydantic import TypeAdapter, ValidationError

from townhall.errors import InputError
from townhall.org.fields import Email

MIN_LENGTH = 12
"""Fewest characters a password may have."""

MAX_LENGTH = 1024
"""Most characters a password may have (the login form accepts no more)."""

MIN_SCORE = 3
"""Lowest zxcvbn score (0-4) accepted: 3 is "safely unguessable" for an online attack."""

ZXCVBN_CHARS = 72
"""zxcvbn looks at this many leading characters (it refuses longer input: its run time grows
fast with length)."""

NAME_PART_CHARS = 4
"""Parts of a name or e-mail shorter than this are not refused on their own ("Dan" would
refuse "abundance"); zxcvbn still counts them against the score."""

_EMAIL = TypeAdapter(Email)
_NOT_LETTERS = re.compile(r"[^a-z]+")
_SEPARATORS = re.compile(r"[\W_]+")


class WeakPasswordError(InputError):
    """A new password breaks the password policy; ``problems`` says how to fix it (422)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


class LoginNameError(InputError):
    """A login name that is not an e-mail address (422)."""


@cache
def _leaked() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def login_name(email: str) -> str:
    """``email`` normalised (trimmed, lower case); raises ``LoginNameError`` unless it is an
    e-mail address."""
    normalised = email.strip().lower()
    try:
        return _EMAIL.validate_python(normalised)
    except ValidationError:
        raise LoginNameError(
            f"A login must be an e-mail address such as name@company.example, not {email!r}."
        ) from None


def _personal_words(email: str, name: str) -> list[str]:
    """The e-mail's local part and the name, whole and in parts (lower case)."""
    local = email.strip().lower().partition("@")[0]
    words = [local, _SEPARATORS.sub("", local), _SEPARATORS.sub("", name.lower())]
    words += _SEPARATORS.split(local) + _SEPARATORS.split(name.lower())
    return [w for w in dict.fromkeys(words) if w]


def is_leaked(password: str) -> bool:
    """Whether ``password`` is on the leaked list, or is a listed word with only digits and
    symbols added ("password123!")."""
    folded = password.lower()
    letters = _NOT_LETTERS.sub("", folded)
    return folded in _leaked() or (bool(letters) and letters in _leaked())


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """What is wrong with ``password`` as the new password of ``email`` / ``name``, each as a
    sentence saying what to do; empty when it is good."""
    if len(password) < MIN_LENGTH:
        return [
            f"Use at least {MIN_LENGTH} characters (this one has {len(password)}): "
            "a few unrelated words make a password that is long and easy to remember."
        ]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    if is_leaked(password):
        return [
            "This password is on a list of passwords leaked from other sites, which attackers "
            "try first: choose a different one (adding digits or symbols to it is not enough)."
        ]
    problems = []
    compact = _SEPARATORS.sub("", password.lower())
    personal = _personal_words(email, name)
    for word in personal:
        if len(word) >= NAME_PART_CHARS and (word in password.lower() or word in compact):
            problems.append("Leave your name and your e-mail address out of the password.")
            break
    from zxcvbn import zxcvbn  # type: ignore[import-untyped]

    estimate = zxcvbn(password[:ZXCVBN_CHARS], user_inputs=personal)
    if int(estimate["score"]) < MIN_SCORE:
        feedback = estimate["feedback"]
        hints = [str(feedback.get("warning") or "")] + [str(s) for s in feedback["suggestions"]]
        advice = " ".join(h.rstrip(".") + "." for h in hints if h)
        problems.append(
            "This password is too easy to guess. "
            + (advice or "Add another word or two; uncommon words are better.")
        )
    return problems


def check_password(password: str, *, email: str = "", name: str = "") -> None:
    """Raise ``WeakPasswordError`` unless ``password`` meets the policy."""
    problems = password_problems(password, email=email, name=name)
    if problems:
        raise WeakPasswordError(problems)
