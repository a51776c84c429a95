"""An applicant's chat with the bot, end to end: the real bot against the fake Bot API."""

from __future__ import annotations

from bot.adapters.telegram.app import TelegramBot
from bot.engine import ConversationKey, Engine
from tests.conftest import Chat
from tests.fake_bot_api import FakeBotApi, wait_until
from tests.telegram.conftest import TelegramUser

RECEIPT = "EAC2190000001"


async def test_start_greets_and_shows_the_menu_with_buttons(
    fake_api: FakeBotApi, tg_bot: TelegramBot, chat: Chat
) -> None:
    expected = await chat.send("/start")
    user = TelegramUser(fake_api, 1001)
    greeting, menu = await user.send("/start", expect=2)
    assert [greeting.text, menu.text] == [r.text for r in expected.replies]
    assert menu.buttons == [(b.label, b.data) for b in expected.replies[-1].buttons]
    assert ("Talk to a person", "nav:agent") in menu.buttons


async def test_a_button_press_is_answered_and_its_keyboard_removed(
    fake_api: FakeBotApi, tg_bot: TelegramBot, chat: Chat
) -> None:
    await chat.send("/start")
    expected = await chat.press("nav:agent")
    user = TelegramUser(fake_api, 1002)
    _, menu = await user.send("/start", expect=2)
    replies = await user.press(menu, "nav:agent", expect=len(expected.replies))

    answers = fake_api.calls("answerCallbackQuery")
    assert len(answers) == 1 and answers[0].status == 200
    # The answer came before the reply was sent: the client's spinner stops at once.
    assert answers[0].at <= replies[0].at
    assert fake_api.messages(user.id)[1].buttons == []  # the menu's keyboard is gone
    assert [m.text for m in replies] == [r.text for r in expected.replies]


async def test_escalation_reaches_tier1_intake(
    fake_api: FakeBotApi, tg_bot: TelegramBot, tg_engine: Engine, chat: Chat
) -> None:
    await chat.send("/start")
    expected = await chat.press("nav:agent")
    assert expected.state.startswith("tier1.")
    user = TelegramUser(fake_api, 1003)
    _, menu = await user.send("/start", expect=2)
    replies = await user.press(menu, "nav:agent", expect=len(expected.replies))
    assert [m.text for m in replies] == [r.text for r in expected.replies]
    assert await tg_engine.state_of(_key(user)) == expected.state


async def test_case_status_by_text_and_by_status_command_delivers_the_engines_answer(
    fake_api: FakeBotApi, tg_bot: TelegramBot, chat: Chat
) -> None:
    user = TelegramUser(fake_api, 1004)
    await chat.send("/start")
    await user.send("/start", expect=2)
    for text in ("EAC-21-900-00001", f"/status {RECEIPT}"):
        expected = await chat.send(text)
        replies = await user.send(text, expect=len(expected.replies))
        assert [m.text for m in replies] == [r.text for r in expected.replies]
        assert [m.buttons for m in replies] == [
            [(b.label, b.data) for b in r.buttons] for r in expected.replies
        ]


async def test_a_forged_button_gets_a_clear_reply_and_changes_nothing(
    fake_api: FakeBotApi, tg_bot: TelegramBot, tg_engine: Engine
) -> None:
    user = TelegramUser(fake_api, 1005)
    _, menu = await user.send("/start", expect=2)
    state = await tg_engine.state_of(_key(user))
    stale = tg_engine.text("error.stale_button")
    for forged in ("go:take_over_the_world", "x" * 100, "tier2:book:2026-01-01T00:00"):
        (reply,) = await user.press(menu, forged)
        assert reply.text == stale
        assert await tg_engine.state_of(_key(user)) == state
    assert len(fake_api.calls("answerCallbackQuery")) == 3


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
    await user.send("/start", expect=2)
    typed = fake_api.user_sends(user.id, "hello")
    await wait_until(lambda: len(fake_api.texts(user.id)) == 3, what="the reply to hello")
    fake_api.user_edits(user.id, typed["message"]["message_id"], "/agent")
    (reply,) = await user.send("/help")  # handled after the edit, which said nothing
    assert reply.text == tg_engine.text("help.text")
    assert len(fake_api.messages(user.id)) == 4
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
