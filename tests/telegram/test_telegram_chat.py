"""An applicant's chat with the bot, end to end: the real bot against the fake Bot API."""

from __future__ import annotations

import re
import time

from bot.adapters.telegram.app import TelegramBot
from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import Settings
from bot.engine import ConversationKey, Engine
from bot.storage.database import Database
from tests.conftest import Chat
from tests.fake_bot_api import FakeBotApi, wait_until
from tests.telegram.conftest import TelegramUser, book_callback, fast_telegram, running

RECEIPT = "EAC2190000001"
ELIGIBLE = "LIN2210054321"  # biometrics on 2030-03-12 at the New York ASC


async def test_start_greets_and_shows_the_menu_with_buttons(
    fake_api: FakeBotApi, tg_bot: TelegramBot, chat: Chat
) -> None:
    expected = await chat.send("/start")
    user = TelegramUser(fake_api, 1001)
    # One answer, one message: the greeting and the menu arrive together, with its keyboard.
    (menu,) = await user.send("/start")
    assert menu.text == expected.replies[0].text
    assert menu.text.startswith("Hello, I'm Tierline")
    assert "What would you like to do?" in menu.text
    assert menu.buttons == [(b.label, b.data) for b in expected.replies[-1].buttons]
    assert ("Talk to a person", "nav:agent") in menu.buttons


async def test_a_button_press_is_answered_and_its_keyboard_removed(
    fake_api: FakeBotApi, tg_bot: TelegramBot, chat: Chat
) -> None:
    await chat.send("/start")
    expected = await chat.press("nav:agent")
    user = TelegramUser(fake_api, 1002)
    (menu,) = await user.send("/start")
    replies = await user.press(menu, "nav:agent", expect=len(expected.replies))

    answers = fake_api.calls("answerCallbackQuery")
    assert len(answers) == 1 and answers[0].status == 200
    # The answer came before the reply was sent: the client's spinner stops at once.
    assert answers[0].at <= replies[0].at
    assert fake_api.messages(user.id)[0].buttons == []  # the menu's keyboard is gone
    assert [m.text for m in replies] == [r.text for r in expected.replies]


async def test_a_case_status_typed_or_asked_with_status_shows_the_real_answer(
    fake_api: FakeBotApi, tg_bot: TelegramBot
) -> None:
    user = TelegramUser(fake_api, 1004)
    await user.send("/start")
    (ask,) = await user.send("/status")  # without a receipt number: asked for one
    assert "Please type the receipt number" in ask.text
    for text in ("eac-21-900-00001", f"/status {RECEIPT}", "EAC 219 000 0001"):
        (answer,) = await user.send(text)
        lines = answer.text.splitlines()
        assert lines[0] == "Case EAC2190000001 (Form I-485)", text
        assert lines[1] == (
            "Status: Case Was Received And A Receipt Notice Was Sent, on October 5, 2026."
        )
        assert "What it means: USCIS has the application or petition" in answer.text
        assert "Next step: Nothing to do yet." in answer.text
        assert [label for label, _ in answer.buttons] == [
            "Check another case",
            "That didn't help",
            "Back",  # to the step that asked for the receipt
            "Main menu",
        ]
    (wrong,) = await user.send("/status EAC219000000")
    assert "What you typed has 12" in wrong.text


async def test_a_biometrics_appointment_is_rescheduled_by_button_presses(
    fake_api: FakeBotApi, tg_bot: TelegramBot, tg_engine: Engine
) -> None:
    user = TelegramUser(fake_api, 1012)
    await user.send("/start")
    (ask,) = await user.tap("Reschedule biometrics")
    assert "type the receipt number" in ask.text
    (causes,) = await user.send(ELIGIBLE)
    assert causes.text.startswith(
        "Your appointment on Tuesday, March 12, 2030, 9:00 a.m. "
        "at the New York ASC can be moved online.\n\n"
    )
    assert "Illness or a medical appointment" in [label for label, _ in causes.buttons]
    (days,) = await user.tap("Illness or a medical appointment")
    assert "days with free times at the New York ASC" in days.text
    (times,) = await user.tap("Tue Nov 24, from 10:00 a.m.")
    assert "Free times on Tuesday, November 24" in times.text
    (done,) = await user.tap("10:00 a.m.")

    assert done.text.startswith(
        "Done: your biometrics appointment is now on Tuesday, November 24, 2026, 10:00 a.m. "
        "at the New York ASC, 100 Example Plaza, New York, NY 10007 (demo)."
    )
    assert "Please bring:" in done.text and "A valid photo ID" in done.text
    assert "Form I-797C" in done.text
    assert done.buttons == [("Main menu", "nav:menu")]
    user.assert_every_press_answered_and_its_keyboard_removed()
    assert len(user.presses) == 4
    assert await tg_engine.state_of(_key(user)) == "automated.biometrics.booked"

    # A client still showing the old times cannot book a second appointment with them.
    (stale,) = await user.press(times, "bio:slot:nyc:202611241030")
    assert stale.text.startswith(tg_engine.text("error.stale_button"))
    await user.tap("Main menu")
    await user.tap("Reschedule biometrics")
    (moved,) = await user.send(ELIGIBLE)
    assert moved.text.startswith("Your appointment on Tuesday, November 24, 2026, 10:00 a.m.")


async def test_an_escalation_ends_in_a_booked_officer_callback(
    fake_api: FakeBotApi, tg_bot: TelegramBot, tg_engine: Engine
) -> None:
    user = TelegramUser(fake_api, 1003)
    await user.send("/start")
    (who,) = await user.tap("Talk to a person")
    assert who.text == "I'm passing you to a Tier 1 operator.\n\nFirst, who are you in this case?"
    (issue,) = await user.tap("I am the applicant")
    assert issue.text == "What do you need help with?"
    (need,) = await user.tap("I need an in-person visit")
    assert need.text == "What would the visit be for?"
    (evidence,) = await user.tap("Proof of status")
    assert "Do you have documents" in evidence.text
    # Five paragraphs, one message: the days' keyboard comes with the first send.
    (days,) = await user.tap("Yes, I have them")
    likely, tier2, urgent, within, _prompt = days.text.split("\n\n")
    assert "likely to offer you a field-office visit" in likely
    assert "Tier 2 officer" in tier2 and "urgent" in urgent
    assert "72 hours" in within
    assert days.buttons[:2] == [
        ("Mon Nov 23, from 11:00 a.m.", "day:20261123"),
        ("Tue Nov 24, from 7:00 a.m.", "day:20261124"),
    ]
    (times,) = await user.tap("Mon Nov 23")
    assert times.buttons[:2] == [
        ("11:00 a.m.", "slot:20261123T1100"),
        ("11:30 a.m.", "slot:20261123T1130"),
    ]
    (phone,) = await user.tap("11:00 a.m.")
    assert phone.text == "Which US phone number should the officer call?"
    (zip_code,) = await user.send("(202) 555-0143")
    assert "ZIP code" in zip_code.text
    (confirm,) = await user.send("10278")
    assert confirm.text == (
        "Please check: an officer will call (202) 555-0143 on Monday, "
        "November 23, 2026, 11:00 a.m., Eastern time. Shall I book it?"
    )
    # The confirmation comes through the durable outbox, pushed as soon as it is booked.
    (booked,) = await user.tap("Yes, book it")

    match = re.fullmatch(
        r"Booked\. An officer will call \(202\) 555-0143 on Monday, November 23, 2026, "
        r"11:00 a\.m\., Eastern time\. Your reference is (CB-[A-Z0-9]{6})\. "
        r"If nobody answers twice.*",
        booked.text,
        re.DOTALL,  # the practice note follows on its own line
    )
    assert match, booked.text
    assert booked.text.endswith("nobody will actually call you.")
    assert "reminder" not in booked.text.lower()  # the call is today: none is queued
    assert ("That's all, thank you", "nav:finish") in booked.buttons
    user.assert_every_press_answered_and_its_keyboard_removed()
    assert len(user.presses) == 8
    assert await tg_engine.state_of(_key(user)) == "tier2.booked"
    # "My requests" on the main menu shows it.
    await user.tap("Main menu")
    (mine,) = await user.tap("My requests")
    assert match.group(1) in mine.text


async def test_a_forged_button_gets_a_clear_reply_and_changes_nothing(
    fake_api: FakeBotApi, tg_bot: TelegramBot, tg_engine: Engine
) -> None:
    user = TelegramUser(fake_api, 1005)
    (menu,) = await user.send("/start")
    state = await tg_engine.state_of(_key(user))
    stale = tg_engine.text("error.stale_button")
    forgeries = (
        "go:take_over_the_world",
        "x" * 100,
        "tier2:book:2026-01-01T00:00",
        # well formed, but not offered in this message: nothing is booked
        "confirm:yes",
        "slot:20261123T1100",
        "bio:slot:nyc:202611241000",
    )
    for forged in forgeries:
        (reply,) = await user.press(menu, forged)
        # Said why, then the menu's question again, its buttons live.
        assert reply.text.startswith(stale) and "What would you like to do?" in reply.text
        assert ("Check a case status", "go:status") in reply.buttons
        assert await tg_engine.state_of(_key(user)) == state
    assert len(fake_api.calls("answerCallbackQuery")) == len(forgeries)
    assert await tg_engine.services.ports.db.fetchall("SELECT reference FROM callbacks") == []


async def test_a_photo_or_sticker_gets_a_text_only_reply(
    fake_api: FakeBotApi, tg_bot: TelegramBot, tg_engine: Engine
) -> None:
    user = TelegramUser(fake_api, 1006)
    fake_api.user_sends_photo(user.id)
    await wait_until(lambda: fake_api.texts(user.id), what="the reply to a photo")
    fake_api.user_sends_sticker(user.id)
    await wait_until(lambda: len(fake_api.texts(user.id)) == 2, what="the reply to a sticker")
    assert fake_api.texts(user.id) == [tg_engine.text("telegram.text_only")] * 2


async def test_an_edited_message_is_ignored(
    fake_api: FakeBotApi, tg_bot: TelegramBot, tg_engine: Engine
) -> None:
    user = TelegramUser(fake_api, 1007)
    await user.send("/start")
    typed = fake_api.user_sends(user.id, "hello")
    await wait_until(lambda: len(fake_api.texts(user.id)) == 2, what="the reply to hello")
    fake_api.user_edits(user.id, typed["message"]["message_id"], "/agent")
    (reply,) = await user.send("/help")  # handled after the edit, which said nothing
    assert reply.text.startswith(tg_engine.text("help.text"))
    assert len(fake_api.messages(user.id)) == 3
    assert await tg_engine.state_of(_key(user)) == "automated.menu"


async def test_in_a_group_the_bot_says_once_that_it_talks_in_private_only(
    fake_api: FakeBotApi, tg_bot: TelegramBot, tg_engine: Engine
) -> None:
    group = -100500
    for text in ("/start", "hello bot", RECEIPT):
        fake_api.user_sends(1008, text, chat_id=group, chat_type="supergroup")
    fake_api.user_sends(1009, "/start")  # a private chat, to know the group was handled
    await wait_until(lambda: fake_api.texts(1009), what="the private reply")
    await wait_until(lambda: fake_api.texts(group), what="the group reply")
    assert fake_api.texts(group) == [tg_engine.text("telegram.private_only")]
    assert fake_api.texts(1008) == []  # nothing said to the group member in private


async def test_one_chat_is_answered_in_order_while_another_is_not_held_up(
    fake_api: FakeBotApi, tg_bot: TelegramBot, chat: Chat
) -> None:
    slow, quick = TelegramUser(fake_api, 1010), TelegramUser(fake_api, 1011)
    fake_api.fail("sendMessage", "slow", delay=1.5, chat_id=slow.id)
    fake_api.user_sends(slow.id, "/help")
    fake_api.user_sends(slow.id, "/menu")
    await wait_until(lambda: fake_api.calls("sendMessage"), what="the slow send to start")
    fake_api.user_sends(quick.id, "/help")
    await wait_until(lambda: len(fake_api.texts(slow.id)) == 2, what="both slow replies")
    help_text = (await chat.send("/help")).replies[0].text
    menu_text = (await chat.send("/menu")).replies[0].text
    assert fake_api.texts(slow.id) == [help_text, menu_text]  # in order despite the delay
    assert fake_api.messages(quick.id)[0].at < fake_api.messages(slow.id)[0].at


def _key(user: TelegramUser) -> ConversationKey:
    return ConversationKey("telegram", str(user.id))


async def test_a_callback_confirmation_is_pushed_at_once_not_at_the_next_poll(
    fake_api: FakeBotApi, tg_settings: Settings, db: Database, clock: FixedClock
) -> None:
    """The confirmation lives in the durable outbox; the turn that books it wakes the
    pusher, so the applicant does not wait for the next round (a minute here)."""
    slow = tg_settings.model_copy(
        update={"telegram": fast_telegram(fake_api.base_url, notice_poll_seconds=60)}
    )
    engine = await create_engine(slow, db, clock, pull_notices=frozenset())
    async with running(engine, slow):
        user = TelegramUser(fake_api, 1090)
        await user.send("/start")
        started = time.monotonic()
        reference = await book_callback(user)  # waits at most 10 s for the confirmation
        assert time.monotonic() - started < 30
    row = await db.fetchone(
        "SELECT delivered_at FROM outbox WHERE kind = 'callback.confirmation' AND user_id = ?",
        ("1090",),
    )
    assert row is not None and row["delivered_at"] is not None
    assert reference.startswith("CB-")
