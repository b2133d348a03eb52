"""`townhall eval ...`: how well Townhall understands posts, on held-out data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from townhall.cli.common import err
from townhall.errors import ConfigError, InputError
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
    table = Table(title=f"Intent on the test split ({report.n_test:,} posts)", title_justify="left")
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
    table = Table(title=f"Sentiment on {len(rows):,} posts", title_justify="left")
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
