"""Runs the declarations of `flows/` for one turn.

For the input of a turn: a ``nav:`` button or a slash command runs that command's routes; a
button is decoded by the codec against what the last step offered; typed text is read in
this order:

1. the step's own parser and routes (a refusal waits until the readings below had their
   say, so ``help`` typed where a phone number is asked is help, not a bad number);
2. the tier's intercepts (a receipt number typed anywhere, a wish for a person);
3. the label of a button of the step's question ("Later times"), as if it were pressed;
4. the words understood by `flows.understanding` (``help``, ``menu``, ``staus``, a
   Spanish greeting, ``reschedule`` for the menu item that says it);
5. the step's refusal, if it had one; else the tier's fallback.

A signal (news from staff or the clock) is offered to the current step's routes only, as an
answer of kind `signal_kind(name)`; when none takes it, nothing of the turn is kept.

Routes are tried in order: a route is skipped when the shared machine does not allow its
trigger from here, or when its guard returns None. The first decision is applied: its
sentences said, its state kept, its effect run (and the `leave` effect of a step the
transition leaves), its trigger fired with the decision's rule id recorded, and the step it
arrives in shown.

What is answered in place (a command, an intercept, text not understood, a stale button)
never kills the step: its question is asked again with its buttons, and the buttons it
offered before stay live. Every step but the main menu ends with Back (when there is a
step to go back to) and Main menu; they are added here, so no step declares them.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Sequence

from bot.engine import codec
from bot.engine.services import Services
from bot.engine.turn import Turn
from bot.model import Button, Reply
from flows import understanding
from flows.steps import BACK, MENU, Answer, Choice, Decision, Route, Say, Shown, Step, signal_kind

log = logging.getLogger(__name__)

Taken = tuple[Route | None, Decision]


class Interpreter:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.program = services.program
        self.definition = services.definition
        self._text_chars = services.settings.limits.text_chars  # (settings are slow to read)
        # Rendered once: what a step shows or asks when it never changes (the main menu),
        # by the identity of its declared `Shown`.
        self._rendered: dict[tuple[int, str], tuple[Reply, ...]] = {}
        self._way_outs: dict[str, tuple[tuple[Button, ...], tuple[Button, ...]]] = {}
        # (buttons, language, Back offered) -> the buttons with the way out (None: as they are)
        self._ended: dict[tuple[tuple[Button, ...], str, bool], tuple[Button, ...] | None] = {}

    def _way_out(self, turn: Turn) -> tuple[tuple[Button, ...], tuple[Button, ...]]:
        """(Main menu,) and (Back, Main menu) in the turn's language."""
        found = self._way_outs.get(turn.language)
        if found is None:
            text = turn.messages.text
            menu = Button(text(MENU.label), MENU.kind)
            found = self._way_outs[turn.language] = (
                (menu,),
                (Button(text(BACK.label), BACK.kind), menu),
            )
        return found

    async def run(self, turn: Turn) -> None:
        definition = self.definition
        current = turn.current
        step = self.program.step(current)
        if step is None or not definition.has_state(current):
            # A state removed by a newer release: start again at the menu rather than fail.
            log.warning("conversation was in unknown state %s; reset", current)
            turn.reset_to(definition.initial)
            turn.say(Say("error.reset"))
            step = self.program.step(turn.current)
        assert step is not None

        if turn.input.signal is not None:
            signal = turn.input.signal
            news = Answer(signal_kind(signal[0]), signal[1:])
            taken = await self._decide(turn, step.routes, news, step)
            if taken is None:
                turn.reject()  # no step here expects it: nothing is said or kept
                return
            await self._apply(turn, *taken, step)
            return
        if turn.input.button is not None:
            await self._pressed(turn, step, turn.input.button)
        else:
            await self._typed(turn, step)
        self._add_way_out(turn)

    async def ask_again(self, turn: Turn) -> None:
        """Only the current step's question, with Back and Main menu (a reopened chat)."""
        step = self.program.step(turn.current)
        if step is not None:
            await self.ask(turn, step)
            self._add_way_out(turn)

    # ---- what came in ---------------------------------------------------------------------

    async def _pressed(self, turn: Turn, step: Step, data: str) -> None:
        command = codec.nav_command(data)
        if command is not None and codec.fits(data):
            # A nav button may carry its command's arguments: nav:language:es
            name, _, args = command.partition(":")
            await self._command(turn, step, name, args.replace(":", " "))
            return
        answer = codec.decode(data, step.kinds, turn.stored.offered)
        taken = await self._decide(turn, step.routes, answer, step) if answer else None
        if taken is None:
            await self._refuse(turn, step, Say("error.stale_button"))
            return
        await self._apply(turn, *taken, step)

    async def _typed(self, turn: Turn, step: Step) -> None:
        raw = turn.input.text or ""
        limit = self._text_chars
        if len(raw) > 2 * limit:  # far too long: refused before any work on it
            await self._refuse(turn, step, Say("error.too_long", {"limit": limit}))
            return
        text = _clean_text(raw)
        if not text:
            await self._refuse(turn, step, Say("error.empty"))
            return
        if len(text) > limit:
            await self._refuse(turn, step, Say("error.too_long", {"limit": limit}))
            return
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            name = name.split("@", 1)[0].lower()  # "/start@TierlineBot" in groups
            await self._command(turn, step, name, args.strip())
            return

        typed = Answer("text", text=text)
        refusal: Taken | None = None
        if step.parse is not None:
            turn.answer = typed
            if step.needs:
                await self._load(turn, step.needs)
            parsed = step.parse(text, turn.facts())
            if isinstance(parsed, Decision):
                if not parsed.reject:
                    await self._apply(turn, None, parsed, step)
                    return
                refusal = (None, parsed)
            elif parsed is not None:
                taken = await self._decide(turn, step.routes, parsed, step)
                if taken is not None and not taken[1].reject:
                    await self._apply(turn, *taken, step)
                    return
                refusal = taken
        taken = await self._decide(turn, self.program.intercepts(turn.current), typed, step)
        # An intercept that would only refuse (a receipt number mistyped) does not override
        # the step's own refusal: "Nov 28 2026" where a date is asked is a date on a weekend.
        if taken is not None and not (refusal is not None and taken[1].reject):
            await self._apply(turn, *taken, step, in_place=True)
            return
        # Nothing read it as an answer: a button's label, or words that name something.
        labels = {b.data: b.label for r in await self._question(turn, step) for b in r.buttons}
        pressed = understanding.label_for(text, labels)
        if pressed is not None:
            await self._pressed(turn, step, pressed)
            return
        reading = understanding.read(text, labels)
        if reading is not None and reading.command is not None:
            await self._command(turn, step, reading.command, reading.args)
            return
        if reading is not None and reading.button is not None:
            await self._pressed(turn, step, reading.button)
            return
        if refusal is not None:
            await self._apply(turn, *refusal, step)
            return
        for tier in self.program.tiers:
            if tier.fallback is not None and turn.current.startswith(tier.intercept_prefix):
                turn.answer = typed
                decision = tier.fallback(turn.facts())
                if decision is not None:
                    await self._apply(turn, None, decision, step, in_place=True)
                    return

    async def _command(self, turn: Turn, step: Step, name: str, args: str) -> None:
        command = self.program.command(name)
        answer = Answer("/" + name, tuple(args.split()) if args else (), text=args)
        taken = await self._decide(turn, command.routes, answer, None) if command else None
        if taken is None:
            commands = ", ".join("/" + c for c in self.program.commands())
            await self._refuse(turn, step, Say("error.unknown_command", {"commands": commands}))
            return
        await self._apply(turn, *taken, step, in_place=True)

    # ---- deciding and applying ------------------------------------------------------------

    async def _decide(
        self, turn: Turn, routes: Sequence[Route], answer: Answer, step: Step | None
    ) -> Taken | None:
        turn.answer = answer
        if step is not None and step.needs:
            await self._load(turn, step.needs)
        allowed = self.definition.triggers_from(turn.current)  # guards do not move it
        for route in routes:
            if route.trigger is not None and route.trigger not in allowed:
                continue
            if route.needs:
                await self._load(turn, route.needs)
            decision = route.when(turn.facts())
            if decision is not None:
                return route, decision
        return None

    async def _apply(
        self,
        turn: Turn,
        route: Route | None,
        decision: Decision,
        step: Step,
        *,
        in_place: bool = False,
    ) -> None:
        """Apply `decision`. `in_place`: it answers something other than the step's own
        question (a command, an intercept, the fallback); when the conversation stays, the
        step's question is asked again and its buttons stay live."""
        turn.rule = decision.rule
        turn.why = route.doc if route is not None else ""
        if decision.reject:
            turn.reject(*decision.says, choices=decision.choices)
            if in_place:
                await self.ask(turn, step)
            return
        if decision.state is not None:
            turn.state = decision.state
        turn.say(*decision.says, choices=decision.choices)
        if route is not None and route.effect is not None:
            await self.program.actions.effects[route.effect](turn)
            if turn.rejected:
                return
        if route is not None and route.trigger is not None:
            here = self.program.step(turn.current)
            if here is not None and here.leave is not None:  # most steps have nothing to do
                await self._leave(turn, route.trigger)
                if turn.rejected:
                    return
            turn.fire(route.trigger, decision.rule, committed=route.effect is not None)
            turn.loaded_names.clear()  # the next step loads what it needs afresh
            turn.question = None
            arrived = self.program.step(turn.current)
            if arrived is not None:
                await (self.ask(turn, arrived) if route.asks else self.show(turn, arrived))
        elif decision.again:
            await self.show(turn, step)
        elif in_place:
            turn.keep_offered = True
            await self.ask(turn, step)

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

    async def _refuse(self, turn: Turn, step: Step, said: Say) -> None:
        """Input that cannot be taken at all: say why, and ask the step's question again."""
        turn.reject(said)
        await self.ask(turn, step)

    # ---- showing --------------------------------------------------------------------------

    async def show(self, turn: Turn, step: Step) -> None:
        show = step.show
        if show is None:
            return
        if isinstance(show, Shown):
            turn.replies.extend(self._constant(turn, step, show))
            return
        turn.answer = _NO_ANSWER
        if step.needs:
            await self._load(turn, step.needs)
        shown = show(turn.facts())
        if shown.state is not None:
            turn.state = shown.state
        _check_kinds(step, shown.choices, *(s.choices for s in shown.says))
        turn.say(*shown.says, choices=shown.choices)
        for notice in shown.notices:
            turn.notify(turn.notice(notice.say, notice.choices), kind=notice.kind)

    async def ask(self, turn: Turn, step: Step) -> None:
        """Ask the step's question again: what it asks and its choices, nothing recorded."""
        turn.replies.extend(await self._question(turn, step))

    async def _question(self, turn: Turn, step: Step) -> tuple[Reply, ...]:
        """The step's question as replies, worked out once per turn."""
        if turn.question is not None and turn.question_language == turn.language:
            return turn.question
        prompt = self.program.prompt(step.state)
        if prompt is None:
            replies: tuple[Reply, ...] = ()
        elif isinstance(prompt, Shown):
            replies = self._constant(turn, step, prompt)
        else:
            turn.answer = _NO_ANSWER
            if step.needs:
                await self._load(turn, step.needs)
            shown = prompt(turn.facts())
            _check_kinds(step, shown.choices, *(s.choices for s in shown.says))
            replies = turn.render(*shown.says, choices=shown.choices)
        turn.question, turn.question_language = replies, turn.language
        return replies

    def _constant(self, turn: Turn, step: Step, shown: Shown) -> tuple[Reply, ...]:
        key = (id(shown), turn.language)
        replies = self._rendered.get(key)
        if replies is None:
            _check_kinds(step, shown.choices, *(s.choices for s in shown.says))
            replies = self._rendered[key] = turn.render(*shown.says, choices=shown.choices)
        return replies

    def _add_way_out(self, turn: Turn) -> None:
        """Back (when there is a step to go back to) and Main menu at the end of the last
        reply's buttons, on every step but the main menu."""
        replies = turn.replies
        if not replies:
            return
        stored = turn.stored
        current, trail = (
            (stored.state, stored.trail) if turn.rejected else (turn.current, turn.trail)
        )
        if current == self.definition.initial:
            return
        last = replies[-1]
        buttons = last.buttons
        back = bool(trail) and self.definition.back_to(trail, current) is not None
        memo = (buttons, turn.language, back)
        try:  # one look-up: the key hashes every button
            ended = self._ended[memo]
        except KeyError:
            if len(self._ended) >= _ENDED_MEMO:  # labels with dates and times vary
                self._ended.clear()
            ended = self._ended[memo] = self._with_way_out(turn, buttons, back)
        if ended is not None:
            replies[-1] = Reply(last.text, ended)

    def _with_way_out(
        self, turn: Turn, buttons: tuple[Button, ...], back: bool
    ) -> tuple[Button, ...] | None:
        """`buttons` ending with the way out, or None when they already do."""
        kept = tuple(b for b in buttons if b.data not in _WAY_OUT_DATA)
        # A step that offers its own Back (from a day's times to the days) keeps it alone.
        way_outs = self._way_out(turn)
        own_back = any(b.label == way_outs[1][0].label for b in kept)
        way_out = way_outs[back and not own_back]
        if buttons[-len(way_out) :] == way_out and len(kept) + len(way_out) == len(buttons):
            return None
        return kept + way_out

    async def _load(self, turn: Turn, needs: Iterable[str]) -> None:
        loaders = self.program.actions.loaders
        for name in needs:  # most steps and routes need nothing: the loop is then empty
            if name not in turn.loaded_names:
                turn.loaded_names.add(name)
                await loaders[name](turn)


_NO_ANSWER = Answer("")  # frozen: one for every turn
_WAY_OUT_DATA = frozenset({BACK.kind, MENU.kind})
_ENDED_MEMO = 4096  # keyboards remembered with their way out


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
