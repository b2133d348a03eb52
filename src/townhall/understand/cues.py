"""Surface cues that hold across domains: spam signals and requests for help.

The intent model learns the wording of the brands it was trained on; on posts from elsewhere it
misses spam that looks like an SMS scam and help requests that mention no product. These cues
are written from what spam and help requests look like in general (not read off a test set), in
the seven languages Townhall labels, and are combined with the model in ``intent.py``. Every
pattern is compiled once; a text is scanned a handful of times (a few µs per post).
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def _vocabulary(words: str) -> frozenset[str]:
    """The space-separated words of ``words`` as a set."""
    return frozenset(words.split())


MAX_CHARS = 2_000
"""Characters of a text the cues read (as the model)."""


# --- spam -------------------------------------------------------------------------------------

_GATED_SPAM: tuple[tuple[frozenset[str], re.Pattern[str]], ...] = tuple(
    (frozenset(words.split()), re.compile(pattern))
    for words, pattern in (
        ("txt text sms reply send", r"\b(?:txt|text|sms|reply|send)\s+[a-z0-9]{2,}\s+"
         r"(?:to|al|au|an|naar|para|a)\s+\d{4,}"),  # txt WIN to 87121
        ("call ring phone", r"\b(?:call|ring|phone)\s*(?:now\s*)?(?:on\s*)?\+?0?\d[\d ]{8,}"),
        ("claim collect redeem", r"\b(?:claim|collect|redeem)\s+(?:your|ur|a|the|now)\b"),
        ("won selected chosen", r"\b(?:you(?:'ve| have)?|u\s+have)\s+(?:been\s+)?"
         r"(?:won|selected|chosen)\b(?!['’])"),
        ("cash prize award", r"\b(?:cash|prize|award)\s+(?:of|worth|guaranteed)"),
        ("congratulations congratulation", r"congratulations?\b.{0,40}\b(?:won|win|winner|"
         r"selected|prize)"),
        ("gefeliciteerd felicidades félicitations glückwunsch parabéns congratulazioni", r"."),
        ("bio perfil profil", r"\b(?:link|lien|enlace)\s+(?:in|en|na|nella|im)\s+"
         r"(?:bio|perfil|profil)"),
        ("follow f4f l4l sigo sígueme", r"\bfollow\s*(?:back|for\s+follow|4\s*follow)|f4f|l4l|"
         r"sigo\s+a\s+todos|sígueme\s+y\s+te\s+sigo"),
        ("followers likes subscribers views seguidores abonnés follower",
         r"\b(?:buy|get|gain|real)\s+(?:\d+k?\s+)?(?:followers|likes|subscribers|views)|"
         r"\b(?:seguidores|abonnés|follower)\s+(?:reales|reais|réels|echte)|"
         r"\d+\s*k?\s+(?:followers|seguidores|abonnés)\b"),
        ("passive home money earn", r"passive\s+income|work\s+from\s+home|"
         r"make\s+money\s+(?:fast|online|from)|earn\s+(?:\$|€|£)"),
        ("crypto bitcoin btc forex nft", r"\b(?:crypto|bitcoin|btc|forex|nft)\s+(?:signals?|"
         r"invest\w*|profits?|trading|giveaway)"),
        ("invest deposit", r"\b(?:invest|deposit)\s+(?:\$|€|£)?\s*\d+.{0,30}"
         r"(?:get|earn|receive|return)"),
        ("t cs t&c t&cs t&c's std opt stop 18 over18 over18's",
         r"\bt\s*&\s*cs?\b|std\s+txt\s+rate|18\+\s*only|\bover\s*18'?s\b|\bopt\s*out|stop\s+to\s+\d+|reply\s+stop"),
        ("scam", r"not\s+a\s+scam"),
        ("100", r"100\s*%\s+(?:free|guaranteed|real|legit)"),
        ("msg sms txt text min week wk", r"\d+\s*p\s*(?:/|per\s+)\s*(?:msg|sms|txt|text|min|"
         r"week|wk)"),
        ("prem premium", r"\bprem(?:ium)?\s+rate"),
    )
)  # fmt: skip
"""Phrases that are spam in any context, each run only when one of its words is in the text."""

_ALL_SPAM_TRIGGERS = frozenset().union(*(triggers for triggers, _ in _GATED_SPAM))

_SPAM_WEAK = re.compile(
    r"\b(?:free|gratis|gratuit|kostenlos|gratuito|win|wins|winner|won(?!['’])|prize|prizes|cash|"
    r"claim|urgent|guaranteed|bonus|voucher|vouchers|reward|rewards|giveaway|lottery|jackpot|"
    r"offer|deal|cheap|cheapest|discount|promo|sale|txt|mobile|ringtone|entry|"
    r"click|subscribe|dm|whatsapp|telegram|inbox|earn|income|profit|invest|crypto|bitcoin|"
    r"loan|credit|casino|bet|dating|sexy|singles|hot|xxx|pills?|viagra|weight|kilos|"
    r"gana|ganhe|gagnez|gewinnen|vinci|vinca|gewonnen|ganado|ganaste|ganhou|gagné|vinto|premio|prêmio|prix|preis|oferta|offerta|"
    r"réduction|rabatt|korting|descuento|sconto|escríbeme|chama|direct|contatta)\b",
)
"""Words common in spam and also in ordinary posts (they add up)."""

_MONEY = re.compile(r"(?:[£€$]|\busd\b|\beur\b)\s?\d[\d.,]*|\d[\d.,]*\s?(?:[£€$]|euros?\b)")
_PHONE = re.compile(r"(?<!\d)(?:\+?\d[\d -]{8,}\d|\d{5,6})(?!\d)")
_SHORTENERS = (
    "bit.ly/", "tinyurl.com/", "goo.gl/", "ow.ly/", "is.gd/", "buff.ly/", "cutt.ly/",
    "rebrand.ly/", "shorturl.at/", "rb.gy/", "t.me/", "wa.me/", "linktr.ee/", "tiny.cc/",
    "s.id/", "v.gd/",
)  # fmt: skip
"""URL shorteners and chat links that hide where a link goes."""

_ODD_DOMAIN = re.compile(
    r"\.(?:click|xyz|top|cc|site|online|biz|info|win|vip|loan|live|shop|store|icu|buzz|rest|fun|"
    r"monster|work|link)\b(?![.-]\w)"
)
"""Top-level domains that cheap spam sites favour (the pattern starts with a literal: fast)."""

_SHORTENER = re.compile("|".join(re.escape(host) for host in _SHORTENERS))
_DOT_COM_SPELLED = re.compile(r" dot (?:com|net|org|co)\b")
_WORD_RUN = re.compile(r"[\w'’&$€£]+")


def _words(low: str) -> set[str]:
    """The text's words (lower case; apostrophes, €, £, $ and & kept inside them)."""
    return set(_WORD_RUN.findall(low))


_DIGITS5 = re.compile(r"\d{5}")
_SPAM_WEAK_WORDS = frozenset(
    w.strip("s?") if w.endswith("s?") else w
    for w in _SPAM_WEAK.pattern.split("(?:", 1)[1]
    .rsplit(")", 1)[0]
    .replace("won(?!['’])", "won")
    .split("|")
) | {"pill", "pills"}
_HELP_TRIGGERS = _vocabulary(
    "how anyone anybody someone somebody any need needs needed looking seeking asking appreciate"
    " welcome help please pls plz sos should way tell explain check send fix confirm advise"
    " recommend look figure trying stuck ideas advice suggestions tips recommendations eli5 tl"
    " alguien alguém necesito preciso busco ayudar ajuda cómo puedo hago faço posso consigo"
    " ayuda socorro hace quelqu'un quelqu besoin comment aider aidez secours conseils conseil weiß"
    " weiss jemand einer wie brauche hilfe helfen könnt können iemand hoe hulp kunnen helpen"
    " qualcuno faccio aiutare aiuto bisogno consigli"
)
_REQUEST_TRIGGERS = _vocabulary(
    "please pls plz kindly favor plaît plait bitte alsjeblieft favore let back need"
)
_RHETORICAL_TRIGGERS = _vocabulary("who why guess know right isn't amirite what how am")


def spam_score(text: str) -> float:
    """How spammy ``text`` looks from its surface alone (0: no cue; ≥ 3: spam by itself)."""
    text = text[:MAX_CHARS]
    low = text.lower()
    return _spam_score(text, low, _words(low))


def _spam_score(text: str, low: str, words: set[str]) -> float:
    # The slow patterns run only when a word or character they need is there.
    score = 0.0
    if not words.isdisjoint(_ALL_SPAM_TRIGGERS):
        strong = 0
        for triggers, pattern in _GATED_SPAM:
            if not words.isdisjoint(triggers) and pattern.search(low):
                strong += 1
                if strong == 2:
                    break
        score += 2.0 * strong
    score += 0.5 * min(3, len(words & _SPAM_WEAK_WORDS))
    if ("$" in low or "£" in low or "€" in low or "eur" in low or "usd" in low) and _MONEY.search(
        low
    ):
        score += 1.0
    if _DIGITS5.search(low) and _PHONE.search(low):
        score += 1.0
    if (
        _ODD_DOMAIN.search(low)
        or ("/" in low and _SHORTENER.search(low))
        or (" dot " in low and _DOT_COM_SPELLED.search(low))
    ):
        score += 1.5
    if score >= 1.0:  # shouting and "!!!" only tip a post that already has a cue
        if sum(1 for w in text.split() if len(w) >= 4 and w.isupper()) >= 2:
            score += 0.5
        if text.count("!") >= 3:
            score += 0.5
    return score


def spam_scores(texts: Sequence[str], tokens: Sequence[list[str]] | None = None) -> list[float]:
    """``spam_score`` of each text; ``tokens``: the texts' ``features.tokenize`` when the caller
    has them (the words are read from them, hashtags and mentions without their sign)."""
    if tokens is None:
        return [spam_score(t) for t in texts]
    out: list[float] = []
    for text, words in zip(texts, tokens, strict=True):
        text = text[:MAX_CHARS]
        found = set(words)
        if "#" in text:
            found.update(w[1:] for w in words if w[0] == "#")
        out.append(_spam_score(text, text.lower(), found))
    return out


# --- requests for help --------------------------------------------------------------------------

_HELP_STRONG = re.compile(
    r"\b(?:"
    # English
    r"how\s+(?:do|can|could|should|would)\s+(?:i|we|you|one)|how\s+to\b|how\s+do\s+u"
    r"|(?:does|do|can|could|would|will)\s+(?:any\s*(?:one|body)|some\s*(?:one|body))"
    r"|any\s*(?:one|body)\s+(?:know|knows|have|has|else|got|tried|able|here|familiar)"
    r"|any\s+(?:advice|ideas?|tips?|suggestions?|recommendations?|help|thoughts|clue|pointers)"
    r"|(?:need|needs|needed|want|looking\s+for|seeking|asking\s+for|appreciate|welcome)\s+"
    r"(?:some\s+|any\s+|your\s+)?(?:help|advice|assistance|suggestions?|recommendations?|tips|"
    r"input|guidance|support)"
    r"|help\s+(?:me|us|please|pls|plz|needed|wanted)|please\s+help|pls\s+help|plz\s+help|sos\b"
    r"|what\s+(?:should|can|do|would)\s+(?:i|we)\s+(?:do|try|use|get|buy)"
    r"|what(?:'s|\s+is)\s+the\s+best\s+way|is\s+there\s+(?:a|any)\s+(?:way|fix|workaround)"
    r"|where\s+(?:can|do|should)\s+i|who\s+(?:do|should|can)\s+i\s+(?:contact|call|ask|talk)"
    r"|can\s+(?:you|u|someone)\s+(?:please\s+)?(?:help|tell|explain|check|send|fix|confirm|"
    r"advise|recommend|look)"
    r"|(?:could|would)\s+you\s+(?:please\s+)?(?:help|tell|explain|check|send|fix|confirm|"
    r"advise|recommend|look)"
    r"|i\s+(?:can't|cannot|can\s+not)\s+figure\s+out|trying\s+to\s+figure\s+out|stuck\s+on"
    r"|(?:ideas|advice|suggestions)\s*\?|(?:tips|recommendations)\s+(?:on|for)"
    r"|recommend\s+(?:a|an|me|any|some)|eli5|tl;?dr.{0,40}\?"
    # Spanish, Portuguese
    r"|(?:alguien|alguém)\s+(?:sabe|conoce|tiene|puede|me|pode|tem|conhece)"
    r"|(?:necesito|preciso\s+de|busco)\s+(?:ayuda|ajuda|consejo|conselho)"
    r"|(?:me\s+)?(?:pueden|podéis|podem|poderiam|podrían)\s+ayudar|ajuda\s+(?:aí|por\s+favor)"
    r"|(?:cómo|como)\s+(?:puedo|hago|se\s+hace|faço|posso|consigo)"
    r"|ayuda\s+por\s+favor|socorro|qué\s+hago|o\s+que\s+(?:eu\s+)?faço"
    # French
    r"|quelqu'un\s+(?:sait|a|peut|connaît)|besoin\s+d'(?:aide|un\s+conseil)|comment\s+(?:je|faire|"
    r"on|puis-je|est-ce)|pouvez-vous\s+m'aider|aidez-moi|au\s+secours|des\s+conseils"
    # German
    r"|wei(?:ß|ss)\s+(?:jemand|einer)|hat\s+jemand|kann\s+(?:mir\s+)?(?:jemand|einer)"
    r"|wie\s+(?:kann|soll|mache)\s+ich|brauche\s+(?:hilfe|rat)|hilfe\b|bitte\s+helfen"
    r"|könnt\s+ihr|können\s+sie\s+mir"
    # Dutch
    r"|weet\s+iemand|heeft\s+iemand|kan\s+iemand|hoe\s+(?:kan|moet|doe)\s+ik|hulp\s+nodig"
    r"|kunnen\s+jullie|kun\s+je\s+(?:me|mij)\s+helpen|iemand\s+tips"
    # Italian
    r"|qualcuno\s+(?:sa|ha|può|conosce)|come\s+(?:posso|faccio|si\s+fa)|mi\s+(?:potete|puoi)\s+"
    r"aiutare|aiuto\b|ho\s+bisogno\s+di\s+(?:aiuto|consigli)|consigli\s*\?"
    r")",
)
"""Phrases that ask for help or information in any domain."""

_REQUEST = re.compile(
    r"(?:^|[.!?]\s+)(?:please|pls|plz|kindly|por\s+favor|s'il\s+vous\s+pla[iî]t|bitte|alsjeblieft|"
    r"per\s+favore)\b"
    r"|\b(?:please|pls|plz)\s+(?:fix|help|send|tell|check|reply|respond|refund|call|contact|dm|"
    r"advise|explain|look|let\s+me\s+know|get\s+back)"
    r"|\blet\s+me\s+know\b|\bget\s+back\s+to\s+me\b|\bi\s+need\s+(?:a|my|to\s+know)\b",
)
"""Requests and imperatives addressed to someone."""

_QUESTION = re.compile(
    r"\?|^(?:who|what|when|where|why|how|which|is|are|can|could|does|do|did|will|would|should|has|"
    r"have|anyone|any)\b.{3,}$",
)
_RHETORICAL = re.compile(
    r"\b(?:who\s+(?:knew|cares)|why\s+not|guess\s+what|know\s+what|right\s*\?|isn't\s+it\s*\?|"
    r"amirite|what\s+a\b|how\s+(?:cool|awesome|cute|great|sad|funny)|am\s+i\s+the\s+only)",
)


def help_cues(text: str) -> int:
    """Cue strength for "this post asks for help or an answer": 0 none, 1 a question or request,
    2 a phrase that asks for help or information (``how do I``, ``anyone know``, ``any advice``)."""
    low = text[:MAX_CHARS].lower()
    return _help_cues(low, _words(low))


def _help_cues(low: str, words: set[str]) -> int:
    if not words.isdisjoint(_HELP_TRIGGERS) and _HELP_STRONG.search(low):
        return 2
    asks = "?" in low or bool(_QUESTION.search(low.strip()))
    if not asks and not words.isdisjoint(_REQUEST_TRIGGERS):
        asks = bool(_REQUEST.search(low))
    if asks and not words.isdisjoint(_RHETORICAL_TRIGGERS) and _RHETORICAL.search(low):
        return 0
    return 1 if asks else 0


def surface_cues(texts: Sequence[str]) -> list[tuple[float, int]]:
    """``(spam_score, help_cues)`` of each text, the text lower-cased and split once."""
    out: list[tuple[float, int]] = []
    for text in texts:
        text = text[:MAX_CHARS]
        low = text.lower()
        words = _words(low)
        out.append((_spam_score(text, low, words), _help_cues(low, words)))
    return out
