"""A fake USCIS Case Status API for tests, served by tornado over real HTTP on 127.0.0.1.

It speaks the documented wire format: `POST /oauth/accesstoken` (form
`grant_type=client_credentials`, `client_id`, `client_secret`) answers `access_token`,
`token_type` and `expires_in` as a string; `GET /case-status/{receipt}` with a bearer token
answers `{"case_status": {...}, "message": ...}` or `{"errors": [{"code", "message"}]}`.
Seeded with the sandbox's staging receipts (with and without history) and an online-filed
IOE receipt with a leading zero and no dates. Tests inject 401, 404, 422, 429, 503, slow
answers, a closed sandbox, revoked tokens, and change a case's status or modified date.

The server runs its own event loop in a thread, so the bot under test can run in the
test's loop or in another process.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from tests.loopback import LoopbackServer

CLIENT_ID = "tierline-test-client"
CLIENT_SECRET = "s3cret-never-logged"
_RECEIPT = re.compile(r"^[A-Z]{3}[0-9]{10}$")


def _case(
    receipt: str,
    form: str,
    title: str,
    desc: str,
    *,
    title_es: str = "",
    desc_es: str = "",
    submitted: str | None = "09-14-2023 08:12:45",
    modified: str | None = "03-02-2026 14:31:05",
    history: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    case: dict[str, Any] = {
        "receiptNumber": receipt,
        "formType": form,
        "current_case_status_text_en": title,
        "current_case_status_desc_en": desc,
        "current_case_status_text_es": title_es,
        "current_case_status_desc_es": desc_es,
        "hist_case_status": history,
    }
    if submitted is not None:
        case["submittedDate"] = submitted
    if modified is not None:
        case["modifiedDate"] = modified
    return case


def staging_cases() -> dict[str, dict[str, Any]]:
    """The sandbox's staging receipts, as its documentation lists them."""
    return {
        "EAC9999103403": _case(
            "EAC9999103403",
            "I-130",
            "Case Was Received",
            "<p>On September 14, 2023, we received your Form I-130, Petition for Alien"
            " Relative, and sent you a receipt notice. Please follow the instructions in"
            " the notice.&nbsp;If you move, go to <a href='https://www.uscis.gov/addresschange'>"
            "www.uscis.gov/addresschange</a> to give us your new mailing address.</p>",
            title_es="Caso Fue Recibido",
            desc_es="<p>El 14 de septiembre de 2023, recibimos su Formulario I-130 y le"
            " enviamos un aviso de recibo.</p>",
            history=[
                {
                    "date": "2023-09-14",
                    "completed_text_en": "Case Was Received",
                    "completed_text_es": "Caso Fue Recibido",
                },
                {
                    "date": "2023-09-20",
                    "completed_text_en": "Fingerprint Fee Was Received",
                    "completed_text_es": "Se Recibió El Pago De La Toma De Huellas",
                },
                {
                    "date": "2024-01-08",
                    "completed_text_en": "Case Is Being Actively Reviewed By USCIS",
                    "completed_text_es": "El Caso Está Siendo Revisado Activamente Por USCIS",
                },
            ],
        ),
        "LIN9999106498": _case(
            "LIN9999106498",
            "I-765",
            "Card Was Mailed To Me",
            "On February 3, 2026, we mailed your new card for your Form I-765 &amp; "
            "Application for Employment Authorization.",
            title_es="La Tarjeta Me Fue Enviada Por Correo",
            desc_es="El 3 de febrero de 2026, le enviamos por correo su nueva tarjeta.",
            history=[
                {"date": "2025-11-02", "completed_text_en": "Case Was Received"},
                {"date": "2026-01-30", "completed_text_en": "Case Was Approved"},
            ],
        ),
        "SRC9999102777": _case(
            "SRC9999102777",
            "I-485",
            "Request for Evidence Was Sent",
            "On January 12, 2026, we sent a request for evidence.",
            history=[{"date": "2025-06-01", "completed_text_en": "Case Was Received"}],
        ),
        "EAC9999103402": _case(
            "EAC9999103402",
            "I-129",
            "Case Was Approved",
            "We approved your Form I-129.",
            title_es="Caso Fue Aprobado",
            desc_es="Aprobamos su Formulario I-129.",
            history=None,
        ),
        "IOE0912345678": _case(
            "IOE0912345678",
            "I-90",
            "Case Was Received",
            "We received your Form I-90 filed online.",
            submitted=None,
            modified=None,
            history=[],
        ),
    }


@dataclass
class _State:
    cases: dict[str, dict[str, Any]] = field(default_factory=staging_cases)
    tokens: set[str] = field(default_factory=set)
    token_count: int = 0
    expires_in: Any = "1799"
    faults: list[tuple[int, float]] = field(default_factory=list)  # (status, delay)
    reject_all_tokens: bool = False
    closed: bool = False  # the sandbox outside business hours: 503
    slow_seconds: float = 0.0
    case_requests: list[tuple[str, float]] = field(default_factory=list)  # (receipt, time)
    token_requests: list[dict[str, str]] = field(default_factory=list)


def _errors(code: str, message: str) -> str:
    return json.dumps({"errors": [{"code": code, "message": message}]})


class _Token(tornado.web.RequestHandler):
    def initialize(self, state: _State, lock: threading.Lock) -> None:
        self.state, self.lock = state, lock

    def post(self) -> None:
        form = {
            k: self.get_body_argument(k, "") for k in ("grant_type", "client_id", "client_secret")
        }
        ok = form["grant_type"] == "client_credentials" and (
            form["client_id"] == CLIENT_ID and form["client_secret"] == CLIENT_SECRET
        )
        with self.lock:
            self.state.token_requests.append(form)
            if not ok:
                self.set_status(401)
                self.finish(_errors("invalid_client", "Client credentials are invalid"))
                return
            self.state.token_count += 1
            token = f"token-{self.state.token_count}"
            self.state.tokens.add(token)
            expires = self.state.expires_in
        self.set_header("Content-Type", "application/json")
        self.finish(
            json.dumps({"access_token": token, "token_type": "BearerToken", "expires_in": expires})
        )


class _CaseStatus(tornado.web.RequestHandler):
    def initialize(self, state: _State, lock: threading.Lock) -> None:
        self.state, self.lock = state, lock

    async def get(self, receipt: str) -> None:
        self.set_header("Content-Type", "application/json")
        auth = self.request.headers.get("Authorization", "")
        with self.lock:
            self.state.case_requests.append((receipt, time.monotonic()))
            fault = self.state.faults.pop(0) if self.state.faults else None
            valid = auth.startswith("Bearer ") and auth[7:] in self.state.tokens
            valid = valid and not self.state.reject_all_tokens
            closed, slow = self.state.closed, self.state.slow_seconds
            case = json.loads(json.dumps(self.state.cases.get(receipt)))
        if slow:
            await asyncio.sleep(slow)
        if fault is not None:
            status, delay = fault
            if delay:
                await asyncio.sleep(delay)
            self.set_status(status)
            if status == 429:
                self.set_header("Retry-After", "0")
                self.finish(_errors("429", "Spike Arrest Violation"))
            else:
                self.finish(_errors(str(status), f"injected {status}"))
            return
        if not valid:
            self.set_status(401)
            self.finish(_errors("401", "Invalid access token"))
            return
        if closed:
            self.set_status(503)
            self.finish(_errors("503", "Service is available Monday-Friday 7am-8pm EST"))
            return
        if not _RECEIPT.match(receipt):
            self.set_status(422)
            self.finish(_errors("422", "Receipt number is not valid"))
            return
        if case is None:
            self.set_status(404)
            self.finish(_errors("404", "Case not found"))
            return
        self.finish(json.dumps({"case_status": case, "message": "Query was successful"}))


class FakeUscis(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.state = _State()
        self._lock = threading.Lock()

    def start(self) -> FakeUscis:
        async def serve() -> tornado.httpserver.HTTPServer:
            args = {"state": self.state, "lock": self._lock}
            app = tornado.web.Application(
                [
                    (r"/oauth/accesstoken", _Token, args),
                    (r"/case-status/([^/]*)", _CaseStatus, args),
                ]
            )
            sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
            self.port = sockets[0].getsockname()[1]
            server = tornado.httpserver.HTTPServer(app)
            server.add_sockets(sockets)
            return server

        self._server = self._on_loop(serve())
        return self

    def stop(self) -> None:
        async def close() -> None:
            self._server.stop()
            await self._server.close_all_connections()

        self._end_loop(close())

    def __enter__(self) -> FakeUscis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/accesstoken"

    def settings(self, **over: Any) -> dict[str, Any]:
        """A `[uscis]` section pointing at this server (fast retries for tests)."""
        return {
            "base_url": self.base_url,
            "token_url": self.token_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "requests_per_second": 1000,
            "retry_backoff_seconds": 0,
            "timeout_seconds": 2,
            **over,
        }

    # ---- what tests do ---------------------------------------------------------------------

    def fail(self, status: int, times: int = 1, delay: float = 0.0) -> None:
        with self._lock:
            self.state.faults.extend([(status, delay)] * times)

    def set(self, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self.state, name, value)

    def revoke_tokens(self) -> None:
        """Every token given so far is refused from now on (a 401, as for an expired one)."""
        with self._lock:
            self.state.tokens.clear()

    def update_case(self, receipt: str, **fields: Any) -> None:
        with self._lock:
            self.state.cases[receipt].update(fields)

    @property
    def case_calls(self) -> list[str]:
        with self._lock:
            return [r for r, _ in self.state.case_requests]

    @property
    def case_times(self) -> list[float]:
        with self._lock:
            return [t for _, t in self.state.case_requests]

    @property
    def token_calls(self) -> int:
        with self._lock:
            return len(self.state.token_requests)
