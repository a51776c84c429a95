"""A fake outside server on 127.0.0.1 with an event loop of its own (shared with the fake
Telegram Bot API in bot/adapters/telegram/fake_api.py)."""

from bot.adapters.telegram.fake_api import LoopbackServer

__all__ = ["LoopbackServer"]
