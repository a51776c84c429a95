"""Run the Telegram bot: `tierline telegram`.

The token comes from TIERLINE_TELEGRAM_TOKEN (create a bot with @BotFather to get one).
Long polling by default; with --webhook-url the bot listens for Telegram's requests behind
a TLS proxy, and every request must carry the secret token. --base-url points the bot at
another Bot API server (a self-hosted one, or a local fake in tests). SIGINT or SIGTERM
stops taking updates, lets the work in flight finish for `shutdown_grace_seconds`, keeps
the rest in the database for the next start, and closes it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

NO_TOKEN = (
    "TIERLINE_TELEGRAM_TOKEN is not set. Create a bot with @BotFather in Telegram "
    "(send it /newbot), then start Tierline with the token it gives you, e.g. "
    "TIERLINE_TELEGRAM_TOKEN=123456:ABC... tierline telegram"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bot.runtime import add_common_options

    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="Bot API server root (default: telegram.base_url from settings, "
        "https://api.telegram.org)",
    )
    webhook = parser.add_argument_group("webhook mode (instead of long polling)")
    webhook.add_argument(
        "--webhook-url",
        metavar="URL",
        help="public URL Telegram posts updates to, e.g. https://bot.example.org/telegram",
    )
    webhook.add_argument(
        "--listen",
        metavar="ADDRESS",
        help="address to listen on (default: telegram.webhook_listen)",
    )
    webhook.add_argument(
        "--port",
        type=int,
        metavar="PORT",
        help="port to listen on (default: telegram.webhook_port)",
    )
    webhook.add_argument(
        "--secret-token",
        metavar="TOKEN",
        help="secret every webhook request must carry (better: "
        "TIERLINE_TELEGRAM__WEBHOOK_SECRET_TOKEN)",
    )
    add_common_options(parser)


def run(args: argparse.Namespace) -> int:
    from bot.config import ConfigError
    from bot.runtime import settings_from

    settings = settings_from(args)
    settings = _with_options(settings, args)
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        print(f"tierline: error: {NO_TOKEN}", file=sys.stderr)
        return 2
    if settings.telegram.webhook_url and settings.telegram.webhook_secret_token is None:
        raise ConfigError(
            "webhook mode",
            "telegram.webhook_secret_token",
            "required with --webhook-url: pass --secret-token or set "
            "TIERLINE_TELEGRAM__WEBHOOK_SECRET_TOKEN",
        )
    _quiet_update_logs()
    try:
        return asyncio.run(_serve(args, settings))
    except asyncio.CancelledError:  # a second SIGINT/SIGTERM during shutdown
        return 130


async def _serve(args: argparse.Namespace, settings: Any) -> int:
    from telegram.error import InvalidToken, NetworkError, TelegramError

    from bot.adapters.telegram.app import TelegramBot
    from bot.retention import RetentionJob
    from bot.runtime import clock_from, open_engine, settle_for_serving

    stop = asyncio.Event()
    serving = asyncio.current_task()

    def on_signal() -> None:
        # The first signal stops cleanly; a second one gives up waiting for Telegram.
        if stop.is_set() and serving is not None:
            serving.cancel()
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    clock = clock_from(args, settings)
    async with open_engine(settings, clock, pull_notices=frozenset()) as engine:  # push
        bot = TelegramBot(engine, settings, settings.telegram_token.get_secret_value())
        settle_for_serving()  # start-up is done: what it built lives as long as the process
        # The retention policy is applied inside the running bot (at start, then every
        # retention.purge_every_minutes), in batches that never keep a turn waiting.
        purging = RetentionJob(
            engine.services.ports.db, engine.services.ports.retention, settings.retention, clock
        )
        try:
            async with purging.running():
                await bot.run(stop)
        except InvalidToken:
            print(
                "tierline: error: Telegram refused the token in TIERLINE_TELEGRAM_TOKEN; "
                "check it with @BotFather (/token)",
                file=sys.stderr,
            )
            return 2
        except NetworkError as exc:
            print(
                f"tierline: error: cannot reach the Bot API at "
                f"{settings.telegram.base_url}: {exc.message}",
                file=sys.stderr,
            )
            return 1
        except TelegramError as exc:
            print(
                f"tierline: error: Telegram refused to start the bot: {exc.message}",
                file=sys.stderr,
            )
            return 1
    return 0


def _with_options(settings: Any, args: argparse.Namespace) -> Any:
    """`settings` with the command-line options (which win over file and environment)."""
    from pydantic import ValidationError

    from bot.config import ConfigError, TelegramSettings

    options = {
        "base_url": args.base_url,
        "webhook_url": args.webhook_url,
        "webhook_listen": args.listen,
        "webhook_port": args.port,
        "webhook_secret_token": args.secret_token,
    }
    chosen = {k: v for k, v in options.items() if v is not None}
    if not chosen:
        return settings
    try:
        section = TelegramSettings.model_validate(settings.telegram.model_dump() | chosen)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError("command line", "telegram." + str(err["loc"][0]), err["msg"]) from None
    return settings.model_copy(update={"telegram": section})


def _quiet_update_logs() -> None:
    """python-telegram-bot logs whole updates (names, texts) at DEBUG; never let it."""
    import logging

    for name in (
        "telegram.ext.Application",
        "telegram.ext._application",
        "telegram.ext.ExtBot",
        "telegram.Bot",
    ):
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.INFO, logging.getLogger().level))
