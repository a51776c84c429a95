"""Builds and runs the python-telegram-bot `Application` around the engine.

`TelegramBot(engine, settings, token).run(stop)` starts the bot (long polling, or a webhook
when `telegram.webhook_url` is set), registers the commands with `setMyCommands`, pushes
the outbox, and on `stop` shuts down in order: stop receiving, finish the turns in flight,
stop pushing. The caller owns the engine's database and closes it afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.adapters.telegram.handlers import ApplicantHandlers, user_ref
from bot.adapters.telegram.notices import NoticePusher
from bot.adapters.telegram.ordering import ChatLocks, ChatOrderedProcessor
from bot.adapters.telegram.sender import Sender
from bot.adapters.telegram.staff import COMMANDS as STAFF_COMMANDS
from bot.adapters.telegram.staff import Desk, StaffCommands
from bot.config import Settings, TelegramSettings
from bot.engine.engine import Engine

log = logging.getLogger(__name__)

# The commands in Telegram's menu, in that order; all but the staff ones are the engine's.
APPLICANT_COMMANDS = ("start", "menu", "status", "mine", "help", "cancel", "agent")
# Edited messages are not even asked for; the handlers ignore them too.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]


class TelegramBot:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        token: str,
        *,
        desk: Desk | None = None,
        desk_error: type[Exception] | None = None,
    ) -> None:
        self.engine = engine
        self.config: TelegramSettings = settings.telegram
        self.locks = ChatLocks()
        self.application = self._build(token)
        self.sender = Sender(
            self.application.bot,
            per_chat_interval=self.config.per_chat_interval_seconds,
            attempts=self.config.send_attempts,
            backoff=self.config.network_backoff_seconds,
            backoff_max=self.config.network_backoff_max_seconds,
        )
        self.notices = NoticePusher(
            engine, self.sender, self.locks, interval=self.config.notice_poll_seconds
        )
        self.applicants = ApplicantHandlers(engine, self.sender, self.notices.wake)
        self.staff = StaffCommands(
            engine,
            self.sender,
            self.config.staff_user_ids,
            desk=desk,
            desk_error=desk_error,
            push_notices=self.notices.wake,
        )
        self._add_handlers()
        self.ready = asyncio.Event()  # set once updates are being received

    # ---- building -----------------------------------------------------------------------

    def _build(self, token: str) -> Application[Any, Any, Any, Any, Any, Any]:
        # Opt in to 22.x's coming behaviour (durations as timedelta) instead of warnings.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        root = self.config.base_url.removesuffix("/bot")
        return (
            ApplicationBuilder()
            .token(token)
            .base_url(f"{root}/bot")
            .base_file_url(f"{root}/file/bot")
            .rate_limiter(AIORateLimiter(max_retries=self.config.send_attempts))
            .concurrent_updates(
                ChatOrderedProcessor(self.locks, self.config.max_concurrent_updates)
            )
            .job_queue(None)
            .build()
        )

    def _add_handlers(self) -> None:
        app, a, s = self.application, self.applicants, self.staff
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        groups = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
        # One group: the first handler that matches an update handles it, nothing else.
        app.add_handler(CommandHandler("queue", s.on_queue_command, filters=private))
        app.add_handler(CommandHandler("take", s.on_take_command, filters=private))
        app.add_handler(CommandHandler("done", s.on_done_command, filters=private))
        app.add_handler(MessageHandler(private & filters.TEXT, a.on_text_message))
        app.add_handler(CallbackQueryHandler(a.on_button_pressed))
        app.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, a.on_unsupported_media))
        app.add_handler(
            MessageHandler(groups & ~filters.StatusUpdate.LEFT_CHAT_MEMBER, a.on_group_message)
        )
        app.add_handler(ChatMemberHandler(a.on_added_to_group, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_error_handler(a.on_error)

    # ---- running ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then shut down cleanly (see the module docstring)."""
        app = self.application
        async with app:  # getMe: a wrong token or an unreachable server fails here
            await self._register_commands()
            await app.start()
            try:
                if self.config.webhook_url:
                    await self._start_webhook()
                else:
                    await app.updater.start_polling(  # type: ignore[union-attr]
                        timeout=self.config.poll_timeout,
                        allowed_updates=ALLOWED_UPDATES,
                        drop_pending_updates=False,
                    )
                self.notices.start()
                self.ready.set()
                log.info(
                    "Telegram bot @%s is running (%s)",
                    app.bot.username,
                    "webhook" if self.config.webhook_url else "long polling",
                )
                await stop.wait()
            finally:
                log.info("stopping: finishing the turns in flight")
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                await app.stop()  # waits for every update already received
                await self.notices.stop()

    async def _start_webhook(self) -> None:
        url = self.config.webhook_url or ""
        secret = self.config.webhook_secret_token
        if secret is None:  # the CLI refuses this earlier; this guards other callers
            raise ValueError("webhook mode needs telegram.webhook_secret_token")
        await self.application.updater.start_webhook(  # type: ignore[union-attr]
            listen=self.config.webhook_listen,
            port=self.config.webhook_port,
            url_path=urlsplit(url).path.lstrip("/"),
            webhook_url=url,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
            secret_token=secret.get_secret_value(),
        )

    async def _register_commands(self) -> None:
        bot = self.application.bot
        applicant = [self._command(name) for name in APPLICANT_COMMANDS]
        await bot.set_my_commands(applicant)
        # Staff see their commands too, in their own chat with the bot.
        staff = applicant + [self._command(name) for name in STAFF_COMMANDS]
        for user_id in self.config.staff_user_ids:
            try:
                await bot.set_my_commands(staff, scope=BotCommandScopeChat(user_id))
            except TelegramError as exc:  # e.g. that person never opened the bot
                log.info("staff commands not shown to %s: %s", user_ref(user_id), exc)

    def _command(self, name: str) -> BotCommand:
        return BotCommand(name, self.engine.text(f"telegram.commands.{name}"))
