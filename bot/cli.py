"""The `tierline` command line (also `python -m bot`).

Each subcommand lives in its own module with `add_arguments(parser)` and `run(args)`; a
module keeps heavy imports inside `run`, so `tierline console` never loads Telegram code.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence

from bot import __version__

# (name, module, one-line help) in the order `tierline --help` lists them.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("console", "bot.adapters.console", "chat with the assistant in the terminal"),
    ("diagram", "bot.trainer.diagram", "draw the state machine (Mermaid, DOT, SVG, PNG)"),
    ("scenarios", "bot.trainer.scenarios_cli", "replay or record scenario files"),
    ("demo", "bot.trainer.demo", "narrate a scenario for a class"),
    ("trainer", "bot.trainer.web", "the trainer's classroom: a local web page beside the machine"),
    ("cases", "bot.adapters.cases_cli", "import and list case records (automated tier)"),
    ("staff", "bot.staff.cli", "work the Tier 2 officer callback queue"),
    ("purge", "bot.adapters.purge_cli", "delete data older than the retention policy allows"),
    ("migrate", "bot.adapters.migrate_cli", "bring the database's schema to this version"),
    ("copy", "bot.adapters.copy_cli", "copy a whole database into another (SQLite to PostgreSQL)"),
    ("telegram", "bot.adapters.telegram.cli", "run the Telegram bot (long polling or webhook)"),
)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; only the subcommand named in `argv` is imported (start-up stays lean:
    `tierline console` loads neither the trainer nor Telegram)."""
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = argparse.ArgumentParser(
        prog="tierline",
        description="Tierline: the tiers of the USCIS Contact Center in a chat "
        "(a training tool, not affiliated with USCIS).",
    )
    parser.add_argument("--version", action="version", version=f"tierline {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    known = any(name == chosen for name, _, _ in COMMANDS)
    for name, module_name, summary in COMMANDS:
        if name != chosen:
            if not known:  # listed by --help and in the error for an unknown command
                sub.add_parser(name, help=summary, description=summary)
            continue
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=summary, description=module.__doc__)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Importing the command's modules makes objects that live as long as the process:
    # collecting while they are made only scans them again and again.
    # Tierline uses no pydantic plugin: looking for them reads the metadata of every
    # installed package before the first model is built (PYDANTIC_DISABLE_PLUGINS="" in
    # the environment lets pydantic look again).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # The settings' and storage modules are imported here too, not at the top of this one.
    gc.disable()
    try:
        from bot.config import ConfigError
        from bot.storage.database import StorageError

        parser = build_parser(argv)
        args = parser.parse_args(argv)
    finally:
        # What was made meanwhile sat in the youngest generation: unfrozen, the first
        # collection after this would scan all of it, and the next one again.
        gc.freeze()
        gc.enable()
    try:
        return int(args._run(args) or 0)
    except (ConfigError, StorageError) as exc:
        print(f"tierline: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`tierline demo --list | head`): nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
