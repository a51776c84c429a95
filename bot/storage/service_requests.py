"""Tier 1 service requests in SQLite: what an operator opens when the applicant's issue is
for the office handling the case (a notice never received, a case past its time)."""

from __future__ import annotations

from datetime import datetime

from bot.model import ConversationKey
from bot.storage.database import Write
from bot.storage.timefmt import to_db


class SqliteServiceRequests:
    def open(
        self,
        number: str,
        key: ConversationKey,
        issue: str,
        receipt: str | None,
        rule: str,
        now: datetime,
    ) -> Write:
        return Write(
            "INSERT INTO service_requests (service_item, channel, user_id, issue, receipt, rule,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (number, key.channel, key.user_id, issue, receipt, rule, to_db(now)),
            expect_rows=1,
        )
