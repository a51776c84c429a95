"""Builds and runs the python-telegram-bot `Application` around the engine.

`TelegramBot(engine, settings, token).run(stop)` starts the bot: it registers the commands
with `setMyCommands`, hands over the chats with notices due, queues the updates stored in
the inbox before the last stop, then takes new updates (long polling, or a webhook when
`telegram.webhook_url` is set) and pushes the outbox. Updates and sends are work of a
chat, run by the chats' scheduler (`ordering`): a chat's work in order, chats in parallel.

Replicas: in webhook mode on a PostgreSQL database, several processes may run behind a
load balancer (README, "Running on more than one machine"). Then (`shared`) the inbox in
the database is the queue: a chat's step holds the chat across processes
(`Database.try_hold`) and handles its oldest open update, whichever replica stored it
(`inbox`); messages are claimed in the database before they are sent (`notices`); one
replica at a time runs the clock-driven work; and one replica registers the webhook and
the command menu, recording what it registered, so that the others (and restarts with
the same settings) skip it.

On `stop` it shuts down within `shutdown_grace_seconds` plus a moment, whatever Telegram
does: it stops taking updates, gives the work in flight the grace period, then cuts it.
What is not done stays in the inbox and the outbox for the next start. The caller owns the
engine's database and closes it afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from typing import Any, Protocol
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
from bot.adapters.telegram.inbox import QueuingSender, UpdateInbox
from bot.adapters.telegram.live import COMMANDS as LIVE_COMMANDS
from bot.adapters.telegram.live import LiveChatCommands
from bot.adapters.telegram.notices import Deliverer, NoticePusher
from bot.adapters.telegram.ordering import ChatScheduler, Next
from bot.adapters.telegram.polling import Poller
from bot.adapters.telegram.sender import RecordingRequest
from bot.adapters.telegram.staff import COMMANDS as STAFF_COMMANDS
from bot.adapters.telegram.staff import Desk, StaffCommands
from bot.adapters.telegram.webhook import WebhookServer
from bot.config import Settings, TelegramSettings
from bot.engine.engine import Engine
from bot.model import TELEGRAM, ConversationKey
from bot.storage.database import StorageError
from bot.storage.sending import SendingJournal

log = logging.getLogger(__name__)

# The commands in Telegram's menu, in that order; all but the staff ones are the engine's.
APPLICANT_COMMANDS = (
    *("start", "menu", "status", "mine", "help", "cancel", "agent", "language"),
    *("watch", "cases", "unwatch", "alerts"),  # the watch list (flows/watch_list.py)
)
# Edited messages are not even asked for; the handlers ignore them too.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
REGISTRATION = "telegram-registration"  # replicas: one registers at a time


class _Intake(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


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
        self.limits = settings.limits
        db = engine.services.ports.db
        # Replicas behind a load balancer: webhook processes on one server database.
        self.shared = db.backend == "postgresql" and self.config.webhook_url is not None
        self.application = self._build(token)
        self.sender = QueuingSender(
            self.application.bot, engine, per_chat_interval=self.config.per_chat_interval_seconds
        )
        self.deliverer = Deliverer(
            engine,
            self.sender,
            SendingJournal.beside(db.path),
            backoff=self.config.network_backoff_seconds,
            backoff_max=self.config.network_backoff_max_seconds,
            claims=self.shared,
        )
        self.chats = ChatScheduler(
            self._shared_step if self.shared else self._step,
            workers=self.config.max_concurrent_updates,
        )
        self._to_deliver: set[int] = set()  # chats with messages (maybe) due
        self._not_before: dict[int, float] = {}  # chats backing off or paced: until when
        self.inbox = UpdateInbox(
            engine,
            self.application,
            self.chats.poke,
            max_waiting=self.config.max_pending_updates,
            shared=self.shared,
            settle=self.config.replica_settle_seconds,
            sweep_every=self.config.replica_sweep_seconds,
        )
        self.notices = NoticePusher(
            engine,
            self.deliver_to,
            interval=self.config.notice_poll_seconds,
            shared=self.shared,
        )
        self.applicants = ApplicantHandlers(
            engine, self.sender, self.notices.wake, receipt=self.sender.receipt
        )
        self.staff = StaffCommands(
            engine,
            self.sender,
            self.config.staff_user_ids,
            desk=desk,
            desk_error=desk_error,
            push_notices=self.notices.wake,
        )
        self.live = LiveChatCommands(
            engine,
            self.sender,
            self.config.staff_user_ids,
            self.applicants,
            push_notices=self.notices.wake,
        )
        self._add_handlers()
        self.intake: _Intake | None = None
        self.ready = asyncio.Event()  # set once updates are being received

    # ---- building -----------------------------------------------------------------------

    def _build(self, token: str) -> Application[Any, Any, Any, Any, Any, Any]:
        # Opt in to 22.x's coming behaviour (durations as timedelta) instead of warnings.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        self.request = RecordingRequest(
            connection_pool_size=256, read_timeout=self.config.read_timeout_seconds
        )
        if not self.request.at_socket:
            log.warning(
                "a proxy is set: a message is recorded as sent when its request starts, "
                "so a crash may leave one unsent that is not sent again"
            )
        root = self.config.base_url.removesuffix("/bot")
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(token)
            .base_url(f"{root}/bot")
            .base_file_url(f"{root}/file/bot")
            .request(self.request)
            .updater(None)  # `Poller` or `WebhookServer` take the updates in
            .job_queue(None)
        )
        if self.config.rate_limiter:
            builder = builder.rate_limiter(AIORateLimiter(max_retries=self.config.send_attempts))
        return builder.build()

    def _add_handlers(self) -> None:
        app, a, s = self.application, self.applicants, self.staff
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        groups = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
        # One group: the first handler that matches an update handles it, nothing else.
        app.add_handler(CommandHandler("queue", s.on_queue_command, filters=private))
        app.add_handler(CommandHandler("take", s.on_take_command, filters=private))
        app.add_handler(CommandHandler("done", s.on_done_command, filters=private))
        app.add_handler(CommandHandler("show", s.on_show_command, filters=private))
        app.add_handler(CommandHandler("release", s.on_release_command, filters=private))
        app.add_handler(CommandHandler("handover", s.on_handover_command, filters=private))
        live = self.live
        for name in LIVE_COMMANDS:
            app.add_handler(
                CommandHandler(name, getattr(live, f"on_{name}_command"), filters=private)
            )
        if self.config.staff_user_ids:
            # An operator's text goes to the applicant of their live chat (or, with none, to
            # their own conversation with the assistant).
            staff = filters.User(user_id=self.config.staff_user_ids)
            app.add_handler(
                MessageHandler(
                    private & filters.TEXT & ~filters.COMMAND & staff, live.on_staff_text
                )
            )
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
        """Run until `stop` is set, then shut down (see the module docstring)."""
        app = self.application
        db = self.engine.services.ports.db
        async with app:  # getMe: a wrong token or an unreachable server fails here
            if not self.shared:
                await self._register_commands()
            await self.deliverer.recover()  # what was being sent when the last run ended
            await self.notices.run_once()  # the chats with something due
            # Updates another replica stores wake this one at once.
            stop_hearing = await db.on_inbox(self.inbox.heard) if self.shared else None
            await self.inbox.recover()  # the updates stored before the last stop, first
            self.chats.start()
            try:
                self.intake = self._intake()
                await self.intake.start()
                if self.shared:
                    await self._register_once()
                    self.inbox.start_sweeping()
                self.notices.start()
                # Notices another process queues (a staff command) wake the pusher at once
                # where the database can say so (PostgreSQL); else its next round finds them.
                stop_listening = await db.on_outbox(self.notices.wake)
                self.ready.set()
                log.info(
                    "Telegram bot @%s is running (%s)",
                    app.bot.username,
                    "webhook" if self.config.webhook_url else "long polling",
                )
                try:
                    await stop.wait()
                finally:
                    await stop_listening()
            finally:
                await self.inbox.stop_sweeping()
                if stop_hearing is not None:
                    await stop_hearing()
                await self._shut_down()

    async def _shut_down(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.shutdown_grace_seconds
        log.info("stopping: no more updates; finishing the work in flight")
        if self.intake is not None:
            await self.intake.stop()
        await self.notices.stop(deadline - loop.time())
        await self.chats.stop(deadline - loop.time())
        await self.deliverer.close()
        if self.inbox.waiting_count:
            log.info("stopping: %d update(s) kept for the next start", self.inbox.waiting_count)

    def _intake(self) -> _Intake:
        if not self.config.webhook_url:
            return Poller(
                self.application.bot,
                self.inbox,
                timeout=self.config.poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
                backoff=self.config.network_backoff_seconds,
                backoff_max=self.config.network_backoff_max_seconds,
            )
        secret = self.config.webhook_secret_token
        if secret is None:  # the CLI refuses this earlier; this guards other callers
            raise ValueError("webhook mode needs telegram.webhook_secret_token")
        url = self.config.webhook_url
        return WebhookServer(
            self.application.bot,
            self.inbox,
            url=url,
            path=urlsplit(url).path,
            listen=self.config.webhook_listen,
            port=self.config.webhook_port,
            secret=secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
            max_body_bytes=self.limits.webhook_body_bytes,
            max_depth=self.limits.json_depth,
            register=not self.shared,  # replicas: `_register_once`
        )

    # ---- the work of a chat -------------------------------------------------------------

    def deliver_to(self, chat: int) -> None:
        """`chat` has messages due: send them at its next step."""
        self._to_deliver.add(chat)
        self.chats.poke(chat)

    async def _step(self, chat: int) -> Next:
        """One step of a chat: handle its next update, if any, then send what is due for
        it, unless it is backing off after a failure or waiting for its pacing slot. A
        chat that cannot be sent to still has its updates handled: their replies wait in
        the outbox, in order, and no update waits in memory for a send."""
        loop = asyncio.get_running_loop()
        if self.inbox.waiting(chat):
            self._replied(chat, await self.inbox.handle_next(chat))
        not_before = await self._send_due(chat, loop.time())
        if self.inbox.waiting(chat):
            return True
        if chat in self._to_deliver:
            return not_before
        return False

    def _replied(self, chat: int, chats: set[int]) -> None:
        """An update of `chat` was handled: its replies, and those it queued for `chats`
        (an officer's note to an applicant), are to be sent."""
        for other in chats:
            if other != chat:
                self.deliver_to(other)
        self._to_deliver.add(chat)

    async def _send_due(self, chat: int, now: float) -> float:
        """Send what is due for `chat` unless it backs off after a failure or waits for its
        pacing slot; returns the loop time before which it is not sent to again."""
        not_before = self._not_before.get(chat, 0.0)
        if chat in self._to_deliver and now >= not_before:
            later = await self.deliverer.deliver(chat)
            if later is None:
                self._to_deliver.discard(chat)
                self._not_before.pop(chat, None)
            else:
                self._not_before[chat] = not_before = later
        return not_before

    async def _shared_step(self, chat: int) -> Next:
        """`_step` among replicas: under the chat's lock across processes, handle its
        oldest open update (stored by any replica), then send what is due for it. A chat
        another replica holds now is left to it: that replica hears of every update stored
        (and every notice queued) as this one does, and goes on until the chat has none;
        should it die first, the sweep finds what it left."""
        loop = asyncio.get_running_loop()
        key = ConversationKey.of(TELEGRAM, chat)
        settles: float | None = None
        try:
            # The process's lock first, then the database's, as every turn takes them: a
            # reminder's turn of this chat started here meanwhile waits for this step.
            async with (
                self.engine.holding(key),
                self.engine.services.ports.db.try_hold(key) as mine,
            ):
                if not mine:
                    self.inbox.leave(chat)
                    return False
                if self.inbox.waiting(chat):
                    outcome = await self.inbox.handle_shared(chat)
                    if isinstance(outcome, float):
                        settles = outcome
                    else:
                        self._replied(chat, outcome)
                not_before = await self._send_due(chat, loop.time())
        except StorageError as exc:
            log.warning("a chat's step could not reach the database (%s); it rests", exc)
            return loop.time() + 1.0
        if self.inbox.waiting(chat):
            if settles is None:
                return True
            return min(settles, not_before) if chat in self._to_deliver else settles
        if chat in self._to_deliver:
            return not_before
        return False

    async def _register_once(self) -> None:
        """Replicas: register the webhook and the command menu unless another replica is
        doing it now or one already registered exactly this (a stored fingerprint)."""
        assert isinstance(self.intake, WebhookServer)
        ports = self.engine.services.ports
        name = f"{REGISTRATION}:{self.application.bot.id}"
        async with ports.db.exclusive(REGISTRATION) as mine:
            if not mine:
                log.info("another replica is registering the webhook and commands; skipped")
                return
            fingerprint = self._fingerprint()
            if await ports.telegram_inbox.registered(name) == fingerprint:
                log.info("the webhook and commands are registered already; skipped")
                return
            await self._register_commands()
            await self.intake.register()
            now = self.engine.now()
            await ports.db.commit([ports.telegram_inbox.register(name, fingerprint, now)])
            log.info("webhook and commands registered for the replicas")

    def _fingerprint(self) -> str:
        """What `_register_commands` and setWebhook would register, hashed (the secret
        token included, so a new one is registered again)."""
        messages = self.engine.services.messages
        secret = self.config.webhook_secret_token
        what = {
            "url": self.config.webhook_url,
            "allowed_updates": ALLOWED_UPDATES,
            "secret": secret.get_secret_value() if secret is not None else None,
            "staff": sorted(self.config.staff_user_ids),
            "commands": {
                code: [
                    messages.in_language(code).text(f"telegram.commands.{n}")
                    for n in (*APPLICANT_COMMANDS, *LIVE_COMMANDS, *STAFF_COMMANDS)
                ]
                for code in messages.languages
            },
        }
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()

    async def _register_commands(self) -> None:
        bot = self.application.bot
        applicant = [self._command(name) for name in APPLICANT_COMMANDS]
        await bot.set_my_commands(applicant)
        # Each other language's descriptions, for users whose language_code is that one.
        messages = self.engine.services.messages
        for code in messages.languages:
            if code != messages.language:
                own = messages.in_language(code)
                await bot.set_my_commands(
                    [BotCommand(n, own.text(f"telegram.commands.{n}")) for n in APPLICANT_COMMANDS],
                    language_code=code,
                )
        # Staff see their commands too, in their own chat with the bot.
        staff = applicant + [self._command(name) for name in (*LIVE_COMMANDS, *STAFF_COMMANDS)]
        for user_id in self.config.staff_user_ids:
            try:
                await bot.set_my_commands(staff, scope=BotCommandScopeChat(user_id))
            except TelegramError as exc:  # e.g. that person never opened the bot
                log.info("staff commands not shown to %s: %s", user_ref(user_id), exc)

    def _command(self, name: str) -> BotCommand:
        return BotCommand(name, self.engine.text(f"telegram.commands.{name}"))
