"""The live operator chat at Tier 1, through the engine and the live desk: offered only in
live hours once the assistant has tried, the queue's place and wait, messages relayed both
ways and labelled, the operator named only by number or first name, every way a chat ends,
the wait running out, and bad input that changes nothing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import OperatorSetting, Settings, Tier1Settings
from bot.engine import ConversationKey, Engine, TurnInput
from bot.model import Signal
from bot.staff.live import LiveChatError, LiveDesk
from bot.storage.database import Database
from tests.conftest import Chat

OPERATOR = "nav:operator"


async def _to_answer(chat: Chat, issue: str = "change_of_address") -> None:
    """From nothing to the assistant's Tier 1 answer (the knowledge base settles it)."""
    await chat.send("/agent")
    await chat.press("role:applicant")
    result = await chat.press(f"issue:{issue}")
    assert result.state == "tier1.resolved", result


async def _queued(chat: Chat) -> str:
    await _to_answer(chat)
    result = await chat.press(OPERATOR)
    assert result.state == "tier1.operator_queue", chat.text
    reference = await _reference_of(chat)
    return reference


async def _reference_of(chat: Chat) -> str:
    row = await chat.engine.services.ports.db.fetchone(
        "SELECT reference FROM handoffs WHERE user_id = ? ORDER BY id DESC", (chat.key.user_id,)
    )
    assert row is not None
    return str(row["reference"])


async def _count(db: Database, table: str) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
    assert row is not None
    return int(row["n"])


async def _status(db: Database, reference: str) -> str:
    row = await db.fetchone("SELECT status FROM handoffs WHERE reference = ?", (reference,))
    assert row is not None
    return str(row["status"])


async def test_offered_in_live_hours_only_once_the_assistant_has_tried(chat: Chat) -> None:
    await chat.send("/start")
    assert OPERATOR not in chat.buttons
    early = await chat.send("/operator")
    assert early.state == "automated.menu" and not early.kept
    assert "once I have tried to help" in chat.text
    await _to_answer(chat)
    assert OPERATOR in chat.buttons
    assert "Chat with an operator now" in [b.label for r in chat.last.replies for b in r.buttons]


async def test_not_offered_outside_live_hours(
    engine: Engine, clock: FixedClock, db: Database
) -> None:
    clock.set(datetime(2026, 11, 23, 20, 0))  # Monday, 8 p.m.: operators have gone home
    chat = Chat(engine)
    await _to_answer(chat)
    assert OPERATOR not in chat.buttons
    refused = await chat.press(OPERATOR)  # a stale button or the typed command
    assert refused.state == "tier1.resolved" and not refused.kept
    assert "Live operators answer Monday to Friday, 8:00 a.m. to 8:00 p.m." in chat.text
    clock.set(datetime(2026, 11, 26, 10, 0))  # Thanksgiving
    await chat.send("/menu")
    await chat.send("/agent")
    await chat.press("role:applicant")
    await chat.press("issue:emergency")
    await chat.press("need:emergency_advance_parole")
    slots = await chat.press("evidence:yes")
    assert slots.state == "tier2.slots" and OPERATOR not in chat.buttons
    assert await _count(db, "handoffs") == 0


async def test_the_queue_tells_each_applicant_their_place_and_the_wait(engine: Engine) -> None:
    first, second = Chat(engine, "ana"), Chat(engine, "ben")
    await _queued(first)
    assert "number 1 in the queue" in first.text and "about 4 minutes" in first.text
    assert "within 10 minutes" in first.text
    await _queued(second)
    assert "number 2 in the queue" in second.text and "about 8 minutes" in second.text
    kept = await second.send("Still here")
    assert kept.state == "tier1.operator_queue"
    assert "kept for the operator" in second.text and "number 2" in second.text
    desk = LiveDesk(engine)
    waiting = await desk.waiting(engine.now())
    assert [w.position for w in waiting] == [1, 2]
    assert waiting[1].preview == "Still here"


async def test_messages_are_relayed_both_ways_and_labelled(engine: Engine, db: Database) -> None:
    chat = Chat(engine)
    reference = await _queued(chat)
    await chat.send("My card went to EAC2190000001's old address")  # kept while waiting
    desk = LiveDesk(engine)
    [waiting] = await desk.waiting(engine.now())
    assert "EAC2190000001" not in waiting.preview and "EAC********01" in waiting.preview

    picked = await desk.pick(reference.lower(), "kim", engine.now())
    assert picked.entry.status == "live" and picked.name.startswith("Operator ")
    assert [m.text for m in picked.history] == ["My card went to EAC2190000001's old address"]

    joined = await chat.send("Hello?")  # the news of the pick-up comes first
    assert joined.state == "tier1.operator_chat"
    assert joined.replies[0].text.startswith(f"Assistant: {picked.name} has joined the chat")
    assert await desk.inbox("kim", engine.now()) == [f"{reference} · Applicant: Hello?"]
    assert await desk.inbox("kim", engine.now()) == []  # each once

    await desk.say(reference, "kim", "Hi, I am looking at it now.", engine.now())
    seen = await chat.send("Thanks")
    assert seen.replies[0].text == f"{picked.name}: Hi, I am looking at it now."
    assert seen.state == "tier1.operator_chat"
    # The applicant's text went to the operator, not to the assistant's steps.
    assert [t.trigger for t in seen.transitions] == []
    assert await desk.inbox("kim", engine.now()) == [f"{reference} · Applicant: Thanks"]
    senders = await db.fetchall(
        "SELECT sender, text FROM handoff_messages WHERE reference = ? ORDER BY id", (reference,)
    )
    assert [r["sender"] for r in senders] == ["applicant", "applicant", "operator", "applicant"]


async def test_the_operator_is_named_only_by_first_name_when_so_configured(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    tier1 = Tier1Settings(
        operator_naming="first_name",
        operators=[OperatorSetting(staff="kim", first_name="Dana"), OperatorSetting(staff="lee")],
    )
    engine = await create_engine(settings.model_copy(update={"tier1": tier1}), db, clock)
    dana, other = Chat(engine, "a"), Chat(engine, "b")
    desk = LiveDesk(engine)
    await desk.pick(await _queued(dana), "kim", engine.now())
    await desk.pick(await _queued(other), "lee", engine.now())
    assert "Assistant: Operator Dana has joined" in (await dana.send("hi")).replies[0].text
    named = (await other.send("hi")).replies[0].text
    assert re.match(r"Assistant: Operator \d+ has joined", named), named  # no first name known
    assert "kim" not in dana.text and "lee" not in other.text


async def test_the_operator_hands_back_and_the_applicant_gets_the_step_again(
    engine: Engine, db: Database
) -> None:
    chat = Chat(engine)
    reference = await _queued(chat)
    desk = LiveDesk(engine)
    await desk.pick(reference, "kim", engine.now())
    assert "is back with the assistant" in await desk.hand_back(reference, "kim", engine.now())
    back = await chat.send("/help")
    assert back.state == "tier1.resolved"
    assert "has handed you back to me" in chat.text and "Is there anything else?" in chat.text
    assert "t1:officer" in chat.buttons  # the Tier 1 step's own choices are live again
    assert await _status(db, reference) == "handed_back"
    assert await desk.inbox("kim", engine.now()) == []  # the operator did it: no notice

    # A message to the chat handed back: one line, nothing sent, nothing stored.
    messages, notices = await _count(db, "handoff_messages"), await _count(db, "outbox")
    with pytest.raises(LiveChatError) as refused:
        await desk.say(reference.lower(), "kim", "One more thing", engine.now())
    assert str(refused.value) == f"{reference} was handed back to the assistant; nothing was sent."
    assert (await _count(db, "handoff_messages"), await _count(db, "outbox")) == (messages, notices)
    with pytest.raises(LiveChatError):
        await desk.hand_back(reference, "kim", engine.now())


async def test_resolving_sends_the_closing_note(engine: Engine, db: Database) -> None:
    chat = Chat(engine)
    reference = await _queued(chat)
    desk = LiveDesk(engine)
    picked = await desk.pick(reference, "kim", engine.now())
    await desk.resolve(reference, "kim", "Your address is updated.", engine.now())
    after = await chat.send("/help")
    assert after.state == "tier1.resolved"
    # What waited in the outbox and the answer, one message, in the order it was said.
    texts = "\n\n".join(r.text for r in after.replies).split("\n\n")
    assert texts[0].startswith(f"Assistant: {picked.name} has joined")
    assert texts[1] == f"{picked.name}: Your address is updated."
    assert texts[2] == f"Assistant: {picked.name} has closed the chat. Thank you for contacting us."
    assert any(t.startswith("Is there anything else?") for t in texts[3:])
    assert await _status(db, reference) == "resolved"


@pytest.mark.parametrize("leave", ["/menu", "/cancel", "/start", "nav:menu"])
async def test_the_applicant_leaving_closes_the_chat_and_tells_the_operator(
    engine: Engine, db: Database, leave: str
) -> None:
    chat = Chat(engine)
    reference = await _queued(chat)
    desk = LiveDesk(engine)
    await desk.pick(reference, "kim", engine.now())
    left = await (chat.press(leave) if leave.startswith("nav:") else chat.send(leave))
    assert left.state == "automated.menu"
    assert await _status(db, reference) == "left"
    assert await desk.inbox("kim", engine.now()) == [
        f"{reference} · The applicant left the chat; it is over."
    ]
    assert await desk.current("kim") is None
    with pytest.raises(LiveChatError, match=f"The applicant left {reference}; nothing was sent"):
        await desk.say(reference, "kim", "Hello?", engine.now())


async def test_leaving_the_queue_removes_the_applicant_from_it(
    engine: Engine, db: Database
) -> None:
    chat = Chat(engine)
    reference = await _queued(chat)
    await chat.send("/cancel")
    assert await _status(db, reference) == "left"
    desk = LiveDesk(engine)
    assert await desk.waiting(engine.now()) == []
    with pytest.raises(LiveChatError, match="The applicant left"):
        await desk.pick(reference, "kim", engine.now())


async def test_nobody_picking_it_up_in_time_brings_the_applicant_back(
    engine: Engine, clock: FixedClock, db: Database
) -> None:
    chat = Chat(engine)
    reference = await _queued(chat)
    clock.advance(timedelta(minutes=9, seconds=59))
    assert (await chat.send("anyone?")).state == "tier1.operator_queue"
    clock.advance(timedelta(seconds=1))
    await engine.tick()  # as every channel does between turns
    assert await _status(db, reference) == "timed_out"
    back = await chat.send("/help")
    assert back.state == "tier1.resolved"
    assert "no operator was free within 10 minutes" in chat.text
    # What remains: an officer callback and the automated help, not the operator again.
    assert {"t1:officer", "nav:menu"} <= set(chat.buttons) and OPERATOR not in chat.buttons
    with pytest.raises(LiveChatError, match="waited too long"):
        await LiveDesk(engine).pick(reference, "kim", engine.now())


async def test_unknown_references_and_someone_elses_chat_are_refused_in_one_line(
    engine: Engine, db: Database
) -> None:
    chat = Chat(engine)
    reference = await _queued(chat)
    desk = LiveDesk(engine)
    with pytest.raises(LiveChatError) as unknown:
        await desk.pick("lc-nope99", "kim", engine.now())
    assert str(unknown.value) == "No live chat has the reference LC-NOPE99."
    with pytest.raises(LiveChatError, match="still waiting for an operator"):
        await desk.say(reference, "kim", "hi", engine.now())
    await desk.pick(reference, "kim", engine.now())
    before = await _count(db, "transitions")
    with pytest.raises(LiveChatError) as taken:
        await desk.pick(reference, "lee", engine.now())
    assert str(taken.value) == f"{reference} was already picked up by kim."
    for act in (
        desk.say(reference, "lee", "hi", engine.now()),
        desk.hand_back(reference, "lee", engine.now()),
        desk.resolve(reference, "lee", "", engine.now()),
    ):
        with pytest.raises(LiveChatError, match="already picked up by kim"):
            await act
    assert await _count(db, "transitions") == before
    assert (await desk.pick(reference, "kim", engine.now())).entry.operator == "kim"  # resume


async def test_the_operator_opens_a_service_request_and_books_a_callback(
    engine: Engine, db: Database
) -> None:
    chat = Chat(engine)
    reference = await _queued(chat)
    desk = LiveDesk(engine)
    await desk.pick(reference, "kim", engine.now())
    with pytest.raises(LiveChatError, match="Unknown issue bogus"):
        await desk.service_request(reference, "kim", "bogus", engine.now())
    opened = await desk.service_request(reference, "kim", "notice_not_received", engine.now())
    number = re.search(r"SR\d{10}", opened)
    assert number
    row = await db.fetchone(
        "SELECT user_id, issue FROM service_requests WHERE service_item = ?", (number.group(0),)
    )
    assert row is not None and (row["user_id"], row["issue"]) == ("u1", "notice_not_received")

    with pytest.raises(LiveChatError, match="not a US phone number"):
        await desk.callback(reference, "kim", "12345", None, None, engine.now())
    summary, booked = await desk.callback(
        reference, "kim", "(202) 555-0143", "13202", True, engine.now()
    )
    assert booked.reference in summary
    callback = await engine.services.ports.callbacks.get(booked.reference)
    assert callback is not None
    assert (callback.phone, callback.zip_code, callback.urgent, callback.user_id) == (
        "+12025550143",
        "13202",
        True,
        "u1",
    )
    assert callback.slot_at == datetime(2026, 11, 23, 11, 0, tzinfo=engine.services.settings.tz)
    told = await chat.send("thanks")
    assert f"opened service request {number.group(0)} for you" in chat.text
    assert f"Your reference is {booked.reference}" in chat.text
    assert told.state == "tier1.operator_chat"
    # The applicant sees the callback booked on their behalf under "My officer callback".
    await desk.hand_back(reference, "kim", engine.now())
    await chat.send("/menu")
    mine = await chat.press("go:callback")
    assert booked.reference in chat.text and mine.state == "tier2.mine"


async def test_a_message_delivered_twice_is_relayed_once(engine: Engine, db: Database) -> None:
    chat = Chat(engine)
    reference = await _queued(chat)
    desk = LiveDesk(engine)
    await desk.pick(reference, "kim", engine.now())
    seen = []
    for _ in range(2):  # a channel delivering the same update again after a restart
        result = await engine.handle(
            TurnInput(chat.key, engine.now(), text="Only once", source="telegram:5:42")
        )
        seen += [r.text for r in result.replies]
        await desk.say(reference, "kim", "Reply once", engine.now(), source="telegram:777:9")
    rows = await db.fetchall("SELECT text FROM handoff_messages ORDER BY id")
    assert [r["text"] for r in rows] == ["Only once", "Reply once"]
    assert await desk.inbox("kim", engine.now()) == [f"{reference} · Applicant: Only once"]
    seen += [r.text for r in (await chat.send("/help")).replies]
    assert sum("Reply once" in text for text in seen) == 1


async def test_a_signal_no_step_expects_changes_nothing(engine: Engine, db: Database) -> None:
    chat = Chat(engine)
    await chat.send("/start")
    before = await db.fetchone("SELECT version FROM conversations")
    result = await engine.signal(Signal(chat.key, "handoff.pick", ("LC-AAAAAA", "kim")))
    assert not result.kept and result.replies == () and result.state == "automated.menu"
    assert await db.fetchone("SELECT version FROM conversations") == before
    other = ConversationKey("console", "nobody")
    assert not (await engine.signal(Signal(other, "handoff.back", ("LC-AAAAAA",)))).kept


def test_an_operator_is_configured_with_a_first_name_only() -> None:
    with pytest.raises(ValidationError, match="a first name only"):
        Tier1Settings(operators=[{"staff": "kim", "first_name": "Dana Smith"}])
    assert Tier1Settings(operators=[OperatorSetting(staff="kim", first_name="Anne-Marie")])
