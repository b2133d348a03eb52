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
    started = time.perf_counter()
    with err.status(f"training on {len(train_set):,} labelled posts"):
        model = train_model(train_set)
    seconds = time.perf_counter() - started
    report = evaluate(model, test_set)
    digest = model.save(out)
    if not quiet:
        print_intent_report(report)
    err.print(
        f"model: {out} (sha256 {digest[:16]}) · trained on {len(train_set):,} in {seconds:.1f} s"
        f" · test {len(test_set):,}: intent macro-F1 {report.macro_f1:.3f},"
        f" actionable F1 {report.actionable_f1:.3f}"
    )
    if ml:
        _train_ml(train_set, test_set, report, out.with_name(ML_MODEL_PATH.name), quiet)


def _train_ml(
    train_set: list[Example],
    test_set: list[Example],
    baseline: IntentReport,
    out: Path,
    quiet: bool,
) -> None:
    from townhall.understand.embeddings import MiniLMEmbedder

    try:
        embedder = MiniLMEmbedder()
    except ConfigError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from None
    started = time.perf_counter()
    with err.status(f"embedding and training on {len(train_set):,} labelled posts"):
        model = train_model(train_set, embedder)
    seconds = time.perf_counter() - started
    report = evaluate(model, test_set)
    digest = model.save(out)
    if not quiet:
        print_intent_report(report)
    err.print(
        f"ml model: {out} (sha256 {digest[:16]}) · {seconds:.1f} s · intent macro-F1"
        f" {report.macro_f1:.3f} (lift {report.macro_f1 - baseline.macro_f1:+.3f}),"
        f" actionable F1 {report.actionable_f1:.3f}"
        f" (lift {report.actionable_f1 - baseline.actionable_f1:+.3f})"
    )
