"""The fake Telegram Bot API: it ships with the Telegram adapter (for `tierline scenarios
run --via telegram`), in bot/adapters/telegram/fake_api.py."""

from bot.adapters.telegram.fake_api import TOKEN, FakeBotApi, Fault, Sent, wait_until

__all__ = ["TOKEN", "FakeBotApi", "Fault", "Sent", "wait_until"]
