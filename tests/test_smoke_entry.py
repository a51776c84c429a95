"""The way in: /start, the menu, help, cancel and asking for a person."""

from tests.conftest import Chat


async def test_start_greets_and_shows_the_menu(chat: Chat) -> None:
    result = await chat.send("/start")
    assert result.state == "automated.menu"
    assert result.tier == "automated"
    assert "Tierline" in result.replies[0].text
    assert "nav:agent" in chat.buttons


async def test_unknown_text_gets_help_and_changes_nothing(chat: Chat) -> None:
    await chat.send("/start")
    result = await chat.send("what is the meaning of life")
    assert result.state == "automated.menu"
    assert "didn't understand" in chat.text


async def test_finish_ends_the_conversation_and_any_message_starts_again(chat: Chat) -> None:
    await chat.send("/start")
    result = await chat.press("nav:finish")
    assert result.state == "closed" and result.tier == "closed"
    assert "Thank you" in chat.text
    again = await chat.press("nav:finish")
    assert again.state == "closed" and "already ended" in chat.text
    back = await chat.send("hi")
    assert back.state == "automated.menu"
