"""Conversations and their transcript in SQLite: the stored state of each conversation
(optimistic version), the turn history and the transition log with the rule that fired."""

from __future__ import annotations

import json
from datetime import datetime

from msgspec import Struct

from bot.model import ConversationKey
from bot.storage.database import Database, Write
from bot.storage.timefmt import to_db


class StoredConversation(Struct, frozen=True):
    """A conversation as stored: its state name, its collected answers (JSON, read by
    `flows.state.ConversationState.restore`), the button data it last offered, a version
    for optimistic concurrency (0: never stored) and its trail: the steps Back returns
    to, oldest first (`flows.machine.MachineDefinition.trail_after`)."""

    key: ConversationKey
    state: str
    answers: str = ""
    offered: tuple[str, ...] = ()
    version: int = 0
    trail: tuple[str, ...] = ()
    language: str = ""  # the language of its last turn ("" before the first)


_TRAIL_SEP = " "  # state names hold no spaces


class SqliteConversations:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self, key: ConversationKey, initial: str) -> StoredConversation:
        row = await self._db.fetchone(
            "SELECT state, slots, offered, version, trail, language FROM conversations"
            " WHERE channel = ? AND user_id = ?",
            (key.channel, key.user_id),
        )
        if row is None:
            return StoredConversation(key, initial)
        trail = row["trail"]
        return StoredConversation(
            key,
            row["state"],
            row["slots"],
            tuple(json.loads(row["offered"])),
            row["version"],
            tuple(trail.split(_TRAIL_SEP)) if trail else (),
            row["language"],
        )

    def save(
        self,
        before: StoredConversation,
        state: str,
        answers: str,
        offered: list[str],
        now: datetime,
        trail: tuple[str, ...] = (),
        language: str = "",
    ) -> Write:
        """The write that stores the new state; it conflicts when another turn stored one
        since `before` was loaded."""
        key, at, shown = before.key, to_db(now), json.dumps(offered)
        steps = _TRAIL_SEP.join(trail)
        if before.version == 0:
            return Write(
                "INSERT INTO conversations (channel, user_id, state, slots, offered, version,"
                " updated_at, trail, language) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (key.channel, key.user_id, state, answers or "{}", shown, at, steps, language),
                expect_rows=1,
            )
        return Write(
            "UPDATE conversations SET state = ?, slots = ?, offered = ?, version = ?,"
            " updated_at = ?, trail = ?, language = ?"
            " WHERE channel = ? AND user_id = ? AND version = ?",
            (
                state,
                answers or "{}",
                shown,
                before.version + 1,
                at,
                steps,
                language,
                key.channel,
                key.user_id,
                before.version,
            ),
            expect_rows=1,
        )


class SqliteTranscript:
    """What was said and what moved: the turn history and the transition log."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def turn(self, key: ConversationKey, at: datetime, kind: str, value: str, state: str) -> Write:
        return Write(
            "INSERT INTO turns (channel, user_id, at, kind, value, state) VALUES (?,?,?,?,?,?)",
            (key.channel, key.user_id, to_db(at), kind, value, state),
        )

    def transition(
        self, key: ConversationKey, at: datetime, trigger: str, source: str, dest: str, rule: str
    ) -> Write:
        return Write(
            "INSERT INTO transitions (channel, user_id, at, trigger, source, dest, rule)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key.channel, key.user_id, to_db(at), trigger, source, dest, rule),
        )

    async def turns_of(self, key: ConversationKey) -> list[dict[str, str]]:
        """What one conversation's applicant typed or pressed, in order (scenario recording)."""
        rows = await self._db.fetchall(
            "SELECT at, kind, value, state FROM turns WHERE channel = ? AND user_id = ?"
            " ORDER BY id",
            (key.channel, key.user_id),
        )
        return [dict(r) for r in rows]

    async def transitions_of(self, key: ConversationKey) -> list[dict[str, str]]:
        rows = await self._db.fetchall(
            "SELECT trigger, source, dest, rule FROM transitions WHERE channel = ?"
            " AND user_id = ? ORDER BY id",
            (key.channel, key.user_id),
        )
        return [dict(r) for r in rows]

    async def transitions_since(self, after_id: int = 0) -> list[dict[str, object]]:
        """Transition log rows after `after_id`, oldest first (trainer reports)."""
        rows = await self._db.fetchall(
            "SELECT id, channel, user_id, trigger, source, dest, rule FROM transitions"
            " WHERE id > ? ORDER BY id",
            (after_id,),
        )
        return [dict(r) for r in rows]
