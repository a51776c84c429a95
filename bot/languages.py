"""The languages an applicant may be spoken to in, and how one is picked.

The way aiogram's i18n middleware and grammY pick a language: the applicant's stored choice
(`/language`, the menu's Language item, "hablo español"), else what the channel says about
the user (Telegram's `language_code`: `es`, `es-MX`, `es-419` … are Spanish), else the
deployment's `default_language` setting.

English is the catalogue every key is written in first (`config/messages/*.toml`); another
language mirrors it in `config/messages/<code>/*.toml` and must give every applicant-facing
key with the same placeholders (checked when the catalogue loads, and by the tests). Text
only staff, operators and trainers read may stay English: `STAFF_ONLY` names it, here and
nowhere else.
"""

from __future__ import annotations

from functools import lru_cache

ENGLISH = "en"
SPANISH = "es"
# code -> the language's name in itself (button labels, /language's answer)
LANGUAGES: dict[str, str] = {ENGLISH: "English", SPANISH: "Español"}
BASE = ENGLISH  # the catalogue the others mirror

# Catalogue keys (a dotted prefix matches every key under it) that only staff, operators or
# trainers read: they may stay English in every other language's catalogue.
STAFF_ONLY: tuple[str, ...] = (
    "tier2.staff.",  # the officers' desk: queue lines, full records, errors, the CLI
    "tier1.live_chat.staff.",  # what an operator reads in a live chat
    "field_office.staff.",  # what an officer reads about a field office
    "telegram.staff.",  # the staff commands' answers on Telegram
    # the staff commands' descriptions in Telegram's command menu
    "telegram.commands.queue",
    "telegram.commands.take",
    "telegram.commands.show",
    "telegram.commands.done",
    "telegram.commands.release",
    "telegram.commands.handover",
    "telegram.commands.chats",
    "telegram.commands.pick",
    "telegram.commands.say",
    "telegram.commands.handback",
    "telegram.commands.resolve",
    "telegram.commands.request",
    "telegram.commands.callback",
)


def staff_only(key: str) -> bool:
    return any(key == p or (p.endswith(".") and key.startswith(p)) for p in STAFF_ONLY)


@lru_cache(maxsize=256)  # a turn asks several times; the codes seen are few
def language_of(code: str | None) -> str | None:
    """The language a channel's code names (`es-MX` -> `es`), or None when we speak none
    that fits it."""
    if not code:
        return None
    base = code.strip().replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


def pick(stored: str | None, hint: str | None, default: str) -> str:
    """The language to speak: the stored choice, else the channel's hint, else `default`."""
    return language_of(stored) or language_of(hint) or default
