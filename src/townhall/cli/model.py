"""`townhall model train` / `townhall model tune`: build the intent model from the labelled set."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from townhall.cli.common import err
from townhall.cli.evaluate import print_intent_report
from townhall.errors import ConfigError, InputError
from townhall.understand.dataset import (
    CV_FOLDS,
    DATA_DIR,
    ML_MODEL_PATH,
    MODEL_PATH,
    CachedEmbedder,
    Example,
    HyperParameters,
    IntentReport,
    choose_embedding_weight,
    cross_validate,
    evaluate,
    load_examples,
    split,
    train_model,
)
from townhall.understand.intent import (
    C_ACTIONABLE,
    NB_ALPHA,
    STATIC_WEIGHT,
    Embedder,
)

app = typer.Typer(no_args_is_help=True)

C_INTENT_CANDIDATES = (0.5, 1.0, 2.0)
C_ACTIONABLE_CANDIDATES = (0.25, 0.5, 1.0)
STATIC_WEIGHT_CANDIDATES = (0.0, 0.5, 1.0, 1.5)
NB_ALPHA_CANDIDATES = (0.1, 0.3, 1.0)


def _load(data: Path) -> tuple[list[Example], list[Example]]:
    try:
        return split(load_examples(data))
    except InputError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from None


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
    train_set, test_set = _load(data)
    report = _train(train_set, test_set, out, None, 0.0, quiet, "model")
    if ml:
        from townhall.understand.embeddings import MiniLMEmbedder

        try:
            embedder = MiniLMEmbedder()
        except ConfigError as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(1) from None
        with err.status(f"embedding {len(train_set):,} training posts"):
            cached = CachedEmbedder(embedder, [e.text for e in train_set])
        with err.status(f"choosing the embedding scale by {CV_FOLDS}-fold CV on the train split"):
            weight, scores = choose_embedding_weight(train_set, cached)
        err.print(
            "embedding scale, CV macro-F1 on the train split: "
            + ", ".join(f"{w:g} → {s:.3f}" for w, s in scores.items())
            + f"; chosen {weight:g}"
        )
        with_ml = _train(
            train_set,
            test_set,
            out.with_name(ML_MODEL_PATH.name),
            cached,
            weight,
            quiet,
            "ml model",
            embedder,
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
    embedding_weight: float,
    quiet: bool,
    label: str,
    final_embedder: Embedder | None = None,
) -> IntentReport:
    """Train on ``train_set``, score on ``test_set``, save to ``out``; print, return the score."""
    started = time.perf_counter()
    with err.status(f"training on {len(train_set):,} labelled posts"):
        model = train_model(train_set, embedder, HyperParameters(embedding_weight=embedding_weight))
    seconds = time.perf_counter() - started
    if final_embedder is not None:
        model.embedder = final_embedder  # the cache only holds training texts
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


@app.command("tune")
def tune(
    data: Annotated[Path, typer.Option(help="Folder with part_*.jsonl labelled posts.")] = DATA_DIR,
) -> None:
    """Cross-validate regularisation, the static-vector scale and the complement Naive Bayes
    smoothing on the train split only.

    Prints mean intent macro-F1 and actionable F1 over 5 folds for each candidate, so the
    constants in ``townhall/understand/intent.py`` can be checked after the data set grows
    (one knob at a time around the current values; each row trains 5 models, ≈ 1 min).
    """
    train_set, _ = _load(data)
    table = Table(
        title=f"{CV_FOLDS}-fold CV on the train split ({len(train_set):,} posts)",
        title_justify="left",
    )
    columns = ("C intent", "C act.", "static", "NB α")  # fits an 80-column terminal
    for column in (*columns, "intent macro-F1", "actionable F1"):
        table.add_column(column, justify="right")
    now = HyperParameters()
    candidates = (
        [replace(now, c_intent=c) for c in C_INTENT_CANDIDATES]
        + [replace(now, c_actionable=c) for c in C_ACTIONABLE_CANDIDATES if c != C_ACTIONABLE]
        + [replace(now, static_weight=w) for w in STATIC_WEIGHT_CANDIDATES if w != STATIC_WEIGHT]
        + [replace(now, nb_alpha=a) for a in NB_ALPHA_CANDIDATES if a != NB_ALPHA]
    )
    for knobs in candidates:
        with err.status(
            f"C intent {knobs.c_intent:g}, C actionable {knobs.c_actionable:g},"
            f" static {knobs.static_weight:g}, NB alpha {knobs.nb_alpha:g}"
        ):
            macro, actionable = cross_validate(train_set, knobs=knobs)
        table.add_row(
            f"{knobs.c_intent:g}{' (current)' if knobs == now else ''}",
            f"{knobs.c_actionable:g}",
            f"{knobs.static_weight:g}",
            f"{knobs.nb_alpha:g}",
            f"{macro:.3f}",
            f"{actionable:.3f}",
        )
    err.print(table)
