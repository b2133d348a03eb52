"""The ``conduct:`` section of the policy: the code of conduct, a list of rules.

Each rule has an id, a level (``block``, ``needs_approval`` or ``warn``), a message saying what
to do instead, the ``check`` it runs with that check's own parameters, and where it applies
(channels, departments, kinds of post). ``townhall.publishing.conduct`` runs the checks; the
format is described in docs/conduct.md.

Regular expressions (``patterns``, ``sign_off``) are compiled here, when the policy is loaded, so
a bad one is reported with its file, line and field instead of failing on the first draft.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum
from typing import Annotated, Any

import phonenumbers
import regex  # type: ignore[import-untyped]
from pydantic import AfterValidator, Field, field_validator, model_validator

from townhall.models.user import Role
from townhall.org.approvals import DraftKind
from townhall.org.fields import Id, Loc, PolicyModel, items_of, strings_of

PATTERN_FLAGS = regex.UNICODE | regex.VERSION0
"""How the policy's regular expressions are compiled: case-sensitive and Unicode-aware, as
regular expressions usually are (start one with ``(?i)`` to ignore case)."""

PHRASE_FLAGS = PATTERN_FLAGS | regex.IGNORECASE
"""How words and phrases match: whole words, ignoring case."""

DEFAULT_REGIONS: tuple[str, ...] = (
    "GB",
    "US",
    "DE",
    "FR",
    "IE",
    "ES",
    "IT",
    "NL",
    "AU",
    "CA",
    "IN",
)
"""Where national phone numbers (without ``+``) are read from when a rule names no ``regions``;
numbers written with ``+`` and a country code are found whatever the regions."""

PUBLIC_KINDS: tuple[DraftKind, ...] = (DraftKind.REPLY, DraftKind.POST, DraftKind.TAKEOVER)
"""The kinds of post the public sees."""


class Level(StrEnum):
    """What a finding does to a draft."""

    BLOCK = "block"  # it cannot be submitted
    NEEDS_APPROVAL = (
        "needs_approval"  # it goes to its approval chain even if its author could publish
    )
    WARN = "warn"  # shown and recorded


class Check(StrEnum):
    """What a rule looks for (each check has its own parameters, see ``CHECK_FIELDS``)."""

    EMAIL_ADDRESSES = "email_addresses"
    PHONE_NUMBERS = "phone_numbers"
    CARD_NUMBERS = "card_numbers"
    PERSONAL_PATTERNS = "personal_patterns"
    """Other personal data the policy describes by patterns: order numbers, postal addresses."""
    TOXICITY = "toxicity"
    BANNED_WORDS = "banned_words"
    CLAIMS = "claims"
    """Things only some people may say: liability, refunds, safety and medical claims."""
    CONFIDENTIAL_TERMS = "confidential_terms"
    COMPETITOR_DISPARAGEMENT = "competitor_disparagement"
    EXCLAMATIONS = "exclamations"
    CAPITALS = "capitals"
    EMOJI = "emoji"
    PREFERRED_WORDS = "preferred_words"
    SIGN_OFF = "sign_off"
    LENGTH = "length"
    DISCLOSURE = "disclosure"


PERSONAL_DATA: frozenset[Check] = frozenset(
    {Check.EMAIL_ADDRESSES, Check.PHONE_NUMBERS, Check.PERSONAL_PATTERNS}
)
"""Checks for personal data in *public* text: without ``applies.kinds`` they apply to the
public kinds only (a private message may carry an order number). Card numbers are never
written anywhere, so ``card_numbers`` applies to every kind by default."""

# Which check-specific fields each check takes: (required, optional). "patterns|phrases" means
# at least one of the two.
CHECK_FIELDS: dict[Check, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Check.EMAIL_ADDRESSES: ((), ("allow",)),
    Check.PHONE_NUMBERS: ((), ("regions", "allow")),
    Check.CARD_NUMBERS: ((), ()),
    Check.PERSONAL_PATTERNS: (("patterns",), ("what",)),
    Check.TOXICITY: (("threshold",), ()),
    Check.BANNED_WORDS: (("words",), ()),
    Check.CLAIMS: (
        ("phrases|patterns",),
        ("what", "allowed", "allowed_roles", "allowed_departments"),
    ),
    Check.CONFIDENTIAL_TERMS: (("terms",), ()),
    Check.COMPETITOR_DISPARAGEMENT: ((), ("max_sentiment", "phrases")),
    Check.EXCLAMATIONS: (("max_exclamations",), ()),
    Check.CAPITALS: (("max_capitals_share",), ("min_letters",)),
    Check.EMOJI: (("max_emoji",), ()),
    Check.PREFERRED_WORDS: (("prefer",), ()),
    Check.SIGN_OFF: (("sign_off",), ()),
    Check.LENGTH: ((), ("max_length",)),
    Check.DISCLOSURE: (("disclosures",), ()),
}

_REQUIRED_FIELDS = frozenset({"id", "level", "message", "check"})
_BASE_FIELDS = _REQUIRED_FIELDS | {"applies"}


def _compiles(pattern: str) -> str:
    try:
        regex.compile(pattern, PATTERN_FLAGS)
    except regex.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    if regex.compile(pattern, PATTERN_FLAGS).match(""):
        raise ValueError(f"pattern {pattern!r} matches empty text (it would match everywhere)")
    return pattern


def _words(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _region(value: str) -> str:
    code = value.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {value!r} (expected a country code such as GB or US)")
    return code


Pattern = Annotated[str, AfterValidator(_compiles)]
"""A regular expression (the ``regex`` module's syntax), checked when the policy loads."""
Phrase = Annotated[str, AfterValidator(_words)]
"""Words or a phrase matched whole-word and case-insensitively."""
Region = Annotated[str, AfterValidator(_region)]


class Applies(PolicyModel):
    """Where a rule applies; an empty list means everywhere."""

    channels: list[str] = []
    departments: list[str] = []
    """The department that owns the draft."""
    kinds: list[DraftKind] = []


class Allowed(PolicyModel):
    """Authors who may make a claim: from one of ``departments`` and with one of ``roles``
    (a list left out matches anyone)."""

    departments: list[str] = []
    roles: list[Role] = []

    @model_validator(mode="after")
    def _names_someone(self) -> Allowed:
        if not self.departments and not self.roles:
            raise ValueError("name departments, roles or both")
        return self


class ConductRule(PolicyModel):
    """One rule of the code of conduct: what it checks, with which parameters, where."""

    id: Id
    level: Level
    message: str = Field(min_length=1)
    check: Check
    applies: Applies = Applies()

    # personal data
    allow: list[str] = []
    """Values never reported: e-mail addresses or ``@domain``s, phone numbers (any format)."""
    regions: list[Region] = []
    """Where national phone numbers are read from (default ``DEFAULT_REGIONS``)."""
    patterns: list[Pattern] = []
    what: str = ""
    """What a pattern finds, in words ("an order number"): the finding's why."""
    # words and claims
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Toxicity 0..1 from which a text is reported."""
    words: list[Phrase] = []
    phrases: list[Phrase] = []
    allowed: list[Allowed] = []
    allowed_roles: list[Role] = []
    allowed_departments: list[str] = []
    terms: list[Phrase] = []
    max_sentiment: float = Field(default=-0.25, ge=-1.0, le=1.0)
    """A sentence naming a competitor with a sentiment score at or below this disparages it."""
    # brand voice
    max_exclamations: int | None = Field(default=None, ge=0)
    max_capitals_share: float | None = Field(default=None, ge=0.0, le=1.0)
    min_letters: int = Field(default=20, ge=1)
    """Texts with fewer letters are too short for the capitals share to mean anything."""
    max_emoji: int | None = Field(default=None, ge=0)
    prefer: dict[Phrase, Phrase] = {}
    """Words to avoid, each with the word to use instead."""
    sign_off: Pattern | None = None
    """A regular expression the end of the text must match (e.g. ``\\^[A-Z][a-z]+`` for "^Bob")."""
    # length and disclosure
    max_length: int | None = Field(default=None, ge=1)
    """The limit, counted as the channel's network counts; the only limit on other channels."""
    disclosures: list[Phrase] = []

    @field_validator("prefer")
    @classmethod
    def _no_blank_keys(cls, value: dict[str, str]) -> dict[str, str]:
        folded = [k.casefold() for k in value]
        if len(set(folded)) < len(folded):
            raise ValueError("a word to avoid is listed twice (words compare case-insensitively)")
        return value

    @model_validator(mode="after")
    def _fields_of_its_check(self) -> ConductRule:
        required, optional = CHECK_FIELDS[self.check]
        own = {name for spec in (*required, *optional) for name in spec.split("|")}
        # A field counts as given when it differs from its default: a dumped policy (every
        # field present, the others at their defaults) validates again as it was.
        fields = type(self).model_fields
        given = {
            name
            for name in self.model_fields_set
            if getattr(self, name) != fields[name].get_default(call_default_factory=True)
        }
        stray = sorted(given - _BASE_FIELDS - own)
        if stray:
            valid = ", ".join(sorted(own)) or "none"
            raise ValueError(
                f"{', '.join(stray)}: not a parameter of check {self.check.value!r} "
                f"(its parameters: {valid})"
            )
        for spec in required:
            names = spec.split("|")
            if not any(name in self.model_fields_set and getattr(self, name) for name in names):
                raise ValueError(
                    f"check {self.check.value!r} needs {' or '.join(names)} (not empty)"
                )
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Only the fields the rule sets: a policy's repr stays readable (and small).
        for name, value in super().__repr_args__():
            if name in _REQUIRED_FIELDS or name in self.model_fields_set:
                yield name, value

    @property
    def kinds(self) -> tuple[DraftKind, ...]:
        """The kinds of post this rule applies to (personal data: public kinds by default)."""
        if self.applies.kinds:
            return tuple(self.applies.kinds)
        if self.check in PERSONAL_DATA:
            return PUBLIC_KINDS
        return tuple(DraftKind)


def conduct_problems(
    data: Mapping[str, Any], check_ref: Callable[[Loc, Any], None], channels: set[str]
) -> list[tuple[Loc, str]]:
    """Cross-field problems of the ``conduct:`` section: repeated rule ids, unknown channels
    and departments (through ``check_ref``)."""
    problems: list[tuple[Loc, str]] = []
    seen: dict[str, int] = {}
    for i, rule in items_of(data, "conduct"):
        loc: Loc = ("conduct", i)
        rule_id = rule.get("id")
        if isinstance(rule_id, str):
            if rule_id in seen:
                problems.append(
                    (
                        (*loc, "id"),
                        f"rule {rule_id!r} is listed twice (first at conduct[{seen[rule_id]}])",
                    )
                )
            else:
                seen[rule_id] = i
        applies = rule.get("applies")
        if isinstance(applies, Mapping):
            for j, channel in strings_of(applies.get("channels")):
                if channel not in channels:
                    valid = ", ".join(sorted(channels))
                    problems.append(
                        (
                            (*loc, "applies", "channels", j),
                            f"unknown channel {channel!r} (valid: {valid})",
                        )
                    )
            for j, dept in strings_of(applies.get("departments")):
                check_ref((*loc, "applies", "departments", j), dept)
        for j, dept in strings_of(rule.get("allowed_departments")):
            check_ref((*loc, "allowed_departments", j), dept)
        for j, allowed in items_of(rule, "allowed"):
            for k, dept in strings_of(allowed.get("departments")):
                check_ref((*loc, "allowed", j, "departments", k), dept)
    return problems
