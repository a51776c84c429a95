"""Scenario files: `tierline scenarios run PATH...` replays them and reports transition
coverage; `tierline scenarios record --db PATH --user ID > FILE.yaml` turns a stored
conversation into one. See docs/scenarios.md for the file format.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bot.config import database_location

    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run_p = sub.add_parser(
        "run",
        help="replay scenario files and report coverage",
        description="Replay each scenario on a fresh temporary database.",
    )
    run_p.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="scenario files, or folders of *.yaml files",
    )
    run_p.add_argument("--json", action="store_true", help="one JSON report on stdout")
    run_p.add_argument(
        "--via",
        choices=["engine", "jsonl", "telegram"],
        default="engine",
        help="drive the engine in-process (default), through one `tierline console --jsonl` "
        "process, or through the real Telegram adapter against a fake Bot API on 127.0.0.1",
    )
    run_p.add_argument(
        "--min-coverage",
        type=float,
        metavar="PERCENT",
        help="also fail when transition coverage is below PERCENT",
    )
    rec = sub.add_parser(
        "record",
        help="turn a stored conversation into a scenario file",
        description="Write the scenario of a stored conversation to stdout.",
    )
    rec.add_argument(
        "--db",
        type=database_location,
        required=True,
        metavar="PATH|URL",
        help="the database the conversation is stored in",
    )
    rec.add_argument("--user", required=True, metavar="ID", help="the conversation's user id")
    rec.add_argument("--channel", default="console", help="its channel (default: console)")


def run(args: argparse.Namespace) -> int:
    if args.action == "record":
        return asyncio.run(_record(args))
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from bot.trainer.coverage import TransitionCoverage, describe_edge
    from bot.trainer.drivers import JsonlConsole
    from bot.trainer.runner import ScenarioReport, run_scenario
    from bot.trainer.scenario import ScenarioError, load_scenario, scenario_files
    from flows.tiers import definition

    try:
        files = scenario_files(args.paths)
    except ScenarioError as exc:
        print(f"tierline: error: {exc}", file=sys.stderr)
        return 2
    if not files:
        print("tierline: error: no scenario files (*.yaml) found", file=sys.stderr)
        return 2
    coverage = TransitionCoverage.of(definition())
    results: list[dict[str, Any]] = []
    failed = 0
    # Through JSONL, one console process plays every file (each on its own database).
    console = JsonlConsole() if args.via == "jsonl" else None
    try:
        for path in files:
            try:
                scenario = load_scenario(path)
            except ScenarioError as exc:
                failed += 1
                results.append(
                    {"file": str(path), "name": None, "passed": False, "error": str(exc)}
                )
                if not args.json:
                    print(f"ERROR {exc}")
                continue
            report: ScenarioReport = await run_scenario(scenario, via=args.via, console=console)
            coverage.record(report.fired)
            failed += not report.passed
            results.append(_report_json(report))
            if not args.json:
                _print_report(report)
    finally:
        if console is not None:
            await console.close()
    below = args.min_coverage is not None and coverage.ratio * 100 < args.min_coverage
    if args.json:
        json.dump(
            {
                "passed": len(files) - failed,
                "failed": failed,
                "scenarios": results,
                "coverage": coverage.as_json(),
            },
            sys.stdout,
            indent=2,
            ensure_ascii=False,
        )
        print()
    else:
        print()
        print(coverage.summary())
        if coverage.missed:
            print("never exercised:")
            for edge in coverage.missed:
                print(f"  - {describe_edge(edge)}")
        print(f"{len(files)} scenario(s): {len(files) - failed} passed, {failed} failed")
        if below:
            print(f"coverage is below the required {args.min_coverage:g}%")
    return 1 if failed or below else 0


def _print_report(report: Any) -> None:
    scenario = report.scenario
    print(f"{'PASS' if report.passed else 'FAIL'}  {scenario.name}  ({scenario.source})")
    if report.error:
        print(f"      {report.error}")
    step = report.failed_step
    if step is not None:
        print(f"      {step.title}")
        for failure in step.failures:
            print(f"        {failure}")


def _report_json(report: Any) -> dict[str, Any]:
    step = report.failed_step
    return {
        "file": report.scenario.source,
        "name": report.scenario.name,
        "passed": report.passed,
        "error": report.error,
        "failed_step": None
        if step is None
        else {
            "number": step.index + 1,
            "line": step.line,
            "step": step.step.describe(),
            "failures": step.failures,
        },
    }


async def _record(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.trainer.record import RecordError, record

    settings = load_settings()
    try:
        recording = await record(args.db, args.channel, args.user, settings.tz)
    except RecordError as exc:
        print(f"tierline: error: {exc}", file=sys.stderr)
        return 2
    for warning in recording.warnings:
        print(f"tierline: warning: {warning}", file=sys.stderr)
    sys.stdout.write(recording.yaml_text)
    return 0
