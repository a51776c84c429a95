"""Runs the declarations of `flows/` for one turn.

For the input of a turn: a ``nav:`` button or a slash command runs that command's routes; a
button is decoded by the codec against what the last step offered; typed text is parsed by
the step's own parser; text no step took goes to the tier's intercepts, then its fallback.
A signal (news from staff or the clock) is offered to the current step's routes only, as an
answer of kind `signal_kind(name)`; when none takes it, nothing of the turn is kept.
Routes are tried in order: a route is skipped when the shared machine does not allow its
trigger from here, or when its guard returns None. The first decision is applied: its
sentences said, its state kept, its effect run (and the `leave` effect of a step the
transition leaves), its trigger fired with the decision's rule id recorded, and the step it
arrives in shown.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Sequence

from bot.engine import codec
from bot.engine.services import Services
from bot.engine.turn import Turn
from flows.steps import Answer, Choice, Decision, Route, Say, Step, signal_kind

log = logging.getLogger(__name__)


class Interpreter:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.program = services.program

    async def run(self, turn: Turn) -> None:
        definition = self.services.definition
        if not definition.has_state(turn.current) or self.program.step(turn.current) is None:
            # A state removed by a newer release: start again at the menu rather than fail.
            log.warning("conversation was in unknown state %s; reset", turn.current)
            turn.reset_to(definition.initial)
            turn.say(Say("error.reset"))
        step = self.program.step(turn.current)
        assert step is not None

        if turn.input.signal is not None:
            signal = turn.input.signal
            news = Answer(signal_kind(signal[0]), signal[1:])
            if not await self._take(turn, step.routes, news, step):
                turn.reject()  # no step here expects it: nothing is said or kept
            return

        data = turn.input.button
        if data is not None:
            command = codec.nav_command(data)
            if command is not None and codec.fits(data):
                await self._command(turn, command, "")
                return
            answer = codec.decode(data, step.kinds, turn.stored.offered)
            if answer is None or not await self._take(turn, step.routes, answer, step):
                turn.reject(Say("error.stale_button"))
            return

        raw = turn.input.text or ""
        limit = self.services.settings.limits.text_chars
        if len(raw) > 2 * limit:  # far too long: refused before any work on it
            turn.reject(Say("error.too_long", {"limit": limit}))
            return
        text = _clean_text(raw)
        if not text:
            turn.reject(Say("error.empty"))
            return
        if len(text) > limit:
            turn.reject(Say("error.too_long", {"limit": limit}))
            return
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            name = name.split("@", 1)[0].lower()  # "/start@TierlineBot" in groups
            await self._command(turn, name, args.strip())
            return

        typed = Answer("text", text=text)
        if step.parse is not None:
            turn.answer = typed
            if step.needs:
                await self._load(turn, step.needs)
            parsed = step.parse(text, turn.facts())
            if isinstance(parsed, Decision):
                await self._apply(turn, None, parsed, step)
                return
            if parsed is not None and await self._take(turn, step.routes, parsed, step):
                return
        if await self._take(turn, self.program.intercepts(turn.current), typed, step):
            return
        for tier in self.program.tiers:
            if tier.fallback is not None and turn.current.startswith(tier.intercept_prefix):
                turn.answer = typed
                decision = tier.fallback(turn.facts())
                if decision is not None:
                    await self._apply(turn, None, decision, step)
                    return

    async def _command(self, turn: Turn, name: str, args: str) -> None:
        command = self.program.command(name)
        answer = Answer("/" + name, tuple(args.split()) if args else (), text=args)
        if command is None or not await self._take(turn, command.routes, answer, None):
            commands = ", ".join("/" + c for c in self.program.commands())
            turn.reject(Say("error.unknown_command", {"commands": commands}))

    async def _take(
        self, turn: Turn, routes: Sequence[Route], answer: Answer, step: Step | None
    ) -> bool:
        turn.answer = answer
        if step is not None and step.needs:
            await self._load(turn, step.needs)
        for route in routes:
            if route.trigger is not None and not turn.allows(route.trigger):
                continue
            if route.needs:
                await self._load(turn, route.needs)
            decision = route.when(turn.facts())
            if decision is None:
                continue
            await self._apply(turn, route, decision, step)
            return True
        return False

    async def _apply(
        self, turn: Turn, route: Route | None, decision: Decision, step: Step | None
    ) -> None:
        if decision.reject:
            turn.reject(*decision.says, choices=decision.choices)
            return
        turn.rule = decision.rule
        if decision.state is not None:
            turn.state = decision.state
        turn.say(*decision.says, choices=decision.choices)
        if route is not None and route.effect is not None:
            await self.program.actions.effects[route.effect](turn)
            if turn.rejected:
                return
        if route is not None and route.trigger is not None:
            await self._leave(turn, route.trigger)
            if turn.rejected:
                return
            turn.fire(route.trigger, decision.rule)
            turn.loaded_names.clear()  # the next step loads what it needs afresh
            await self.enter(turn)
        elif decision.again and step is not None:
            await self.show(turn, step)

    async def _leave(self, turn: Turn, trigger: str) -> None:
        """Stage the `leave` effect of the step `trigger` takes the conversation out of,
        unless the step it arrives in names the same one (it is still inside)."""
        here = self.program.step(turn.current)
        if here is None or here.leave is None:
            return
        spec = self.services.definition.transition_for(trigger, turn.current)
        there = self.program.step(spec.dest) if spec is not None else None
        if there is not None and there.leave == here.leave:
            return
        await self.program.actions.effects[here.leave](turn)

    async def enter(self, turn: Turn) -> None:
        """Show the step the conversation has just arrived in."""
        step = self.program.step(turn.current)
        if step is not None:
            await self.show(turn, step)

    async def show(self, turn: Turn, step: Step) -> None:
        if step.show is None:
            return
        turn.answer = Answer("")
        if step.needs:
            await self._load(turn, step.needs)
        shown = step.show(turn.facts())
        if shown.state is not None:
            turn.state = shown.state
        _check_kinds(step, shown.choices, *(s.choices for s in shown.says))
        turn.say(*shown.says, choices=shown.choices)
        for notice in shown.notices:
            turn.notify(turn.reply(notice.say, notice.choices), kind=notice.kind)

    async def _load(self, turn: Turn, needs: Iterable[str]) -> None:
        loaders = self.program.actions.loaders
        for name in needs:  # most steps and routes need nothing: the loop is then empty
            if name not in turn.loaded_names:
                turn.loaded_names.add(name)
                await loaders[name](turn)


def _check_kinds(step: Step, *groups: tuple[Choice, ...]) -> None:
    for group in groups:
        for c in group:
            if not c.kind.startswith(codec.NAV) and c.kind not in step.kinds:
                raise ValueError(f"{step.state}: choice kind {c.kind!r} is not declared")


def _clean_text(text: str) -> str:
    """Text without control characters (newlines become spaces) and outer white space."""
    if text.isprintable():  # most text: no control character, nothing to take out
        return text.strip()
    return "".join(
        " " if ch in "\r\n\t" else ch
        for ch in text
        if ch in "\r\n\t" or unicodedata.category(ch)[0] != "C"
    ).strip()
