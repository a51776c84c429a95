"""Conversations and their transcript in SQLite: the stored state of each conversation
(optimistic version), the turn history and the transition log with the rule that fired.

The rows the engine saved are kept in memory between turns (`remembered`), so that a turn
need not read back what the last one wrote. An entry is only ever what a commit stored
(`remember` is called once the turn's commit is done, never for a turn that wrote nothing),
and it is dropped when it may no longer be true: a turn's save conflicted (`forget`), any
other statement wrote to the table, or another connection committed (`Database.watch`).
Every save carries its version precondition, so an entry gone stale unseen still cannot be
written over: the save conflicts, and the engine reads the row again.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

from msgspec import Struct

from bot.model import ConversationKey
from bot.storage.database import Database, Write, keep_newest
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
CACHE_ROWS = 50_000  # conversations kept in memory, the most recently saved

_INSERT = (
    "INSERT INTO conversations (channel, user_id, state, slots, offered, version,"
    " updated_at, trail, language) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)
_UPDATE = (
    "UPDATE conversations SET state = ?, slots = ?, offered = ?, version = ?,"
    " updated_at = ?, trail = ?, language = ?"
    " WHERE channel = ? AND user_id = ? AND version = ?"
)
# The same update of a row the turn took from memory: when another connection committed
# since the last batch, the writer refuses it as a conflict (`Database.watch`), even if that
# connection wrote without moving the version; the turn then reads the row and decides again.
_UPDATE_KEPT = _UPDATE + " /* a kept row */"
# A turn that saves nothing but answered from a kept row (a refusal): the row is left as it
# is, but the statement is refused like `_UPDATE_KEPT` when the row moved or another
# connection committed, so the turn's commit checks what a read back would have.
_CHECK_KEPT = (
    "UPDATE conversations SET version = version"
    " WHERE channel = ? AND user_id = ? AND version = ? /* a kept row, unchanged */"
)


@lru_cache(maxsize=1024)  # the same few lists of buttons, turn after turn
def _offered_json(offered: tuple[str, ...]) -> str:
    return json.dumps(list(offered))


class SqliteConversations:
    def __init__(self, db: Database, *, cache_rows: int = CACHE_ROWS) -> None:
        self._db = db
        self._rows: dict[ConversationKey, StoredConversation] = {}
        self._cache_rows = cache_rows if db.keeps_rows else 0
        db.watch(
            "conversations",
            self.forget_all,
            own=(_INSERT, _UPDATE, _UPDATE_KEPT, _CHECK_KEPT),
            guarded=(_UPDATE_KEPT, _CHECK_KEPT),
        )

    # ---- rows kept between turns ----------------------------------------------------------

    def remembered(self, key: ConversationKey) -> StoredConversation | None:
        """The row the last committed save of `key` stored, if it is still kept."""
        return self._rows.get(key)

    def remember(self, stored: StoredConversation) -> None:
        """Keep `stored`: call it only once the save that stores it is committed."""
        if not self._cache_rows:
            return
        keep_newest(self._rows, stored.key, stored, self._cache_rows)

    def forget(self, key: ConversationKey) -> None:
        self._rows.pop(key, None)

    def forget_all(self) -> None:
        self._rows.clear()

    # ---- the database ---------------------------------------------------------------------

    async def load(self, key: ConversationKey, initial: str) -> StoredConversation:
        """The row as stored now (never the kept one)."""
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
        key, at, shown = before.key, to_db(now), _offered_json(tuple(offered))
        steps = _TRAIL_SEP.join(trail)
        if before.version == 0:
            return Write(
                _INSERT,
                (key.channel, key.user_id, state, answers or "{}", shown, at, steps, language),
                expect_rows=1,
            )
        return Write(
            _UPDATE_KEPT if self._rows.get(key) is before else _UPDATE,
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

    def unchanged(self, kept: StoredConversation) -> Write:
        """The write that changes nothing, committed with a turn that answered from `kept`
        (a row `remembered` gave) and saves nothing: it conflicts when `kept` is no longer
        what is stored, as a save from it would."""
        key = kept.key
        return Write(_CHECK_KEPT, (key.channel, key.user_id, kept.version), expect_rows=1)

    @staticmethod
    def saved(
        before: StoredConversation,
        state: str,
        answers: str,
        offered: list[str],
        trail: tuple[str, ...] = (),
        language: str = "",
    ) -> StoredConversation:
        """The row `save` with the same arguments stores, as `load` would read it back."""
        return StoredConversation(
            before.key,
            state,
            answers or "{}",
            tuple(offered),
            before.version + 1,
            tuple(trail),
            language,
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
