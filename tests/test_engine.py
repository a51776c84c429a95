"""The engine's rules: durable before visible, one turn at a time per conversation,
concurrency across conversations, resume after restart, bad input changes nothing."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import Settings
from bot.engine import ConversationKey, Engine, TurnInput
from bot.engine.engine import TurnNotSaved
from bot.engine.program import Actions, Effect
from bot.engine.turn import Turn
from bot.model import Reply
from bot.storage.database import Database, StorageError, Write
from flows.steps import Command, Tier, decide, say, stay
from tests.conftest import Chat


async def _engine_with(
    settings: Settings, db: Database, clock: FixedClock, **commands: Effect
) -> Engine:
    """The real engine plus test commands: `/name` runs the effect `name` in place."""
    tier = Tier(
        name="test",
        commands=tuple(
            Command(name, (stay(lambda f: decide("test.command"), effect=name),))
            for name in commands
        ),
    )
    return await create_engine(settings, db, clock, extra=(tier, Actions(effects=commands)))


async def _state_row(db: Database, user: str) -> sqlite3.Row | None:
    return await db.fetchone(
        "SELECT state, version FROM conversations WHERE channel = 'console' AND user_id = ?",
        (user,),
    )


async def test_start_is_committed_before_the_reply_is_returned(chat: Chat, db: Database) -> None:
    result = await chat.send("/start")
    row = await _state_row(db, "u1")
    assert row is not None and row["state"] == result.state == "automated.menu"


async def test_turns_of_one_conversation_never_interleave(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    """A slow handler holds its conversation: the next turn starts only after it ends."""
    events: list[str] = []

    async def slow(turn: Turn) -> None:
        events.append(f"begin {turn.answer.text}")
        await asyncio.sleep(0.02)
        turn.state = turn.state.but(receipt=turn.answer.text)
        turn.say(say("help.text"))
        events.append(f"end {turn.answer.text}")

    engine = await _engine_with(settings, db, clock, slow=slow)
    key = ConversationKey("console", "same")
    await asyncio.gather(
        *(engine.handle(TurnInput(key, clock.now(), text=f"/slow {i}")) for i in range(5))
    )
    assert events == [e for i in range(5) for e in (f"begin {i}", f"end {i}")]
    row = await db.fetchone("SELECT version FROM conversations WHERE user_id = 'same'")
    assert row is not None and row["version"] == 5


async def test_many_conversations_progress_concurrently(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    """While one conversation waits inside its turn, others finish theirs."""
    gate = asyncio.Event()

    async def wait(turn: Turn) -> None:
        await gate.wait()
        turn.say(say("help.text"))

    async def quick(turn: Turn) -> None:
        turn.say(say("help.text"))

    engine = await _engine_with(settings, db, clock, wait=wait, quick=quick)
    blocked = asyncio.create_task(
        engine.handle(TurnInput(ConversationKey("console", "blocked"), clock.now(), text="/wait"))
    )
    quick_results = await asyncio.wait_for(
        asyncio.gather(
            *(
                engine.handle(
                    TurnInput(ConversationKey("console", f"q{i}"), clock.now(), text="/quick")
                )
                for i in range(50)
            )
        ),
        timeout=5,
    )
    assert len(quick_results) == 50 and not blocked.done()
    gate.set()
    await blocked
    rows = await db.fetchall("SELECT user_id FROM conversations")
    assert len(rows) == 51


async def test_a_conversation_resumes_where_it_was_after_a_restart(
    settings: Settings, clock: FixedClock
) -> None:
    db = await Database.open(settings.db_path)
    chat = Chat(await create_engine(settings, db, clock), user="resume")
    await chat.send("/start")
    await chat.press("nav:agent")
    assert chat.last is not None and chat.last.state == "tier1.intake"
    await db.close()

    db2 = await Database.open(settings.db_path)
    try:
        engine2 = await create_engine(settings, db2, clock)
        assert await engine2.state_of(ConversationKey("console", "resume")) == "tier1.intake"
        again = Chat(engine2, user="resume")
        result = await again.send("/help")
        assert result.state == "tier1.intake"
    finally:
        await db2.close()


async def _refuse_updates(db: Database, refuse: bool) -> None:
    """Make every update of a conversation fail in the database (a trigger), or stop."""
    if db.backend == "postgresql":
        pool = db.pool  # type: ignore[attr-defined]
        if refuse:
            await pool.execute(
                "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'disk says no'; END $$;"
                " CREATE TRIGGER refuse BEFORE UPDATE ON conversations"
                " FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        else:
            await pool.execute("DROP TRIGGER refuse ON conversations")
    elif refuse:
        await db._writer.execute(  # type: ignore[attr-defined]
            "CREATE TRIGGER refuse BEFORE UPDATE ON conversations "
            "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
        )
    else:
        await db._writer.execute("DROP TRIGGER refuse")  # type: ignore[attr-defined]


async def test_a_turn_whose_commit_fails_releases_no_reply(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    engine = await create_engine(settings, db, clock)
    chat = Chat(engine, user="crash")
    await chat.send("/start")

    # The disk refuses the next write: the turn must not hand out its replies.
    await _refuse_updates(db, True)
    with pytest.raises(TurnNotSaved):
        await chat.press("nav:agent")
    row = await _state_row(db, "crash")
    assert row is not None and row["state"] == "automated.menu"

    await _refuse_updates(db, False)
    result = await chat.press("nav:agent")
    assert result.state == "tier1.intake"


async def test_a_button_never_offered_is_refused_and_changes_nothing(
    chat: Chat, db: Database
) -> None:
    await chat.send("/start")
    before = await _state_row(db, "u1")
    result = await chat.press("go:transfer_all_my_cases")
    assert result.state == "automated.menu"
    assert "no longer active" in chat.text
    assert await _state_row(db, "u1") == before


async def test_a_button_from_an_old_message_is_refused(chat: Chat) -> None:
    await chat.send("/start")
    await chat.press("nav:agent")  # the menu's buttons are gone now
    result = await chat.press("go:status")
    assert result.state == "tier1.intake"
    assert "no longer active" in chat.text


async def test_oversized_button_data_is_refused(chat: Chat) -> None:
    await chat.send("/start")
    result = await chat.press("nav:" + "m" * 100)
    assert result.state == "automated.menu" and "no longer active" in chat.text


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01\x1b\x7f", "\n\t\r"])
async def test_empty_or_control_only_text_is_answered_and_changes_nothing(
    chat: Chat, db: Database, text: str
) -> None:
    await chat.send("/start")
    before = await _state_row(db, "u1")
    result = await chat.send(text)
    assert "empty" in chat.text and result.state == "automated.menu"
    assert await _state_row(db, "u1") == before


async def test_a_very_long_message_is_refused_politely(chat: Chat) -> None:
    await chat.send("/start")
    await chat.send("x" * 10_000)
    assert "too long" in chat.text


async def test_an_unknown_command_lists_the_known_ones(chat: Chat) -> None:
    await chat.send("/frobnicate")
    assert "/start" in chat.text and "/help" in chat.text


async def test_a_failing_handler_gets_an_apology_and_changes_nothing(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    async def boom(turn: Turn) -> None:
        turn.state = turn.state.but(receipt="EAC2190000001")
        raise RuntimeError("bug in a handler")

    engine = await _engine_with(settings, db, clock, boom=boom)
    result = await engine.handle(
        TurnInput(ConversationKey("console", "b"), clock.now(), text="/boom")
    )
    assert "went wrong" in result.replies[0].text
    assert "RuntimeError" not in result.replies[0].text
    assert await _state_row(db, "b") is None


async def test_a_conversation_in_a_state_that_no_longer_exists_restarts_at_the_menu(
    chat: Chat, db: Database
) -> None:
    await chat.send("/start")
    await db.commit(
        [Write("UPDATE conversations SET state = 'automated.retired_feature' WHERE user_id = 'u1'")]
    )
    result = await chat.send("/help")
    assert result.state == "automated.menu"
    assert "reset" in chat.text


async def test_cancel_returns_to_the_menu_and_forgets_what_was_collected(chat: Chat) -> None:
    await chat.send("/start")
    await chat.press("nav:agent")
    result = await chat.send("/cancel")
    assert result.state == "automated.menu"
    assert "Cancelled" in chat.text


async def test_a_closed_conversation_starts_again_on_any_message(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    chat = Chat(await create_engine(settings, db, clock), user="c")
    assert (await chat.send("/finish")).state == "closed"
    assert "Thank you" in chat.text
    result = await chat.send("hello again")
    assert result.state == "automated.menu"
    assert "Welcome back" in chat.text


async def test_the_closed_database_is_a_clear_error(settings: Settings, clock: FixedClock) -> None:
    db = await Database.open(settings.db_path)
    engine = await create_engine(settings, db, clock)
    await db.close()
    with pytest.raises(StorageError):
        await engine.handle(TurnInput(ConversationKey("console", "x"), clock.now(), text="/start"))


@pytest.mark.parametrize(("channel", "shown_now"), [("console", True), ("telegram", False)])
async def test_a_notice_due_now_is_delivered_exactly_once_by_its_channel(
    settings: Settings, db: Database, clock: FixedClock, channel: str, shown_now: bool
) -> None:
    """The console shows it in the same turn (recorded as delivered in the same commit);
    a pushing channel gets it left undelivered and is told to push it now."""
    from bot.storage import outbox

    async def confirmme(turn: Turn) -> None:
        turn.say(say("help.text"))
        turn.notify(Reply("Booked: reference CB-TEST01."), kind="callback.confirmation")

    engine = await _engine_with(settings, db, clock, confirmme=confirmme)
    result = await engine.handle(
        TurnInput(ConversationKey(channel, "n1"), clock.now(), text="/confirmme")
    )
    said = "\n\n".join(r.text for r in result.replies)  # one answer, one message
    assert ("Booked: reference CB-TEST01." in said) is shown_now
    assert result.notices_to_push is (not shown_now)
    pending = await outbox.due(db, channel, clock.now())
    assert [n.reply.text for n in pending] == (
        [] if shown_now else ["Booked: reference CB-TEST01."]
    )
    again = await engine.handle(
        TurnInput(ConversationKey(channel, "n1"), clock.now(), text="/help")
    )
    assert all("CB-TEST01" not in r.text for r in again.replies)  # never twice
