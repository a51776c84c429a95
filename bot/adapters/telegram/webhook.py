"""Webhook mode: Telegram posts each update; the answer 200 means "got it, forget it".

So the answer comes only after the update is stored in the inbox: if storing fails the bot
answers 503 and Telegram posts the update again later. Every request must carry the secret
token set with setWebhook (compared in constant time); anything else is refused with 403.
A body that is not a JSON object is refused with 400; an update python-telegram-bot cannot
read is skipped (one warning, see `inbox`) and answered 200, so Telegram does not post it
again and again.

`GET /healthz` answers a load balancer: 200 with the inbox's and the outbox's backlog when
the database answers, 503 when it does not.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Sequence
from typing import Any

import tornado.httpserver
import tornado.web
from telegram import Bot

from bot.adapters.telegram.inbox import UpdateInbox
from bot.config import ConfigError
from bot.inputs import InputRejected, parse_json
from bot.model import TELEGRAM
from bot.storage.database import StorageError

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"  # for a load balancer: 200 when the database answers, else 503
MAX_BODY_BYTES = 1 << 20  # an update is a few KiB; Telegram caps messages at 4,096 characters
_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookServer:
    def __init__(
        self,
        bot: Bot,
        inbox: UpdateInbox,
        *,
        url: str,
        path: str,
        listen: str,
        port: int,
        secret: str,
        allowed_updates: Sequence[str],
        max_body_bytes: int = MAX_BODY_BYTES,
        max_depth: int = 32,
        register: bool = True,
    ) -> None:
        self.bot = bot
        self.max_body_bytes = max_body_bytes
        self.max_depth = max_depth
        self.inbox = inbox
        self.url = url
        self.path = "/" + path.strip("/")
        self.listen = listen
        self.port = port
        self.secret = secret
        self.allowed_updates = list(allowed_updates)
        self.registers = register  # replicas: one registers, later (`register`)
        self._server: tornado.httpserver.HTTPServer | None = None

    async def start(self) -> None:
        app = tornado.web.Application(
            [
                (HEALTH_PATH, _HealthHandler, {"server": self}),
                (self.path, _UpdateHandler, {"server": self}),
            ]
        )
        server = tornado.httpserver.HTTPServer(app, max_body_size=self.max_body_bytes)
        try:
            server.listen(self.port, address=self.listen)
        except OSError as exc:
            raise ConfigError(
                "webhook mode",
                "telegram.webhook_port",
                f"cannot listen on {self.listen}:{self.port}: {exc.strerror or exc}",
            ) from None
        self._server = server
        if self.registers:
            await self.register()

    async def register(self) -> None:
        """Tell Telegram where to post (setWebhook)."""
        await self.bot.set_webhook(
            url=self.url,
            allowed_updates=self.allowed_updates,
            secret_token=self.secret,
            drop_pending_updates=False,
        )

    async def stop(self) -> None:
        """Take no more requests (Telegram posts them again later); the webhook stays set."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stop()
        try:
            await asyncio.wait_for(server.close_all_connections(), 2)
        except TimeoutError:
            log.info("stopping: webhook connections still open were left")


class _UpdateHandler(tornado.web.RequestHandler):
    server: WebhookServer

    def initialize(self, server: WebhookServer) -> None:
        self.server = server

    async def post(self) -> None:
        token = self.request.headers.get(_SECRET_HEADER, "")
        if not hmac.compare_digest(token.encode(), self.server.secret.encode()):
            log.info("webhook request without the right secret token refused")
            return self._answer(403)
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type != "application/json":
            return self._answer(403)
        try:  # bounded in size and depth (`[limits]`), strings made valid text
            update: Any = parse_json(
                self.request.body,
                max_bytes=self.server.max_body_bytes,
                max_depth=self.server.max_depth,
            )
        except InputRejected as exc:
            log.info("webhook body refused: %s", exc.key)
            return self._answer(413 if exc.key == "error.input_too_large" else 400)
        if not isinstance(update, dict):
            return self._answer(400)
        try:
            await self.server.inbox.accept([update])
        except StorageError as exc:
            log.error("a webhook update could not be stored (%s); Telegram sends it again", exc)
            return self._answer(503)
        self._answer(200)

    def _answer(self, status: int) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(b"{}")

    def log_exception(self, *args: Any) -> None:  # tornado's default logs whole requests
        log.warning("a webhook request failed")


class _HealthHandler(tornado.web.RequestHandler):
    """`GET /healthz`: whether this process reaches its database, with the inbox's and the
    outbox's backlog (counts only: nothing about anyone). 503 when the database does not
    answer, so a load balancer sends the updates to another replica."""

    server: WebhookServer

    def initialize(self, server: WebhookServer) -> None:
        self.server = server

    async def get(self) -> None:
        engine = self.server.inbox.engine
        ports = engine.services.ports
        try:
            inbox = await ports.telegram_inbox.backlog()
            outbox = await ports.outbox.backlog(TELEGRAM, engine.now())
        except StorageError as exc:
            log.warning("health check: the database does not answer (%s)", exc)
            self.set_status(503)
            body: dict[str, str | int] = {"status": "unavailable", "database": "unreachable"}
        else:
            body = {
                "status": "ok",
                "database": ports.db.backend,
                "inbox_backlog": inbox,
                "outbox_backlog": outbox,
            }
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body).encode())

    def log_exception(self, *args: Any) -> None:
        log.warning("a health check request failed")
