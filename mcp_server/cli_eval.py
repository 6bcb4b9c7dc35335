"""`brainrouter eval`: score labelled prompts with a router and say how it compares with
what any router must beat on the same file: ranking by prompt length, and chance. A file the
router was trained on is flagged: its figure says nothing about unseen work."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from mcp_server.cli import ConfigOption, _settings, app

ROUTERS = ("configured", "learned", "rules", "length", "random")


@app.command("eval")
def eval_router(
    data: Annotated[
        list[Path], typer.Option("--data", help="JSONL: id, prompt, weak_score, strong_score")
    ],
    scores_out: Annotated[
        Path | None, typer.Option("--scores-out", help="Write {id, score} per record")
    ] = None,
    router: Annotated[
        str, typer.Option(help="configured | learned | rules | length | random")
    ] = "configured",
    held_out_only: Annotated[
        bool,
        typer.Option(
            "--held-out",
            help="Only the records the shipped weights were not trained on (ids hashing to 0 mod 5)",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON")] = False,
    config: ConfigOption = None,
) -> None:
    """Score labelled prompts with the router; print APGR next to the length baseline and
    random's 5-95% band, CPT(50%), CPT(80%), latency, and how many records it trained on."""
    import asyncio as aio

    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from proxy.classifier import CascadeClassifier, build_classifier
    from proxy.classifier.evaluation import (
        DataError,
        baselines,
        held_out,
        load_records,
        run,
        seen_in_training,
    )
    from proxy.routing import RuleClassifier

    settings = _settings(config)
    if router not in ROUTERS:
        typer.echo(
            "brainrouter: --router must be configured, learned, rules, length or random, "
            f"not {router!r}",
            err=True,
        )
        raise typer.Exit(2)
    classifier = {
        "configured": lambda: build_classifier(settings.proxy),
        "learned": lambda: CascadeClassifier(
            settings.proxy.classifier.model_copy(update={"kind": "learned"})
        ),
        "rules": lambda: RuleClassifier(settings.proxy.auto),
    }.get(router, lambda: router)()
    trained = (
        classifier.scorer.trained_hashes()
        if isinstance(classifier, CascadeClassifier)
        else frozenset()
    )
    console = Console(stderr=True)
    table = Table(
        "file",
        "records",
        "APGR",
        "length",
        "random 5-95%",
        "CPT(50%)",
        "CPT(80%)",
        "p50 ms",
        "p99 ms",
        "trained on",
    )
    results: list[dict[str, Any]] = []
    scores_file = scores_out.open("w") if scores_out else None
    try:
        for path in data:
            try:
                records = load_records(path)
            except DataError as exc:
                typer.echo(f"brainrouter: {exc}", err=True)
                raise typer.Exit(2) from None
            if held_out_only:
                records = [r for r in records if held_out(r.id)]
                if not records:
                    typer.echo(f"brainrouter: {path}: no held-out records in it", err=True)
                    raise typer.Exit(2)
            seen = seen_in_training(records, trained)
            if seen:
                console.print(
                    f"[bold]warning[/]: the router was trained on {seen} of the {len(records)} "
                    f"records of {path.name}: not an unseen source"
                    + ("" if held_out_only else " (--held-out scores only the rest)")
                )
            with Progress(console=console, transient=True, disable=as_json) as progress:
                task = progress.add_task(f"scoring {path.name}", total=len(records))
                result = aio.run(run(classifier, records, partial(progress.advance, task)))
            m, base = result.metrics, baselines(records)
            beats = m.apgr > max(base.length_apgr, base.random_p95)
            table.add_row(
                path.name,
                str(m.count),
                f"{m.apgr:.3f}" + ("" if beats else " ✗"),
                f"{base.length_apgr:.3f}",
                f"{base.random_p5:.3f}-{base.random_p95:.3f}",
                f"{m.cpt50:.3f}",
                f"{m.cpt80:.3f}",
                f"{result.latency(0.5):.2f}",
                f"{result.latency(0.99):.2f}",
                f"{seen}" + (" !" if seen else ""),
            )
            results.append(
                {
                    "file": str(path),
                    "records": m.count,
                    "apgr": m.apgr,
                    "length_apgr": base.length_apgr,
                    "random_apgr_p5": base.random_p5,
                    "random_apgr_p95": base.random_p95,
                    "beats_baselines": beats,
                    "seen_in_training": seen,
                    "cpt50": m.cpt50,
                    "cpt80": m.cpt80,
                    "weak_accuracy": m.weak_accuracy,
                    "strong_accuracy": m.strong_accuracy,
                    "latency_p50_ms": result.latency(0.5),
                    "latency_p99_ms": result.latency(0.99),
                }
            )
            if scores_file is not None:
                for record, score in zip(records, result.scores, strict=True):
                    scores_file.write(json.dumps({"id": record.id, "score": score}) + "\n")
    finally:
        if scores_file is not None:
            scores_file.close()
    if as_json:
        typer.echo(json.dumps({"router": router, "results": results}, indent=2))
    else:
        # piped or captured output gets every column, not an 80-column squeeze
        Console(width=None if sys.stdout.isatty() else 160).print(table)
        console.print(
            "✗: APGR not above both the length baseline and random's 95th percentile; "
            "trained on !: records the router was trained on (not an unseen source)"
        )
