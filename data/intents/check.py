"""Validate the hand-written intent data set (stdlib only).

Usage: python data/intents/check.py
Checks every part_*.jsonl next to this file and prints label counts.
Exits 1 (printing ``file:line: message``) on any problem.
"""
from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

INTENTS = ("complaint", "question", "praise", "purchase_intent", "press_inquiry",
           "partnership", "job", "outage", "spam", "other")
SENTIMENTS = ("positive", "neutral", "negative")
LANGS = ("en", "es", "fr", "de", "pt", "it", "nl")
FIELDS = {"text", "intent", "actionable", "sentiment", "lang", "brand"}
FORBIDDEN = ("acme", "kettleone", "airfry", "blender pro", "smartscale", "globex")
PREFIX = 40


def main() -> int:
    folder = Path(__file__).resolve().parent
    files = sorted(folder.glob("part_*.jsonl"))
    problems: list[str] = []
    texts: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    by_intent: collections.Counter = collections.Counter()
    by_sent: collections.Counter = collections.Counter()
    by_lang: collections.Counter = collections.Counter()
    by_brand: collections.Counter = collections.Counter()
    total = 0
    if not files:
        problems.append(f"{folder}: no part_*.jsonl files")
    for path in files:
        try:
            raw = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(f"{path.name}:0: not UTF-8 ({exc})")
            continue
        for no, line in enumerate(raw.splitlines(), 1):
            where = f"{path.name}:{no}"
            if not line.strip():
                problems.append(f"{where}: empty line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: invalid JSON ({exc})")
                continue
            if not isinstance(obj, dict):
                problems.append(f"{where}: not a JSON object")
                continue
            keys = set(obj)
            if keys != FIELDS:
                missing, extra = FIELDS - keys, keys - FIELDS
                problems.append(f"{where}: fields missing={sorted(missing)} extra={sorted(extra)}")
                continue
            text, ok = obj["text"], True
            if not isinstance(text, str) or not text.strip():
                problems.append(f"{where}: empty or non-string text")
                continue
            if obj["intent"] not in INTENTS:
                problems.append(f"{where}: bad intent {obj['intent']!r}"); ok = False
            if not isinstance(obj["actionable"], bool):
                problems.append(f"{where}: actionable must be true/false"); ok = False
            if obj["sentiment"] not in SENTIMENTS:
                problems.append(f"{where}: bad sentiment {obj['sentiment']!r}"); ok = False
            if obj["lang"] not in LANGS:
                problems.append(f"{where}: bad lang {obj['lang']!r}"); ok = False
            if not isinstance(obj["brand"], str) or not obj["brand"].strip():
                problems.append(f"{where}: empty brand"); ok = False
            low = text.lower()
            for bad in FORBIDDEN:
                if bad in low or bad in str(obj["brand"]).lower():
                    problems.append(f"{where}: mentions simulator/demo name {bad!r}"); ok = False
            if text in texts:
                problems.append(f"{where}: duplicate text (first at {texts[text]})"); ok = False
            else:
                texts[text] = where
            pre = " ".join(low.split())[:PREFIX]
            if pre in prefixes and prefixes[pre] != texts.get(text):
                problems.append(f"{where}: near-duplicate, same first {PREFIX} chars as {prefixes[pre]}")
                ok = False
            else:
                prefixes.setdefault(pre, where)
            if not ok:
                continue
            total += 1
            by_intent[(obj["intent"], obj["actionable"])] += 1
            by_sent[(obj["intent"], obj["sentiment"])] += 1
            by_lang[obj["lang"]] += 1
            by_brand[obj["brand"]] += 1

    print(f"valid rows: {total} in {len(files)} file(s)")
    print(f"\n{'intent':16} {'total':>6} {'act=T':>6} {'act=F':>6} {'pos':>5} {'neu':>5} {'neg':>5}")
    for intent in INTENTS:
        t, f = by_intent[(intent, True)], by_intent[(intent, False)]
        s = [by_sent[(intent, x)] for x in SENTIMENTS]
        print(f"{intent:16} {t + f:6} {t:6} {f:6} {s[0]:5} {s[1]:5} {s[2]:5}")
    print("\nsentiment:", ", ".join(
        f"{s}={sum(v for (i, x), v in by_sent.items() if x == s)}" for s in SENTIMENTS))
    non_en = sum(v for k, v in by_lang.items() if k != "en")
    share = 100.0 * non_en / total if total else 0.0
    print("language:", ", ".join(f"{k}={by_lang[k]}" for k in LANGS),
          f"(non-English {share:.1f}%)")
    print("brand:", ", ".join(f"{k}={v}" for k, v in by_brand.most_common()))
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(p, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
