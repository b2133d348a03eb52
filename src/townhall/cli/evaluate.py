"""`townhall eval ...`: how well Townhall understands posts, on held-out data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from townhall.cli.common import err
from townhall.errors import ConfigError, InputError
from townhall.posts import terminal_safe
from townhall.understand.dataset import (
    DATA_DIR,
    ML_MODEL_PATH,
    MODEL_PATH,
    IntentReport,
    evaluate,
    load_examples,
    split,
)
from townhall.understand.intent import IntentModel
from townhall.understand.labels import SENTIMENTS

app = typer.Typer(no_args_is_help=True)


def print_intent_report(report: IntentReport) -> None:
    """Per-class precision/recall/F1, macro-F1, actionable F1 and the confusion matrix."""
    title = (
        f"Intent on the test split of data/intents ({report.n_test:,} posts; not used in"
        " training or tuning; intent and actionable include the surface cues)"
    )
    table = Table(title=title, title_justify="left")
    for column in ("intent", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "intent" else "right")
    for c in report.classes:
        table.add_row(
            c.label, f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}", str(c.support)
        )
    table.add_section()
    table.add_row("macro", "", "", f"{report.macro_f1:.3f}", str(report.n_test))
    table.add_row("actionable", "", "", f"{report.actionable_f1:.3f}", "")
    err.print(table)
    short = [label[:6] for label in report.labels]
    confusion = Table(title="Confusion (rows: gold, columns: predicted)", title_justify="left")
    confusion.add_column("gold")
    for label in short:
        confusion.add_column(label, justify="right")
    for label, row in zip(report.labels, report.confusion, strict=True):
        confusion.add_row(label, *[str(n) if n else "·" for n in row])
    err.print(confusion)


@app.command("intents")
def intents(
    data: Annotated[Path, typer.Option(help="Folder with part_*.jsonl labelled posts.")] = DATA_DIR,
    model: Annotated[Path, typer.Option(help="The intent model file.")] = MODEL_PATH,
    ml: Annotated[
        bool, typer.Option("--ml", help="Score the MiniLM model (townhall model train --ml).")
    ] = False,
) -> None:
    """Score the intent model on the test split: per class, macro-F1, actionable F1, confusion."""
    if ml:
        model = model.with_name(ML_MODEL_PATH.name)
    if not model.is_file():
        err.print(f"[red]error:[/] {model}: no model yet; build it with `townhall model train`")
        raise typer.Exit(1)
    try:
        _, test_set = split(load_examples(data))
    except InputError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from None
    try:
        loaded = IntentModel.load(model)
    except ConfigError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from None
    report = evaluate(loaded, test_set)
    print_intent_report(report)
    typer.echo(
        f'{{"macro_f1": {report.macro_f1:.4f}, "actionable_f1": {report.actionable_f1:.4f},'
        f' "n_test": {report.n_test}}}'
    )


def _vader_label(compound: float) -> str:
    return "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"


def _sentiment_rows(file: Path | None, data: Path) -> list[tuple[str, str]]:
    """(text, gold) pairs from FILE (``text`` + ``gold_sentiment``) or the labelled test split."""
    if file is None:
        _, test_set = split(load_examples(data))
        return [(e.text, e.sentiment) for e in test_set]
    rows: list[tuple[str, str]] = []
    for number, line in enumerate(file.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
            gold = row["gold_sentiment"]
            text = row["text"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(
                f"{file}:{number}: needs `text` and `gold_sentiment` ({exc})"
            ) from None
        if gold not in SENTIMENTS:
            raise InputError(f"{file}:{number}: gold_sentiment must be one of {SENTIMENTS}")
        rows.append((str(text), str(gold)))
    return rows


@app.command("sentiment")
def sentiment(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="JSONL with `text` and `gold_sentiment` (default: the labelled test split)."
        ),
    ] = None,
    data: Annotated[Path, typer.Option(help="Folder with part_*.jsonl labelled posts.")] = DATA_DIR,
) -> None:
    """Accuracy and macro-recall of Townhall's sentiment next to plain VADER on the same posts."""
    from sklearn.metrics import accuracy_score, recall_score
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from townhall.understand.sentiment import score_many

    try:
        rows = _sentiment_rows(file, data)
    except InputError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from None
    texts = [text for text, _ in rows]
    gold = [g for _, g in rows]
    vader = SentimentIntensityAnalyzer()
    systems = {
        "townhall": [s.label for s in score_many(texts)],
        "vader": [_vader_label(vader.polarity_scores(t)["compound"]) for t in texts],
    }
    use = "the test split of data/intents" if file is None else f"{file.name}, {_provenance(file)}"
    table = Table(
        title=escape(terminal_safe(f"Sentiment on {len(rows):,} posts ({use})")),
        title_justify="left",
    )
    for column in ("system", "accuracy", "macro-recall"):
        table.add_column(column, justify="left" if column == "system" else "right")
    result: dict[str, dict[str, float]] = {}
    for name, predicted in systems.items():
        acc = float(accuracy_score(gold, predicted))
        rec = float(
            recall_score(gold, predicted, labels=list(SENTIMENTS), average="macro", zero_division=0)
        )
        result[name] = {"accuracy": round(acc, 4), "macro_recall": round(rec, 4)}
        table.add_row(name, f"{acc:.3f}", f"{rec:.3f}")
    err.print(table)
    typer.echo(orjson.dumps({"n": len(rows), **result}).decode())


def _provenance(file: Path) -> str:
    """What a corpus file was used for, read off its name (``corpora.py`` writes the halves)."""
    if ".dev." in file.name:
        return "dev half: used in tuning"
    if ".eval." in file.name:
        return "eval half: not used in tuning"
    return "not a corpus half: tuning use unknown"


def _jsonl_rows(file: Path, field: str) -> list[tuple[str, object]]:
    """(text, gold) pairs from a JSONL file with ``text`` and ``field``."""
    rows: list[tuple[str, object]] = []
    for number, line in enumerate(file.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
            rows.append((str(row["text"]), row[field]))
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"{file}:{number}: needs `text` and `{field}` ({exc})") from None
    return rows


def _prf(gold: list[bool], predicted: list[bool]) -> dict[str, float]:
    tp = sum(g and p for g, p in zip(gold, predicted, strict=True))
    fp = sum(p and not g for g, p in zip(gold, predicted, strict=True))
    fn = sum(g and not p for g, p in zip(gold, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _load_model(model: Path) -> IntentModel:
    if not model.is_file():
        err.print(f"[red]error:[/] {model}: no model yet; build it with `townhall model train`")
        raise typer.Exit(1)
    try:
        return IntentModel.load(model)
    except ConfigError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from None


def _binary_report(
    what: str, files: list[Path], field: str, model: Path, systems: dict[str, object]
) -> None:
    """Precision / recall / F1 per file and system; one JSON line per file on stdout."""
    loaded = _load_model(model)
    for file in files:
        try:
            rows = _jsonl_rows(file, field)
        except InputError as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(1) from None
        texts = [t for t, _ in rows]
        gold = [bool(g) for _, g in rows]
        predictions: dict[str, list[bool]] = {}
        for name, system in systems.items():
            predictions[name] = system(loaded, texts)  # type: ignore[operator]
        title = f"{what} on {file.name} ({len(rows):,} texts; {_provenance(file)})"
        table = Table(title=escape(terminal_safe(title)), title_justify="left")
        for column in ("system", "precision", "recall", "F1"):
            table.add_column(column, justify="left" if column == "system" else "right")
        result: dict[str, object] = {"file": file.name, "n": len(rows), "use": _provenance(file)}
        for name, predicted in predictions.items():
            scores = _prf(gold, predicted)
            result[name] = scores
            table.add_row(name, *(f"{scores[k]:.3f}" for k in ("precision", "recall", "f1")))
        err.print(table)
        typer.echo(orjson.dumps(result).decode())


@app.command("spam")
def spam(
    files: Annotated[list[Path], typer.Argument(help="JSONL with `text` and `gold_spam`.")],
    model: Annotated[Path, typer.Option(help="The intent model file.")] = MODEL_PATH,
) -> None:
    """Spam precision / recall / F1 of the model alone and of the model with surface cues."""
    _binary_report(
        "Spam",
        files,
        "gold_spam",
        model,
        {
            "model alone": lambda m, t: [p.intent == "spam" for p in m.predict_model(t)],
            "model + cues": lambda m, t: [p.intent == "spam" for p in m.predict(t)],
        },
    )


def _naive_actionable(texts: list[str]) -> list[bool]:
    """The naive baseline: a question mark, "please" or "need"."""
    import re

    rule = re.compile(r"\?|\bplease\b|\bneed\b", re.IGNORECASE)
    return [bool(rule.search(t)) for t in texts]


@app.command("actionable")
def actionable(
    files: Annotated[list[Path], typer.Argument(help="JSONL with `text` and `gold_actionable`.")],
    model: Annotated[Path, typer.Option(help="The intent model file.")] = MODEL_PATH,
) -> None:
    """Actionable F1 of the model alone, of a naive rule and of the model with help cues."""
    _binary_report(
        "Actionable",
        files,
        "gold_actionable",
        model,
        {
            "model alone": lambda m, t: [p.actionable for p in m.predict_model(t)],
            "naive rule (?, please, need)": lambda _m, t: _naive_actionable(t),
            "model + cues": lambda m, t: [p.actionable for p in m.predict(t)],
        },
    )


SHORT_TEXT = 25
"""Texts of at most this many characters are reported apart by ``townhall eval language``."""


@app.command("language")
def language(
    files: Annotated[list[Path], typer.Argument(help="JSONL with `text` and `gold_language`.")],
) -> None:
    """Share of texts whose language is right, undetermined (``und``) or wrong, per file."""
    from townhall.understand.language import UNDETERMINED, detect_language

    table = Table(title="Language (no channel hint)", title_justify="left")
    for column in ("file", "use", "n", "right", "und", "wrong", "short n", "short right", "wrong"):
        table.add_column(column, justify="left" if column in ("file", "use") else "right")
    for file in files:
        try:
            rows = _jsonl_rows(file, "gold_language")
        except InputError as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(1) from None
        counts = {"right": 0, "und": 0, "wrong": 0}
        short = {"n": 0, "right": 0, "wrong": 0}
        for text, gold in rows:
            got = detect_language(text)
            outcome = "right" if got == gold else "und" if got in (None, UNDETERMINED) else "wrong"
            counts[outcome] += 1
            if len(text) <= SHORT_TEXT:
                short["n"] += 1
                if outcome != "und":
                    short[outcome] += 1
        n = max(1, len(rows))
        s = max(1, short["n"])
        shares = {k: round(v / n, 4) for k, v in counts.items()}
        table.add_row(
            escape(terminal_safe(file.name)),
            _provenance(file),
            str(len(rows)),
            *(f"{shares[k]:.3f}" for k in ("right", "und", "wrong")),
            str(short["n"]),
            f"{short['right'] / s:.3f}",
            f"{short['wrong'] / s:.3f}",
        )
        result = {"file": file.name, "n": len(rows), "use": _provenance(file), **shares}
        typer.echo(orjson.dumps(result).decode())
    err.print(table)
