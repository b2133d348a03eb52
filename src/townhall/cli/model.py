"""`townhall model train`: build the intent model from the labelled set."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from townhall.cli.common import err
from townhall.cli.evaluate import print_intent_report
from townhall.errors import ConfigError, InputError
from townhall.understand.dataset import (
    DATA_DIR,
    ML_MODEL_PATH,
    MODEL_PATH,
    Example,
    IntentReport,
    evaluate,
    load_examples,
    split,
    train_model,
)
from townhall.understand.intent import Embedder

app = typer.Typer(no_args_is_help=True)


@app.command("train")
def train(
    data: Annotated[Path, typer.Option(help="Folder with part_*.jsonl labelled posts.")] = DATA_DIR,
    out: Annotated[Path, typer.Option(help="Where to write the model.")] = MODEL_PATH,
    quiet: Annotated[bool, typer.Option(help="Print only the summary line.")] = False,
    ml: Annotated[
        bool,
        typer.Option(
            "--ml",
            help="Also train with MiniLM embeddings (the [ml] extra) and report the lift.",
        ),
    ] = False,
) -> None:
    """Train intent + actionable on the train split, report on the test split, save the model."""
    try:
        examples = load_examples(data)
    except InputError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from None
    train_set, test_set = split(examples)
    report = _train(train_set, test_set, out, None, quiet, "model")
    if ml:
        from townhall.understand.embeddings import MiniLMEmbedder

        try:
            embedder = MiniLMEmbedder()
        except ConfigError as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(1) from None
        with_ml = _train(
            train_set, test_set, out.with_name(ML_MODEL_PATH.name), embedder, quiet, "ml model"
        )
        err.print(
            f"lift of the ml model: intent macro-F1 {with_ml.macro_f1 - report.macro_f1:+.3f},"
            f" actionable F1 {with_ml.actionable_f1 - report.actionable_f1:+.3f}"
        )


def _train(
    train_set: list[Example],
    test_set: list[Example],
    out: Path,
    embedder: Embedder | None,
    quiet: bool,
    label: str,
) -> IntentReport:
    """Train on ``train_set``, score on ``test_set``, save to ``out``; print, return the score."""
    started = time.perf_counter()
    with err.status(f"training on {len(train_set):,} labelled posts"):
        model = train_model(train_set, embedder)
    seconds = time.perf_counter() - started
    report = evaluate(model, test_set)
    digest = model.save(out)
    if not quiet:
        print_intent_report(report)
    err.print(
        f"{label}: {out} (sha256 {digest[:16]}) · trained on {len(train_set):,} in {seconds:.1f} s"
        f" · test {len(test_set):,}: intent macro-F1 {report.macro_f1:.3f},"
        f" actionable F1 {report.actionable_f1:.3f}"
    )
    return report
