"""`tierline trainer`: the trainer's classroom, a local web page with the conversation on one
side and the machine on the other.

The page (bot/trainer/static: hand-written HTML, CSS and JavaScript, nothing fetched from
elsewhere) reads `GET /api/view` and sends what the trainer does as `POST /api/act` and
`POST /api/save`, JSON both ways. It is bound to 127.0.0.1 by default (`[trainer]` in
config/settings.toml, `TIERLINE_TRAINER__*`, `--host`, `--port`) and works on its own
database file (`trainer.db_path`, `--db`), which Back and Restart rebuild.

A request that did not come from the page is refused with 400 and a clear reason: each POST
must carry the page's token (drawn at start, in the page itself), be JSON, and, on a
loopback address, name this server as its Host (a web page elsewhere cannot drive it).
A move that cannot be played is refused with 400 too, and changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

STATIC = Path(__file__).with_name("static")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_BODY = 64 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bot.runtime import parse_now

    parser.add_argument("--host", metavar="ADDRESS", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, metavar="PORT", help="port (default 8765; 0 picks a free one)"
    )
    parser.add_argument(
        "--db", type=Path, metavar="PATH", help="the trainer's own database file (rebuilt)"
    )
    parser.add_argument(
        "--now",
        type=parse_now,
        metavar="ISO-DATETIME",
        help="where the session's clock starts (default: now)",
    )
    parser.add_argument(
        "--save-dir",
        type=Path,
        default=Path("recordings"),
        metavar="DIR",
        help="where recorded sessions are saved (default: ./recordings)",
    )
    parser.add_argument(
        "--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level on stderr"
    )


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets

    from bot.runtime import settings_from
    from bot.trainer.classroom import Classroom

    settings = settings_from(args)
    trainer = settings.trainer
    host = args.host or trainer.host
    port = trainer.port if args.port is None else args.port
    if not 0 <= port <= 65535:
        print(f"tierline: error: --port {port} is not a port (0-65535)", file=sys.stderr)
        return 2
    db_path = args.db or trainer.db_path
    start = args.now or datetime.now(settings.tz)
    room = Classroom(settings, db_path, start)
    await room.open()
    try:
        app = make_app(room, save_dir=args.save_dir, host=host)
        try:
            sockets = bind_sockets(port, address=host)
        except OSError as exc:
            print(
                f"tierline: error: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr
            )
            return 2
        server = HTTPServer(app, max_body_size=MAX_BODY)
        server.add_sockets(sockets)
        bound = sockets[0].getsockname()[1]
        app.settings["port"] = bound
        shown = f"[{host}]" if ":" in host else host
        print(f"The trainer's classroom: http://{shown}:{bound}/  (Ctrl-C to stop)", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            server.stop()
    finally:
        await room.close()
    return 0


def make_app(
    room: Any, *, save_dir: Path, token: str | None = None, host: str = "127.0.0.1"
) -> Any:
    """The tornado application over a `Classroom`."""
    import tornado.web

    class Base(tornado.web.RequestHandler):
        def set_default_headers(self) -> None:
            self.set_header("Cache-Control", "no-store")
            self.set_header("X-Content-Type-Options", "nosniff")
            self.set_header("X-Frame-Options", "DENY")
            self.set_header(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
            )

        def refuse(self, status: int, reason: str) -> None:
            self.set_status(status)
            self.write({"error": reason})

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            # Never a traceback: one line saying what went wrong.
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"error": self._reason or "request failed"}))

        def forged(self) -> str | None:
            """Why this POST did not come from the page, or None."""
            if self.request.headers.get("X-Tierline-Token") != self.application.settings["token"]:
                return "missing or wrong X-Tierline-Token: use the trainer's page"
            ctype = self.request.headers.get("Content-Type", "").split(";")[0].strip()
            if ctype != "application/json":
                return "the body must be JSON (Content-Type: application/json)"
            return self.foreign()

        def foreign(self) -> str | None:
            """Why this request is not for this local server (a page elsewhere, a
            rebound host name), or None."""
            bound_host = self.application.settings.get("host", "127.0.0.1")
            if bound_host in LOOPBACK:
                host = self.request.host.rsplit(":", 1)[0].strip("[]")
                if host not in LOOPBACK:
                    return f"Host {self.request.host!r} is not this local server"
                origin = self.request.headers.get("Origin")
                if origin is not None and origin != "null":
                    m = re.match(r"^https?://\[?([^\]/]+?)\]?(:\d+)?$", origin)
                    if m is None or m.group(1) not in LOOPBACK:
                        return f"Origin {origin!r} is not this local server"
            return None

        def body(self) -> dict[str, Any] | None:
            problem = self.forged()
            if problem is not None:
                self.refuse(400, problem)
                return None
            try:
                data = json.loads(self.request.body or b"null")
            except (ValueError, UnicodeDecodeError):
                self.refuse(400, "the body is not valid JSON")
                return None
            if not isinstance(data, dict):
                self.refuse(400, "the body must be a JSON object")
                return None
            return data

    class Page(Base):
        def get(self) -> None:
            html = (STATIC / "index.html").read_text(encoding="utf-8")
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.write(html.replace("{{token}}", self.application.settings["token"]))

    class View(Base):
        async def get(self) -> None:
            problem = self.foreign()
            if problem is not None:
                self.refuse(400, problem)
                return
            self.write(await room.view())

    class Act(Base):
        async def post(self) -> None:
            from bot.trainer.classroom import MoveRefused

            data = self.body()
            if data is None:
                return
            try:
                await room.act(data)
            except MoveRefused as exc:
                self.refuse(400, str(exc))
                return
            self.write(await room.view())

    class Save(Base):
        async def post(self) -> None:
            from bot.trainer.classroom import MoveRefused, record_session

            data = self.body()
            if data is None:
                return
            name = data.get("name") or "recorded in the classroom"
            keep = data.get("keep", False)
            if not isinstance(name, str) or len(name) > 120 or not name.strip():
                self.refuse(400, "`name` must be a short text")
                return
            if not isinstance(keep, bool):
                self.refuse(400, "`keep` must be true or false")
                return
            try:
                recorded = await record_session(room, name.strip(), keep=keep)
            except MoveRefused as exc:
                self.refuse(400, str(exc))
                return
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "session"
            path = save_dir / f"{slug}.yaml"
            await asyncio.to_thread(_write, path, recorded.yaml_text)
            self.write(
                {
                    "file": str(path),
                    "yaml": recorded.yaml_text,
                    "warnings": recorded.warnings,
                    "passed": recorded.passed,
                }
            )

    class NotFound(Base):
        def prepare(self) -> None:
            self.refuse(404, f"no such page: {self.request.path}")
            self.finish()

    return tornado.web.Application(
        [
            (r"/", Page),
            (r"/api/view", View),
            (r"/api/act", Act),
            (r"/api/save", Save),
            (
                r"/static/(trainer\.js|trainer\.css)",
                tornado.web.StaticFileHandler,
                {"path": STATIC},
            ),
        ],
        default_handler_class=NotFound,
        token=token or secrets.token_urlsafe(24),
        host=host,
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
