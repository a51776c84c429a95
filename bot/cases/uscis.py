"""A client for the official USCIS Case Status API (developer.uscis.gov), over httpx.

- OAuth 2.0 client credentials: a form POST of `grant_type=client_credentials`,
  `client_id` and `client_secret` to the token URL; the token is kept until 60 seconds
  before it expires (`expires_in` may be a number or a string such as "1799"). A 401
  fetches a new token once; a second 401 is an operator error (`UscisOperatorError`).
- `GET {base_url}/case-status/{RECEIPT}` with `Authorization: Bearer ...`.
- A local rate limit (`requests_per_second`), and the daily quota counted in the database
  before every call (token calls excepted), so a restart does not forget what was spent.
- 429 waits (Retry-After, else the backoff) and tries again; 5xx and timeouts are tried
  again, all within `retries`; then `UscisUnavailable`.
- 404: `UscisNotFound` (mistyped, or a case not shown online); 422: `UscisMalformed`.

The public status page is never fetched: it is not an API, and scraping it is banned.
The client secret and the token are never logged; receipts are logged masked.
"""

from __future__ import annotations

import asyncio
import logging
import time as monotonic
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from bot.config import UscisSettings
from bot.storage.database import Conflict, Database, StorageError
from bot.storage.ports import LiveCases
from flows.case_live import BadAnswer, error_message, record_from_api
from flows.case_records import CaseRecord
from flows.privacy import mask_personal_data

log = logging.getLogger(__name__)

TOKEN_MARGIN = timedelta(seconds=60)  # a token is renewed this long before it expires
# After the credentials were refused (a second 401, or the token URL refusing them), no
# call is made for this long: the operator has to fix them, and USCIS is not hammered.
STOPPED_FOR = timedelta(minutes=10)
MAX_RETRY_AFTER = 10.0  # seconds a 429's Retry-After is waited at most


class UscisError(Exception):
    """The API gave no case status; the subclass says why."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message  # the API's own `message`


class UscisUnavailable(UscisError):
    """Down, closed (the sandbox answers in business hours), too busy, out of quota."""


class UscisQuotaExhausted(UscisUnavailable):
    """Today's calls are used up (counted in the database)."""


class UscisOperatorError(UscisUnavailable):
    """Credentials refused (a 401 after a fresh token, or the token URL refusing them):
    an operator must fix the settings."""


class UscisNotFound(UscisError):
    """404: no case shown online for this receipt (mistyped, or a protected case)."""


class UscisMalformed(UscisError):
    """422: USCIS reads the receipt as badly formed."""


class _RateLimit:
    """At most `rate` calls a second from this process (spaced evenly)."""

    def __init__(self, rate: float) -> None:
        self._gap = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = monotonic.monotonic()
            if self._next > now:
                await asyncio.sleep(self._next - now)
                now = self._next
            self._next = now + self._gap


class UscisClient:
    def __init__(
        self,
        settings: UscisSettings,
        quota: LiveCases,
        db: Database,
        now: Callable[[], datetime],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not settings.client_id or settings.client_secret is None:
            raise ValueError("the USCIS client needs client_id and client_secret")
        self._settings = settings
        self._quota = quota
        self._db = db
        self._now = now
        self._http = httpx.AsyncClient(
            timeout=settings.timeout_seconds, transport=transport, follow_redirects=False
        )
        self._limit = _RateLimit(settings.requests_per_second)
        self._token: str | None = None
        self._token_until: datetime | None = None
        self._token_lock = asyncio.Lock()
        self._told: set[str] = set()  # operator errors logged once (per kind and day)
        self._stopped_until: datetime | None = None  # credentials refused: no calls till then
        self.calls = 0  # case-status requests sent (for tests and the benchmark)
        self.token_calls = 0

    async def close(self) -> None:
        await self._http.aclose()

    # ---- the quota -------------------------------------------------------------------------

    def quota_day(self, at: datetime | None = None) -> str:
        """The quota day `at` falls in: days start at `quota_resets_at` in `quota_timezone`."""
        s = self._settings
        local = (at or self._now()).astimezone(ZoneInfo(s.quota_timezone))
        shift = timedelta(hours=s.quota_resets_at.hour, minutes=s.quota_resets_at.minute)
        return (local - shift).date().isoformat()

    async def _spend(self) -> None:
        day = self.quota_day()
        try:
            await self._db.commit([self._quota.spend(day, self._settings.daily_quota)])
        except Conflict:
            self._tell_once(
                f"quota:{day}",
                "USCIS daily quota of %d calls used up for %s; answering from what is known",
                self._settings.daily_quota,
                day,
            )
            raise UscisQuotaExhausted("quota") from None
        except StorageError as exc:
            raise UscisUnavailable("quota not recorded") from exc

    def _tell_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._told:
            self._told.add(key)
            log.error(message, *args)

    # ---- the token -------------------------------------------------------------------------

    async def _bearer(self, *, renew: bool = False) -> str:
        async with self._token_lock:
            now = self._now()
            fresh = self._token_until is not None and now < self._token_until
            if self._token and fresh and not renew:
                return self._token
            self._token = await self._fetch_token()
            return self._token

    async def _fetch_token(self) -> str:
        s = self._settings
        assert s.client_id and s.client_secret is not None
        self.token_calls += 1
        try:
            response = await self._http.post(
                s.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": s.client_id,
                    "client_secret": s.client_secret.get_secret_value(),
                },
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise UscisUnavailable(f"token request failed: {type(exc).__name__}") from None
        if response.status_code in (400, 401, 403):
            self._tell_once(
                "credentials",
                "USCIS refused the client credentials (HTTP %d at the token URL): check"
                " TIERLINE_USCIS__CLIENT_ID and TIERLINE_USCIS__CLIENT_SECRET",
                response.status_code,
            )
            raise UscisOperatorError("credentials refused")
        if response.status_code != 200:
            raise UscisUnavailable(f"token URL answered {response.status_code}")
        try:
            body = response.json()
            token = str(body["access_token"])
            seconds = int(float(str(body.get("expires_in", 0)).strip() or 0))
        except (ValueError, KeyError, TypeError):
            raise UscisUnavailable("token answer not understood") from None
        self._token_until = self._now() + max(
            timedelta(seconds=seconds) - TOKEN_MARGIN, timedelta()
        )
        return token

    # ---- a case ----------------------------------------------------------------------------

    async def case_status(self, receipt: str) -> CaseRecord:
        """The case of the normalised `receipt`, or a `UscisError` saying why not."""
        if self._stopped_until is not None and self._now() < self._stopped_until:
            raise UscisOperatorError("credentials refused lately")
        try:
            return await self._case_status(receipt)
        except UscisOperatorError:
            self._stopped_until = self._now() + STOPPED_FOR
            raise

    async def _case_status(self, receipt: str) -> CaseRecord:
        s = self._settings
        url = f"{s.base_url}/case-status/{receipt}"
        renewed = False
        attempt = 0
        while True:
            token = await self._bearer()
            await self._limit.wait()
            await self._spend()
            self.calls += 1
            try:
                response = await self._http.get(
                    url,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                )
            except httpx.TimeoutException:
                reason = "timed out"
                response = None
            except httpx.HTTPError as exc:
                reason = f"not reachable ({type(exc).__name__})"
                response = None
            if response is not None:
                status = response.status_code
                if status == 200:
                    try:
                        return record_from_api(response.json(), receipt, self._now())
                    except (BadAnswer, ValueError) as exc:
                        log.error(
                            "USCIS answer for %s not understood: %s",
                            mask_personal_data(receipt),
                            exc,
                        )
                        raise UscisUnavailable("answer not understood") from None
                message = error_message(_json(response))
                if status == 401:
                    if renewed:
                        self._tell_once(
                            "401",
                            "USCIS refused a fresh token twice (HTTP 401): check the"
                            " credentials and the API product of the app on the developer portal",
                        )
                        raise UscisOperatorError("401 twice", message)
                    renewed = True
                    await self._bearer(renew=True)
                    continue
                if status == 404:
                    raise UscisNotFound("404", message)
                if status == 422:
                    raise UscisMalformed("422", message)
                if status == 429:
                    reason = "429 too many requests"
                elif status >= 500:
                    reason = f"HTTP {status}" + (f": {message}" if message else "")
                else:
                    log.warning(
                        "USCIS answered HTTP %d for %s", status, mask_personal_data(receipt)
                    )
                    raise UscisUnavailable(f"HTTP {status}", message)
            if attempt >= s.retries:
                log.warning("USCIS not answering for %s: %s", mask_personal_data(receipt), reason)
                raise UscisUnavailable(reason)
            await asyncio.sleep(_wait(response, s.retry_backoff_seconds * 2**attempt))
            attempt += 1


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _wait(response: httpx.Response | None, backoff: float) -> float:
    """How long to wait before trying again: a 429's Retry-After (at most
    `MAX_RETRY_AFTER`: an applicant is waiting), else backoff."""
    if response is not None and response.status_code == 429:
        try:
            return max(0.0, min(float(response.headers.get("Retry-After", "")), MAX_RETRY_AFTER))
        except ValueError:
            pass
    return backoff
