"""One conversation driven turn by turn, the way the console and the trainer drive it.

A `Session` runs the clock-driven work, then the turn, and turns a turn that could not be
saved into the catalogue's apology (with the state the conversation is still in), so a
caller never sees a traceback. It also remembers the buttons on screen, so a numbered
choice can be pressed; the numbers of a list stay valid until a new list replaces it.
"""

from __future__ import annotations

from bot.engine.engine import Engine, TurnNotSaved
from bot.model import Button, ConversationKey, Reply, TurnInput, TurnResult
from flows.machine import tier_of


class Session:
    def __init__(self, engine: Engine, key: ConversationKey) -> None:
        self.engine = engine
        self.key = key
        self.last_buttons: tuple[Button, ...] = ()
        # The channel's word on the user's language (the console's --lang): used until the
        # applicant chooses one (bot/languages.py).
        self.language: str | None = None

    async def turn(self, *, text: str | None = None, button: str | None = None) -> TurnResult:
        await self.engine.tick()
        inp = TurnInput(
            self.key, self.engine.now(), text=text, button=button, language=self.language
        )
        try:
            result = await self.engine.handle(inp)
        except TurnNotSaved:
            result = await self.answer("error.not_saved")
        self.remember(result)
        return result

    def remember(self, result: TurnResult) -> None:
        """Keep the buttons on screen: a new list replaces the old one, but buttons that are
        all already listed (a refusal that offers Main menu, a question asked again) keep
        the list as it was, so its numbers stay valid."""
        shown = tuple(b for r in result.replies for b in r.buttons)
        if not shown:
            return
        listed = {b.data for b in self.last_buttons}
        if not all(b.data in listed for b in shown):
            self.last_buttons = shown

    def number_of(self, button: Button) -> int:
        """The number `button` has in the list on screen (from 1)."""
        for number, listed in enumerate(self.last_buttons, start=1):
            if listed.data == button.data:
                return number
        raise ValueError(f"{button.data!r} is not on screen")

    async def answer(self, key: str, **params: object) -> TurnResult:
        """A reply from the catalogue that changes nothing (where the conversation stands)."""
        state = await self.engine.state_of(self.key)
        return TurnResult(state, tier_of(state), (Reply(self.engine.text(key, **params)),))
