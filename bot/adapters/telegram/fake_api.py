"""A fake Telegram Bot API server, served over real HTTP on 127.0.0.1: for the tests, and
for `tierline scenarios run --via telegram` (bot/adapters/telegram/replay.py), which
replays scenarios through the real Telegram adapter without reaching Telegram.

It speaks the Bot API wire format (`POST /bot<token>/<method>`, form-encoded or JSON
parameters, `{"ok": true, "result": ...}` answers) for the methods the bot uses: getMe,
getUpdates (offsets and long-poll timeout), sendMessage, editMessageText,
editMessageReplyMarkup, answerCallbackQuery, setMyCommands, deleteWebhook, setWebhook and
getWebhookInfo. Tests play the users (`user_sends`, `user_presses`, ...), read what the
bot sent (`messages`, `calls`), and inject faults (`fail`, or `outage` for a while): a 429
with `retry_after`, a 500, a slow answer, a dropped connection, a request that hangs and
is never carried out, and a message delivered whose answer is lost (dropped or late).
`queue_raw` queues any update, also one python-telegram-bot cannot read.

The server runs its own event loop in a thread, so the bot under test can run in the
test's event loop or in another process. Every public method is thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs

T = TypeVar("T")


class LoopbackServer:
    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    def _on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the server's loop and wait for it (5 s at most)."""
        if not self._thread.is_alive():
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(5)

    def _end_loop(self, close: Coroutine[Any, Any, None]) -> None:
        """Run `close` on the server's loop, then stop the loop and its thread."""
        self._on_loop(close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


TOKEN = "123456:TEST-token_for-the-fake"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Tierline Test",
    "username": "tierline_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
# Parameters sent JSON-encoded inside form fields.
_JSON_FIELDS = {"reply_markup", "commands", "scope", "allowed_updates"}
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout"}


@dataclass
class Fault:
    """One injected failure of `method` (optionally only for `chat_id`)."""

    method: str
    # "429", "500", "403": that answer; "slow": carried out after `delay`; "drop": the
    # connection dropped before it is carried out; "hang": no answer for `delay`, then a
    # 502, never carried out; "deliver_drop" / "deliver_slow": carried out, then the
    # connection is dropped / the answer comes after `delay` (the caller may time out).
    kind: str
    retry_after: float = 1
    delay: float = 0
    chat_id: int | None = None
    until: float | None = None  # an outage: every matching call fails until then


@dataclass
class Sent:
    """A message the bot has in a chat, as the fake knows it now."""

    message_id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    at: float

    @property
    def buttons(self) -> list[tuple[str, str]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b["callback_data"]) for row in rows for b in row]


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 0  # 0 until answered
    fault: str | None = None


@dataclass
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    sent: dict[int, Sent] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    confirmed_offset: int = 0


class FakeBotApi(LoopbackServer):
    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self._lock = threading.Lock()
        self._state = _State()
        self._ids = itertools.count(1)  # update ids
        # The language_code Telegram sends with each user's updates ("en" unless set).
        self.language_codes: dict[int, str] = {}
        self._message_ids = itertools.count(1000)
        self._server: asyncio.AbstractServer | None = None
        # Called (in the server's thread) with a getUpdates offset that confirms updates.
        self.on_confirm: Callable[[int], None] | None = None
        # Set (on the server's loop) when an update is queued: a long poll answers at once,
        # as Telegram's does.
        self._arrived = asyncio.Event()

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeBotApi:
        self._server = self._on_loop(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:  # let them end, rather than be destroyed pending with the loop
                await asyncio.wait(tasks, timeout=1)

        self._end_loop(close())

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- playing the users --------------------------------------------------------------

    def user_sends(
        self, user_id: int, text: str, *, chat_id: int | None = None, chat_type: str = "private"
    ) -> dict[str, Any]:
        message = self.make_message(user_id, chat_id=chat_id, chat_type=chat_type, text=text)
        return self._queue({"message": message})

    def user_sends_photo(self, user_id: int) -> dict[str, Any]:
        photo = [{"file_id": "AgAD-photo", "file_unique_id": "p1", "width": 90, "height": 90}]
        return self._queue({"message": self.make_message(user_id, photo=photo)})

    def user_sends_sticker(self, user_id: int) -> dict[str, Any]:
        sticker = {
            "file_id": "CAAD-sticker",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._queue({"message": self.make_message(user_id, sticker=sticker)})

    def user_edits(self, user_id: int, message_id: int, text: str) -> dict[str, Any]:
        message = self.make_message(user_id, text=text)
        message["message_id"] = message_id
        message["edit_date"] = int(time.time())
        return self._queue({"edited_message": message})

    def user_presses(self, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        return self._queue(self._press(user_id, message_id, data))

    def make_press(self, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        """A button press with a fresh id that is not queued (for posting to a webhook)."""
        return self.make_update(**self._press(user_id, message_id, data))

    def _press(self, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        with self._lock:
            sent = self._state.sent[message_id]
            message = {
                "message_id": sent.message_id,
                "date": int(time.time()),
                "text": sent.text,
                "chat": _private_chat(sent.chat_id),
                "from": BOT_USER,
            }
            if sent.reply_markup:
                message["reply_markup"] = sent.reply_markup
        query = {
            "id": f"cq{next(self._ids)}",
            "from": _user(user_id, self.language_codes.get(user_id, "en")),
            "message": message,
            "chat_instance": f"ci{user_id}",
            "data": data,
        }
        return {"callback_query": query}

    def make_message(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        **content: Any,
    ) -> dict[str, Any]:
        chat = (
            _private_chat(user_id)
            if chat_type == "private"
            else {"id": chat_id, "type": chat_type, "title": "A group"}
        )
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": _user(user_id, self.language_codes.get(user_id, "en")),
            **content,
        }
        text = content.get("text", "")
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return message

    def queue_update(self, update: dict[str, Any]) -> None:
        """Queue `update` as it is, id included (Telegram sending one again)."""
        with self._lock:
            self._state.updates.append(update)
            self._state.updates.sort(key=lambda u: u["update_id"])
        self._loop.call_soon_threadsafe(self._arrived.set)

    def queue_raw(self, **content: Any) -> dict[str, Any]:
        """Queue an update with a fresh id and exactly this content."""
        return self._queue(content)

    def user_sends_malformed(self, user_id: int) -> dict[str, Any]:
        """A message python-telegram-bot cannot read (its chat is not an object), from a
        user whose name is in it."""
        message = self.make_message(user_id, text="hello")
        message["chat"] = "not a chat"
        message["from"]["first_name"] = "Zebulon"
        message["from"]["last_name"] = "Quixote-Marsh"
        return self._queue({"message": message})

    def make_update(self, **content: Any) -> dict[str, Any]:
        """An update with a fresh id that is not queued (for posting to a webhook)."""
        return {"update_id": next(self._ids), **content}

    def _queue(self, content: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            update = {"update_id": next(self._ids), **content}
            self._state.updates.append(update)
        self._loop.call_soon_threadsafe(self._arrived.set)
        return update

    # ---- faults -------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        kind: str,
        *,
        times: int = 1,
        retry_after: float = 1,
        delay: float = 0,
        chat_id: int | None = None,
    ) -> None:
        with self._lock:
            self._state.faults.extend(
                Fault(method, kind, retry_after, delay, chat_id) for _ in range(times)
            )

    def outage(
        self,
        kind: str,
        *,
        seconds: float,
        method: str = "sendMessage",
        chat_id: int | None = None,
        delay: float = 0,
    ) -> None:
        """Every `method` call (to `chat_id`, or any) fails with `kind` for `seconds`."""
        with self._lock:
            until = time.monotonic() + seconds
            self._state.faults.append(Fault(method, kind, 1, delay, chat_id, until))

    def end_outages(self) -> None:
        with self._lock:
            self._state.faults = [f for f in self._state.faults if f.until is None]

    # ---- what the bot did ---------------------------------------------------------------

    def messages(self, chat_id: int | None = None) -> list[Sent]:
        """Messages Telegram accepted, in the order it accepted them."""
        with self._lock:
            return [m for m in self._state.sent.values() if chat_id is None or m.chat_id == chat_id]

    def texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.messages(chat_id)]

    def commands(self, language_code: str = "", scope: str = "default") -> dict[str, str]:
        """The command menu last registered (setMyCommands) for `language_code` ("" for
        every language without its own) and scope type: command -> description."""
        found: dict[str, str] = {}
        for call in self.calls("setMyCommands"):
            p = call.params
            kind = (p.get("scope") or {}).get("type", "default")
            if p.get("language_code", "") == language_code and kind == scope:
                found = {c["command"]: c["description"] for c in p["commands"]}
        return found

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._state.calls if method is None or c.method == method]

    @property
    def confirmed_offset(self) -> int:
        with self._lock:
            return self._state.confirmed_offset

    @property
    def webhook(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state.webhook)

    # ---- HTTP ---------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                path, headers, body = request
                status, payload = await self._dispatch(path, headers, body)
                if status < 0:  # a dropped connection
                    writer.transport.abort()
                    return
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _dispatch(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        prefix = f"/bot{self.token}/"
        if not path.startswith("/bot"):
            return 404, _error(404, "Not Found")
        if not path.startswith(prefix):
            return 401, _error(401, "Unauthorized")
        method = path[len(prefix) :]
        params = _parse_params(headers.get("content-type", ""), body)
        call = Call(method, params, time.monotonic())
        with self._lock:
            self._state.calls.append(call)
            fault = self._take_fault(method, params)
        after: str | None = None
        if fault is not None:
            call.fault = fault.kind
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "drop":
                return -1, {}
            elif fault.kind == "hang":
                await asyncio.sleep(fault.delay)
                call.status = 502
                return 502, _error(502, "Bad Gateway")
            elif fault.kind in ("deliver_drop", "deliver_slow"):
                after = fault.kind
            else:
                call.status = int(fault.kind)
                return call.status, _fault_payload(fault)
        status, payload = await self._carry_out(call, method, params)
        if after == "deliver_drop":
            return -1, {}
        if after == "deliver_slow" and fault is not None:
            await asyncio.sleep(fault.delay)
        return status, payload

    async def _carry_out(
        self, call: Call, method: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        handler: Callable[[dict[str, Any]], Any] | None = getattr(self, f"_m_{method}", None)
        if handler is None:
            call.status = 404
            return 404, _error(404, "Not Found: method not found")
        try:
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except _ApiError as exc:
            call.status = exc.code
            return exc.code, _error(exc.code, exc.description)
        call.status = 200
        return 200, {"ok": True, "result": result}

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        now = time.monotonic()
        self._state.faults = [f for f in self._state.faults if f.until is None or f.until > now]
        for i, fault in enumerate(self._state.faults):
            if fault.method == method and fault.chat_id in (None, params.get("chat_id")):
                return fault if fault.until is not None else self._state.faults.pop(i)
        return None

    # ---- the methods --------------------------------------------------------------------

    def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            # Cleared before looking: an update queued after the look sets it again.
            self._arrived.clear()
            with self._lock:
                if offset > self._state.confirmed_offset and self.on_confirm is not None:
                    self.on_confirm(offset)  # before the updates below it are forgotten
                if offset:  # confirms every update below the offset
                    self._state.confirmed_offset = max(self._state.confirmed_offset, offset)
                    self._state.updates = [
                        u for u in self._state.updates if u["update_id"] >= offset
                    ]
                pending = self._state.updates[:limit]
            left = deadline - time.monotonic()
            if pending or left <= 0:
                return pending
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(left, 0.5))

    def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, text = params.get("chat_id"), params.get("text")
        if not isinstance(chat_id, int) or not text:
            raise _ApiError(400, "Bad Request: chat_id and text are required")
        with self._lock:
            sent = Sent(
                next(self._message_ids),
                chat_id,
                str(text),
                params.get("reply_markup"),
                time.monotonic(),
            )
            self._state.sent[sent.message_id] = sent
        return _message_json(sent)

    def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            sent = self._find(params)
            markup = params.get("reply_markup")
            if (markup or None) == (sent.reply_markup or None):
                raise _ApiError(400, "Bad Request: message is not modified")
            sent.reply_markup = markup or None
            return _message_json(sent)

    def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            sent = self._find(params)
            sent.text = str(params.get("text"))
            sent.reply_markup = params.get("reply_markup") or None
            return _message_json(sent)

    def _find(self, params: dict[str, Any]) -> Sent:
        sent = self._state.sent.get(params.get("message_id"))  # type: ignore[arg-type]
        if sent is None or sent.chat_id != params.get("chat_id"):
            raise _ApiError(400, "Bad Request: message to edit not found")
        return sent

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise _ApiError(400, "Bad Request: query id is required")
        return True

    def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        # Recorded as a call; `commands()` reads them back per scope and language_code.
        return True

    def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self._state.webhook = {}
        return True

    def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self._state.webhook = dict(params)
        return True

    def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            url = self._state.webhook.get("url", "")
        return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}


class _ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        self.code, self.description = code, description


def _user(user_id: int, language_code: str = "en") -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": f"User{user_id}",
        "language_code": language_code,
    }


def _private_chat(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "type": "private", "first_name": f"User{user_id}"}


def _message_json(sent: Sent) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": sent.message_id,
        "date": int(time.time()),
        "chat": _private_chat(sent.chat_id)
        if sent.chat_id > 0
        else {"id": sent.chat_id, "type": "group", "title": "A group"},
        "from": BOT_USER,
        "text": sent.text,
    }
    if sent.reply_markup:
        message["reply_markup"] = sent.reply_markup
    return message


def _error(code: int, description: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description, **extra}


def _fault_payload(fault: Fault) -> dict[str, Any]:
    if fault.kind == "429":
        return _error(
            429,
            f"Too Many Requests: retry after {fault.retry_after}",
            parameters={"retry_after": fault.retry_after},
        )
    if fault.kind == "403":
        return _error(403, "Forbidden: bot was blocked by the user")
    return _error(int(fault.kind), "Internal Server Error")


def _parse_params(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return dict(json.loads(body))
    params: dict[str, Any] = {}
    for name, values in parse_qs(body.decode(), keep_blank_values=True).items():
        value: Any = values[-1]
        if name in _JSON_FIELDS:
            value = json.loads(value) if value else None
        elif name in _INT_FIELDS:
            with contextlib.suppress(ValueError):
                value = int(value)
        params[name] = value
    return params


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, dict[str, str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    _method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    body = await reader.readexactly(length) if length else b""
    return path, headers, body


async def wait_until(
    predicate: Callable[[], Any], *, within: float = 10, what: str = "the condition"
) -> Any:
    """Poll `predicate` until it is truthy (without blocking the event loop)."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.02)
