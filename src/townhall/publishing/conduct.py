"""The code of conduct checker: pure and fast (no I/O, no database).

``check(policy, text, context)`` runs every rule of the policy's ``conduct:`` section that
applies to the draft (its channel, owning department and kind) and returns the findings in text
order, each with the rule, its level, what to do instead, what was found and the exact span
(``text[start:end]``, offsets into the Python string).

Everything a rule needs (regular expressions, phrase lists, phone regions) is compiled once per
``Policy`` object and cached; a reloaded policy is a new object and is compiled again. The
network length limit is always on for Mastodon and Bluesky channels (rule ``length``, level
block), because a post that does not fit can never be published; a policy rule with
``check: length`` that applies replaces it (its level, message or ``max_length``).

Toxicity uses the project's model (alt-profanity-check, ``townhall.understand.toxicity``),
evaluated here term by term with the same numbers the model holds: the same score as
``toxicity()`` without scikit-learn's per-call overhead (about 5 ms), and a score for each word,
which finds the span. The format of the rules: docs/conduct.md.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import ahocorasick
import emoji
import phonenumbers
import regex  # type: ignore[import-untyped]
from phonenumbers import Leniency, PhoneNumberMatcher
from stdnum import luhn

from townhall.models.user import Role
from townhall.org.approvals import DraftKind, Right
from townhall.org.conduct import (
    DEFAULT_REGIONS,
    PATTERN_FLAGS,
    PHRASE_FLAGS,
    Check,
    ConductRule,
    Level,
)
from townhall.org.policy import ChannelKind, Policy
from townhall.understand.sentiment import score_sentiment
from townhall.understand.toxicity import MAX_CHARS as TOXICITY_MAX_CHARS
from townhall.understand.toxicity import toxicity


@dataclass(frozen=True)
class Context:
    """Who writes what, where."""

    channel: str
    kind: DraftKind = DraftKind.REPLY
    department: str = ""
    """The department that owns the draft (the item's, or the channel's default owner)."""
    author_department: str = ""
    author_role: str = Role.MEMBER.value
    author_rights: Sequence[Right] = ()
    paid: bool = False
    """Part of a paid campaign or sponsorship (the disclosure rule applies)."""


@dataclass(frozen=True)
class Finding:
    """One rule broken (or to look at) in one place: ``text[start:end]``."""

    rule: str
    level: Level
    message: str
    """What to do instead (the rule's message)."""
    why: str
    """What was found, in words, e.g. "a phone number (+44 20 7946 0958)"."""
    start: int
    end: int

    def as_json(self) -> dict[str, object]:
        """The finding as one JSON object (the keys ``townhall conduct check`` prints)."""
        return {
            "rule": self.rule,
            "level": str(self.level),
            "message": self.message,
            "why": self.why,
            "start": self.start,
            "end": self.end,
        }


def check(policy: Policy, text: str, context: Context) -> list[Finding]:
    """Every finding of the policy's code of conduct on ``text``, in text order."""
    compiled = compiled_conduct(policy)
    department = context.department or policy.default_owner(context.channel)
    draft = _Draft(text)
    found: list[Finding] = []
    ran_length = False
    for rule in compiled.rules:
        if not rule.applies_to(context, department):
            continue
        ran_length |= rule.rule.check is Check.LENGTH
        found += rule.run(draft, context)
    if not ran_length and compiled.network(context.channel) is not None:
        found += compiled.built_in_length.run(draft, context)
    return sorted(set(found), key=lambda f: (f.start, f.end, f.rule, f.why))


def blocks(findings: Sequence[Finding]) -> bool:
    """Whether any finding stops the draft from being submitted."""
    return any(f.level == Level.BLOCK for f in findings)


def needs_approval(findings: Sequence[Finding]) -> bool:
    """Whether a finding sends the draft to its approval chain whoever wrote it."""
    return any(f.level == Level.NEEDS_APPROVAL for f in findings)


# --- how networks count -------------------------------------------------------------------

MASTODON_LIMIT = 500
"""Characters of a Mastodon post (graphemes; a URL counts 23, a remote mention its username)."""
MASTODON_URL_CHARS = 23
BLUESKY_LIMIT = 300
"""Graphemes of a Bluesky post (``app.bsky.feed.post`` ``maxGraphemes``)."""
BLUESKY_MAX_BYTES = 3000
"""UTF-8 bytes of a Bluesky post (``app.bsky.feed.post`` ``maxLength``)."""

_GRAPHEME = regex.compile(r"\X")
# Mastodon's StatusLengthValidator: URLs with a scheme count as 23 characters, and
# `@user@domain` as `@user` (the patterns follow its web composer's `countableText`).
_URL = re.compile(r"https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}…]", re.IGNORECASE)
_MENTION = re.compile(r"(?<![/\w])@([a-z0-9_]+)@[a-z0-9.\-]+[a-z0-9]+", re.IGNORECASE)


def _mastodon_units(text: str) -> list[tuple[int, int, int]]:
    """(start, end, cost) pieces of ``text`` as Mastodon counts it: graphemes cost 1, a URL
    23, the ``@domain`` of a remote mention nothing."""
    entities: list[tuple[int, int, int]] = [
        (m.start(), m.end(), MASTODON_URL_CHARS) for m in _URL.finditer(text)
    ]
    for m in _MENTION.finditer(text):
        if not any(s < m.end() and m.start() < e for s, e, _ in entities):
            entities.append((m.end(1), m.end(), 0))  # "@user" counts, "@domain" does not
    entities.sort()
    units: list[tuple[int, int, int]] = []
    pos = 0
    for start, end, cost in entities:
        units += ((g.start(), g.end(), 1) for g in _GRAPHEME.finditer(text, pos, start))
        units.append((start, end, cost))
        pos = end
    units += ((g.start(), g.end(), 1) for g in _GRAPHEME.finditer(text, pos))
    return units


def _grapheme_units(text: str) -> list[tuple[int, int, int]]:
    return [(g.start(), g.end(), 1) for g in _GRAPHEME.finditer(text)]


def length_of(network: ChannelKind | str | None, text: str) -> int:
    """How long ``text`` is as ``network`` counts it: Mastodon's characters (graphemes, URLs
    23, remote mentions by username), graphemes elsewhere."""
    if network == ChannelKind.MASTODON:
        return sum(cost for _, _, cost in _mastodon_units(text))
    return len(_GRAPHEME.findall(text))


def _overflow(units: Iterable[tuple[int, int, int]], limit: int) -> tuple[int, int] | None:
    """(count, offset of the first unit past ``limit``), or None when the text fits."""
    total, first = 0, -1
    for start, _end, cost in units:
        total += cost
        if total > limit and first < 0:
            first = start
    return (total, first) if first >= 0 else None


# --- the toxicity model, term by term -------------------------------------------------------


class ToxicityModel:
    """alt-profanity-check's model (TF-IDF, then five calibrated linear SVMs) evaluated with
    its own weights: ``score`` equals ``townhall.understand.toxicity.toxicity`` on one text."""

    def __init__(self) -> None:
        """Read the weights from the installed model; ``ready`` is False if they look
        different from what this class knows (then ``score`` calls the model itself)."""
        self.ready = False
        self._terms: dict[str, tuple[float, tuple[float, ...]]] = {}
        self._bias: tuple[float, ...] = ()
        self._calibration: tuple[tuple[float, float], ...] = ()
        self._word_scores: dict[str, float] = {}
        self._token = re.compile(r"(?u)\b\w\w+\b")
        try:
            self._load()
        except (AttributeError, ImportError, IndexError, KeyError, TypeError, ValueError):
            self.ready = False

    def _load(self) -> None:
        from profanity_check import profanity_check as pc

        vectorizer, model = pc.vectorizer, pc.model
        params = vectorizer.get_params()
        expected = {
            "analyzer": "word",
            "lowercase": True,
            "ngram_range": (1, 1),
            "norm": "l2",
            "use_idf": True,
            "sublinear_tf": False,
            "binary": False,
            "strip_accents": None,
            "preprocessor": None,
            "tokenizer": None,
            "token_pattern": r"(?u)\b\w\w+\b",
        }
        if any(params.get(k) != v for k, v in expected.items()) or model.method != "sigmoid":
            return
        classifiers = model.calibrated_classifiers_
        weights = [c.estimator.coef_[0] for c in classifiers]
        self._bias = tuple(float(c.estimator.intercept_[0]) for c in classifiers)
        self._calibration = tuple(
            (float(c.calibrators[0].a_), float(c.calibrators[0].b_)) for c in classifiers
        )
        idf = vectorizer.idf_
        self._terms = {
            term: (float(idf[j]), tuple(float(idf[j] * w[j]) for w in weights))
            for term, j in vectorizer.vocabulary_.items()
        }
        self.ready = True

    def _probability(self, decisions: Iterable[float]) -> float:
        total = 0.0
        for d, (a, b) in zip(decisions, self._calibration, strict=True):
            z = a * d + b
            total += 1.0 / (1.0 + math.exp(z)) if z < 700 else 0.0
        return min(1.0, max(0.0, total / len(self._calibration)))

    def score(self, text: str) -> float:
        """Probability 0..1 that ``text`` is offensive (blank text: 0.0)."""
        if not self.ready:
            return toxicity([text])[0]
        if not text or text.isspace():
            return 0.0
        counts = Counter(self._token.findall(text[:TOXICITY_MAX_CHARS].lower()))
        dots = [0.0] * len(self._bias)
        norm = 0.0
        for term, count in counts.items():
            known = self._terms.get(term)
            if known is None:
                continue
            idf, weighted = known
            norm += (count * idf) ** 2
            for k, w in enumerate(weighted):
                dots[k] += count * w
        scale = 1.0 / math.sqrt(norm) if norm else 0.0
        return self._probability(d * scale + b for d, b in zip(dots, self._bias, strict=True))

    def word_score(self, word: str) -> float:
        """The score of one word on its own (0.0 for a word the model does not know)."""
        folded = word.lower()
        cached = self._word_scores.get(folded)
        if cached is None:
            if not self.ready:
                cached = toxicity([folded])[0]
            elif folded in self._terms:
                idf, weighted = self._terms[folded]
                # One known term: the normalised vector is that term with weight 1.
                cached = self._probability(
                    w / idf + b for w, b in zip(weighted, self._bias, strict=True)
                )
            else:
                cached = 0.0
            self._word_scores[folded] = cached
        return cached

    def words(self, text: str) -> list[tuple[int, int, float]]:
        """(start, end, score) of each word the model knows, in text order."""
        return [
            (m.start(), m.end(), self.word_score(m.group())) for m in self._token.finditer(text)
        ]


_TOXICITY: ToxicityModel | None = None
_TOXICITY_LOCK = threading.Lock()


def toxicity_model() -> ToxicityModel:
    """The toxicity model, loaded once per process."""
    global _TOXICITY
    with _TOXICITY_LOCK:
        if _TOXICITY is None:
            _TOXICITY = ToxicityModel()
        return _TOXICITY


# --- one text, with what several rules compute once -----------------------------------------

_SENTENCE = re.compile(r"[^.!?…\n]+[.!?…]*")
_NOT_DIGIT = re.compile(r"[^0-9]+")
_LETTER = re.compile(r"[^\W\d_]")
_WORDS_OR_SPACE = re.compile(r"\S(?:.*\S)?", re.S)


class _Draft:
    """A text under check, and what several rules need from it (computed once)."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def digits(self) -> int:
        return len(_NOT_DIGIT.sub("", self.text))

    @cached_property
    def toxicity(self) -> float:
        return toxicity_model().score(self.text) if self.has_letters else 0.0

    @cached_property
    def has_letters(self) -> bool:
        return _LETTER.search(self.text) is not None

    @cached_property
    def sentences(self) -> list[tuple[int, int]]:
        out = []
        for m in _SENTENCE.finditer(self.text):
            inner = _WORDS_OR_SPACE.search(m.group())
            if inner:
                out.append((m.start() + inner.start(), m.start() + inner.end()))
        return out

    def sentence_at(self, offset: int) -> tuple[int, int]:
        for start, end in self.sentences:
            if start <= offset < end:
                return start, end
        return self.whole

    @cached_property
    def whole(self) -> tuple[int, int]:
        """The text without surrounding spaces (all of it when it is only spaces)."""
        inner = _WORDS_OR_SPACE.search(self.text)
        return (inner.start(), inner.end()) if inner else (0, len(self.text))

    @cached_property
    def last_line(self) -> tuple[int, int]:
        start, end = self.whole
        cut = self.text.rfind("\n", start, end)
        return (cut + 1 if cut >= 0 else start), end


# --- compiled rules --------------------------------------------------------------------------

Runner = Callable[[_Draft, Context], list[Finding]]


@dataclass
class _CompiledRule:
    rule: ConductRule
    run: Runner
    channels: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()
    kinds: frozenset[DraftKind] = frozenset()

    def applies_to(self, context: Context, department: str) -> bool:
        return (
            context.kind in self.kinds
            and (not self.channels or context.channel in self.channels)
            and (not self.departments or department in self.departments)
        )


@dataclass
class _Compiled:
    policy: Policy
    rules: list[_CompiledRule]
    built_in_length: _CompiledRule
    networks: dict[str, ChannelKind] = field(default_factory=dict)

    def network(self, channel: str) -> ChannelKind | None:
        return self.networks.get(channel)


BUILT_IN_LENGTH = ConductRule(
    id="length",
    level=Level.BLOCK,
    message="Shorten the text: the network does not publish a post this long.",
    check=Check.LENGTH,
)
"""The length rule every Mastodon and Bluesky channel has, unless a policy rule replaces it."""

_CACHE: dict[int, _Compiled] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def compiled_conduct(policy: Policy) -> _Compiled:
    """The policy's rules, compiled once per policy object (the cache keeps the policy alive,
    so its id is never reused while it is cached)."""
    with _CACHE_LOCK:
        found = _CACHE.get(id(policy))
        if found is not None and found.policy is policy:
            return found
    compiled = _compile(policy)
    with _CACHE_LOCK:
        while len(_CACHE) >= _CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
        _CACHE[id(policy)] = compiled
    return compiled


def _compile(policy: Policy) -> _Compiled:
    networks: dict[str, ChannelKind] = {
        c.id: c.kind
        for c in policy.channels
        if c.kind in (ChannelKind.MASTODON, ChannelKind.BLUESKY)
    }
    rules = [_compile_rule(rule, policy, networks) for rule in policy.conduct]
    return _Compiled(
        policy=policy,
        rules=rules,
        built_in_length=_compile_rule(BUILT_IN_LENGTH, policy, networks),
        networks=networks,
    )


def _compile_rule(
    rule: ConductRule, policy: Policy, networks: dict[str, ChannelKind]
) -> _CompiledRule:
    builder = _BUILDERS[rule.check]
    return _CompiledRule(
        rule=rule,
        run=builder(rule, policy, networks),
        channels=frozenset(rule.applies.channels),
        departments=frozenset(rule.applies.departments),
        kinds=frozenset(rule.kinds),
    )


def _finding(rule: ConductRule, why: str, start: int, end: int, message: str = "") -> Finding:
    return Finding(rule.id, rule.level, message or rule.message, why, start, end)


def _quote(text: str, limit: int = 80) -> str:
    shown = " ".join(text.split())
    return f"“{shown[: limit - 1]}…”" if len(shown) > limit else f"“{shown}”"


_APOSTROPHE = "['’]"
_FOLDED: tuple[str, str] = ("", "")
"""The last text folded for the phrase prefilter, and its folding (one entry: every phrase
rule of one draft asks for the same text)."""


def _folded(text: str) -> str:
    """``text`` case-folded with straight apostrophes, for the phrase prefilter."""
    global _FOLDED
    last = _FOLDED
    if last[0] is text:
        return last[1]
    folded = text.casefold().replace("’", "'")
    _FOLDED = (text, folded)
    return folded


class PhraseSet:
    """Words or phrases matched whole-word and case-insensitively (spaces match any run of
    spaces, either apostrophe matches both), with the ``finditer`` and ``search`` of a
    compiled pattern.

    A text that does not contain the longest word of any phrase (case-folded) cannot match,
    and one Aho-Corasick pass says so: most drafts skip the regular expression altogether.
    """

    def __init__(self, phrases: Iterable[str]) -> None:
        """Compile the phrases (blank ones are ignored)."""
        unique = sorted({" ".join(p.split()) for p in phrases if p.strip()}, key=len, reverse=True)
        parts = [
            r"\s+".join(
                "".join(_APOSTROPHE if c in "'’" else regex.escape(c) for c in word)
                for word in phrase.split()
            )
            for phrase in unique
        ]
        self.pattern = regex.compile(rf"(?<!\w)(?:{'|'.join(parts) or '(?!)'})(?!\w)", PHRASE_FLAGS)
        self._keys = ahocorasick.Automaton()
        for phrase in unique:
            key = max(phrase.split(), key=len).casefold().replace("’", "'")
            self._keys.add_word(key, key)
        self._empty = not unique
        if not self._empty:
            self._keys.make_automaton()

    def _may_match(self, text: str) -> bool:
        if self._empty:
            return False
        for _ in self._keys.iter(_folded(text)):
            return True
        return False

    def finditer(self, text: str) -> Iterator[Any]:
        """The matches in ``text``, in order."""
        return self.pattern.finditer(text) if self._may_match(text) else iter(())

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> Any:
        """The first match in ``text[pos:endpos]``, or None."""
        if not self._may_match(text):
            return None
        return self.pattern.search(text, pos, len(text) if endpos is None else endpos)


def _phrases(phrases: Iterable[str]) -> PhraseSet:
    return PhraseSet(phrases)


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Non-empty spans in text order, overlapping ones joined ("we'll refund" + "refund you")."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def _matches(patterns: Iterable[Any], text: str) -> list[tuple[int, int]]:
    """The merged spans of every match of ``patterns`` in ``text``."""
    return _merged(m.span() for pattern in patterns for m in pattern.finditer(text))


def _patterns(patterns: Iterable[str]) -> list[Any]:
    return [regex.compile(p, PATTERN_FLAGS) for p in patterns]


# --- personal data ----------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+@-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
# Digit groups joined by single spaces, dots, dashes or brackets: what a phone number looks like.
_PHONE_CANDIDATE = re.compile(r"\+?\(?[0-9][0-9().\-]*(?: \(?[0-9][0-9().\-]*)*")
_CARD = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
_MIN_PHONE_DIGITS = 7


def _email_addresses(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
    allowed = {a.casefold().lstrip("@") for a in rule.allow}

    def run(draft: _Draft, context: Context) -> list[Finding]:
        if "@" not in draft.text:
            return []
        out = []
        for m in _EMAIL.finditer(draft.text):
            address = m.group()
            domain = address.rsplit("@", 1)[1].casefold()
            if address.casefold() in allowed or domain in allowed:
                continue
            out.append(_finding(rule, f"an e-mail address: {address}", m.start(), m.end()))
        return out

    return run


def _card_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, digits) of each run of 13 to 19 digits that passes the Luhn check."""
    out = []
    for m in _CARD.finditer(text):
        digits = _NOT_DIGIT.sub("", m.group())
        end = m.end()
        # A card number followed by another group of digits ("… 4242 123"): drop the extra.
        while len(digits) >= 13 and not luhn.is_valid(digits):
            cut = max(
                m.group().rfind(" ", 0, end - m.start()), m.group().rfind("-", 0, end - m.start())
            )
            if cut <= 0:
                break
            end = m.start() + cut
            digits = _NOT_DIGIT.sub("", text[m.start() : end])
        if len(digits) >= 13 and luhn.is_valid(digits):
            out.append((m.start(), end, digits))
    return out


def _card_numbers(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
    def run(draft: _Draft, context: Context) -> list[Finding]:
        if draft.digits < 13:
            return []
        return [
            _finding(rule, f"a payment card number (ending {digits[-4:]})", start, end)
            for start, end, digits in _card_spans(draft.text)
        ]

    return run


def _valid_in(candidate: str, region: str) -> bool:
    """Whether ``candidate`` parses as a valid phone number read in ``region``."""
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(candidate, region)))
    except phonenumbers.NumberParseException:
        return False


def _phone_numbers(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
    regions = tuple(rule.regions) or DEFAULT_REGIONS
    allowed: set[str] = set()
    for value in rule.allow:
        for region in (None, *regions):
            try:
                number = phonenumbers.parse(value, region)
            except phonenumbers.NumberParseException:
                continue
            allowed.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
            break

    def run(draft: _Draft, context: Context) -> list[Finding]:
        if draft.digits < _MIN_PHONE_DIGITS:
            return []
        text = draft.text
        cards = [(s, e) for s, e, _ in _card_spans(text)] if draft.digits >= 13 else []
        candidates = [
            (m.start(), m.end())
            for m in _PHONE_CANDIDATE.finditer(text)
            if len(_NOT_DIGIT.sub("", m.group())) >= _MIN_PHONE_DIGITS
            and not any(s < m.end() and m.start() < e for s, e in cards)
        ]
        if not candidates:
            return []
        # Which regions read a candidate as a valid number: one parse each, far cheaper than a
        # matcher pass over the text; the matcher then runs only in the regions that need it.
        needed: list[str] = []
        for start, end in candidates:
            for region in regions:
                if _valid_in(text[start:end], region):
                    if region not in needed:
                        needed.append(region)
                    break
        found: list[tuple[int, int, str]] = []
        for region in sorted(needed, key=regions.index):
            for match in PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
                if any(s < match.end and match.start < e for s, e, _ in found):
                    continue
                if any(s < match.end and match.start < e for s, e in cards):
                    continue
                e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
                found.append((match.start, match.end, e164))
        return [
            _finding(rule, f"a phone number: {text[start:end]}", start, end)
            for start, end, e164 in found
            if e164 not in allowed
        ]

    return run


def _personal_patterns(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
    compiled = _patterns(rule.patterns)
    what = rule.what or "personal data"

    def run(draft: _Draft, context: Context) -> list[Finding]:
        return [
            _finding(rule, f"{what}: {_quote(draft.text[s:e])}", s, e)
            for s, e in _matches(compiled, draft.text)
        ]

    return run


# --- words and claims -------------------------------------------------------------------------


def _toxicity(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
    threshold = rule.threshold if rule.threshold is not None else 1.0

    def run(draft: _Draft, context: Context) -> list[Finding]:
        score = draft.toxicity
        if score < threshold:
            return []
        model = toxicity_model()
        spans = _merged((s, e) for s, e, p in model.words(draft.text) if p >= threshold)
        if not spans:
            spans = [
                (s, e) for s, e in draft.sentences if model.score(draft.text[s:e]) >= threshold
            ]
        if not spans:
            spans = [draft.whole]
        return [
            _finding(
                rule, f"offensive language (toxicity {score:.2f}): {_quote(draft.text[s:e])}", s, e
            )
            for s, e in spans
            if e > s
        ]

    return run


def _word_list(what: str, words: Callable[[ConductRule], list[str]]) -> Callable[..., Runner]:
    def build(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
        pattern = _phrases(words(rule))

        def run(draft: _Draft, context: Context) -> list[Finding]:
            return [
                _finding(rule, f"{what}: {_quote(draft.text[s:e])}", s, e)
                for s, e in _matches([pattern], draft.text)
            ]

        return run

    return build


def _may_claim(rule: ConductRule, context: Context) -> bool:
    if context.author_role in rule.allowed_roles:
        return True
    if context.author_department and context.author_department in rule.allowed_departments:
        return True
    return any(
        (not a.departments or context.author_department in a.departments)
        and (not a.roles or context.author_role in a.roles)
        for a in rule.allowed
    )


def _claims(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
    compiled = ([_phrases(rule.phrases)] if rule.phrases else []) + _patterns(rule.patterns)
    what = rule.what or "a claim only some people may make"

    def run(draft: _Draft, context: Context) -> list[Finding]:
        if _may_claim(rule, context):
            return []
        return [
            _finding(rule, f"{what}: {_quote(draft.text[s:e])}", s, e)
            for s, e in _matches(compiled, draft.text)
        ]

    return run


def _competitor_disparagement(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
    names = {name: c.name for c in policy.brand.competitors for name in (c.name, *c.aliases)}
    pattern = _phrases(names) if names else None
    folded = {" ".join(k.split()).casefold(): v for k, v in names.items()}
    negative = _phrases(rule.phrases) if rule.phrases else None

    def run(draft: _Draft, context: Context) -> list[Finding]:
        if pattern is None:
            return []
        out = []
        scores: dict[tuple[int, int], float] = {}
        for m in pattern.finditer(draft.text):
            sentence = draft.sentence_at(m.start())
            if sentence not in scores:
                scores[sentence] = score_sentiment(draft.text[slice(*sentence)]).score
            score = scores[sentence]
            word = negative.search(draft.text, *sentence) if negative else None
            if score > rule.max_sentiment and word is None:
                continue
            name = folded.get(" ".join(m.group().split()).casefold(), m.group())
            if score <= rule.max_sentiment:
                why = f"{name} named in a negative sentence (sentiment {score:+.2f})"
            else:
                why = f"{name} named next to {_quote(word.group() if word else '')}"
            out.append(_finding(rule, why, m.start(), m.end()))
        return out

    return run


# --- brand voice -------------------------------------------------------------------------------

_EXCLAMATION = re.compile(r"[!！‼]")
_UPPER = regex.compile(r"\p{Lu}")
_LOWER = regex.compile(r"\p{Ll}")


def _exclamations(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
    limit = rule.max_exclamations or 0

    def run(draft: _Draft, context: Context) -> list[Finding]:
        if "!" not in draft.text and draft.text.isascii():
            return []
        marks = [m.start() for m in _EXCLAMATION.finditer(draft.text)]
        if len(marks) <= limit:
            return []
        why = f"{len(marks)} exclamation marks (at most {limit})"
        return [_finding(rule, why, marks[limit], marks[-1] + 1)]

    return run


def _capitals(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
    share_limit = rule.max_capitals_share if rule.max_capitals_share is not None else 1.0

    def run(draft: _Draft, context: Context) -> list[Finding]:
        upper = len(_UPPER.findall(draft.text))
        if upper == 0:
            return []
        letters = upper + len(_LOWER.findall(draft.text))
        if letters < rule.min_letters or upper / letters <= share_limit:
            return []
        why = f"{upper / letters:.0%} of the letters are capitals (at most {share_limit:.0%})"
        return [_finding(rule, why, *draft.whole)]

    return run


def _emoji(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
    limit = rule.max_emoji or 0

    def run(draft: _Draft, context: Context) -> list[Finding]:
        if draft.text.isascii():
            return []
        found = emoji.emoji_list(draft.text)
        if len(found) <= limit:
            return []
        why = f"{len(found)} emoji (at most {limit})"
        return [_finding(rule, why, found[limit]["match_start"], found[-1]["match_end"])]

    return run


def _preferred_words(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
    prefer = {" ".join(k.split()).casefold(): v for k, v in rule.prefer.items()}
    pattern = _phrases(rule.prefer)

    def run(draft: _Draft, context: Context) -> list[Finding]:
        out = []
        for m in pattern.finditer(draft.text):
            found = " ".join(m.group().replace("’", "'").split())
            better = prefer.get(found.casefold(), "")
            if "{prefer}" in rule.message or "{avoid}" in rule.message:
                message = rule.message.replace("{prefer}", better).replace("{avoid}", found)
            else:
                message = f"{rule.message} Write “{better}” instead of “{found}”."
            out.append(_finding(rule, f"“{found}” (say “{better}”)", m.start(), m.end(), message))
        return out

    return run


def _sign_off(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
    pattern = regex.compile(rf"(?:{rule.sign_off})\s*\Z", PATTERN_FLAGS)

    def run(draft: _Draft, context: Context) -> list[Finding]:
        start, end = draft.last_line
        if end <= start or pattern.search(draft.text, max(start, end - 200)):
            return []
        return [_finding(rule, "the text does not end with the sign-off", start, end)]

    return run


# --- length and disclosure --------------------------------------------------------------------


def _length(rule: ConductRule, policy: Policy, networks: dict[str, ChannelKind]) -> Runner:
    def run(draft: _Draft, context: Context) -> list[Finding]:
        network = networks.get(context.channel)
        text = draft.text
        if network is ChannelKind.MASTODON:
            limit = rule.max_length or MASTODON_LIMIT
            if len(text) + MASTODON_URL_CHARS * text.count("://") <= limit:
                return []
            over = _overflow(_mastodon_units(text), limit)
            unit = "characters as Mastodon counts them (a link counts 23)"
        elif network is ChannelKind.BLUESKY:
            limit = rule.max_length or BLUESKY_LIMIT
            out = []
            if len(text) > limit:
                over = _overflow(_grapheme_units(text), limit)
                if over:
                    why = f"{over[0]} graphemes (Bluesky publishes at most {limit})"
                    out.append(_finding(rule, why, over[1], len(text)))
            if len(text) * 4 > BLUESKY_MAX_BYTES:
                size = len(text.encode("utf-8", "surrogatepass"))
                if size > BLUESKY_MAX_BYTES:
                    bytes_ = (
                        (i, i + 1, len(c.encode("utf-8", "surrogatepass")))
                        for i, c in enumerate(text)
                    )
                    first = _overflow(bytes_, BLUESKY_MAX_BYTES)
                    if first:
                        why = (
                            f"{size} bytes of UTF-8 (Bluesky publishes at most {BLUESKY_MAX_BYTES})"
                        )
                        out.append(_finding(rule, why, first[1], len(text)))
            return out
        elif rule.max_length is not None:
            limit = rule.max_length
            if len(text) <= limit:
                return []
            over = _overflow(_grapheme_units(text), limit)
            unit = "characters"
        else:
            return []
        if over is None:
            return []
        return [_finding(rule, f"{over[0]} {unit}; at most {limit}", over[1], len(text))]

    return run


def _disclosure(rule: ConductRule, policy: Policy, networks: Any) -> Runner:
    pattern = _phrases(rule.disclosures)
    names = ", ".join(rule.disclosures)

    def run(draft: _Draft, context: Context) -> list[Finding]:
        if not context.paid or pattern.search(draft.text):
            return []
        start, end = draft.last_line
        if end <= start:
            return []
        return [
            _finding(rule, f"a paid post without a disclosure (add one of: {names})", start, end)
        ]

    return run


_BUILDERS: dict[Check, Callable[[ConductRule, Policy, dict[str, ChannelKind]], Runner]] = {
    Check.EMAIL_ADDRESSES: _email_addresses,
    Check.PHONE_NUMBERS: _phone_numbers,
    Check.CARD_NUMBERS: _card_numbers,
    Check.PERSONAL_PATTERNS: _personal_patterns,
    Check.TOXICITY: _toxicity,
    Check.BANNED_WORDS: _word_list("a banned word", lambda r: r.words),
    Check.CLAIMS: _claims,
    Check.CONFIDENTIAL_TERMS: _word_list("a confidential term", lambda r: r.terms),
    Check.COMPETITOR_DISPARAGEMENT: _competitor_disparagement,
    Check.EXCLAMATIONS: _exclamations,
    Check.CAPITALS: _capitals,
    Check.EMOJI: _emoji,
    Check.PREFERRED_WORDS: _preferred_words,
    Check.SIGN_OFF: _sign_off,
    Check.LENGTH: _length,
    Check.DISCLOSURE: _disclosure,
}
