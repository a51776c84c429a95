"""The trainer's classroom: one training session on its own database, played move by move.

A session is a list of moves (what the applicant typed or pressed, a move of the clock, an
officer's action) and a cursor: how many of them have been played. Playing a move runs it
through the same engine, staff desk and clock as every other adapter; stepping back
rebuilds the database from nothing and plays the moves before the cursor again, so what
the page shows is always what those moves produce. A loaded scenario's steps are moves
waiting after the cursor (Forward plays the next one).

Notices (confirmations, reminders, an officer's outcome) are pushed, as Telegram does:
after each move the clock-driven work runs (`Engine.tick`) and every notice due is taken
from the outbox, shown and marked delivered.

`view()` is everything the page draws. Nothing here decides anything about a
conversation; the words a state or a transition is shown with come from the declarations
(`title_of`).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from msgspec import Struct, field
from pydantic import ValidationError

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import Settings
from bot.engine.engine import Engine, TurnNotSaved
from bot.engine.session import Session
from bot.model import CONSOLE, Button, ConversationKey, TurnResult
from bot.storage.database import Database, StorageError
from bot.text import long_when, short_when
from bot.trainer.scenario import DEFAULT_USER, Scenario, ScenarioError, Step, load_scenario
from flows.business_days import holiday_name
from flows.callbacks import reminder_due
from flows.machine import ANY, TIERS, tier_of

TIER_TITLES = {
    "automated": "Automated tier",
    "tier1": "Tier 1 operator",
    "tier2": "Tier 2 officer",
    "closed": "Closed",
}
OUTCOMES = ("resolved", "appointment", "biometrics", "refused", "no-answer")
TRAINER_STAFF = "trainer"
MAX_TEXT = 4096


class MoveRefused(Exception):
    """A move the page asked for cannot be played (bad input); nothing was changed."""


def title_of(engine: Engine, state: str) -> str:
    """The words a state is shown with: the one place the classroom looks titles up (the
    plain titles of config/trainer_titles.toml, else the state's declared description)."""
    from bot.trainer.titles import shipped

    titles = shipped()
    if state in titles.states:
        return titles.state(state)
    d = engine.services.definition
    return d.state(state).doc or state if d.has_state(state) else state


def key_for(user: str) -> ConversationKey:
    return ConversationKey.of(CONSOLE, user)


class Played(Struct):
    """What one played move left behind, for the page and for recording."""

    user: str | None  # whose conversation it was about (None: the clock)
    state: str | None  # that conversation's state afterwards
    result: TurnResult | None = None
    before: str | None = None  # input moves: the state the input was typed in


class Board(Struct):
    """Mutable state of the session between moves (rebuilt with the database)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    keyboards: dict[str, tuple[Button, ...]] = field(default_factory=dict)
    played: list[Played] = field(default_factory=list)
    fired: list[dict[str, str]] = field(default_factory=list)  # the latest that fired
    fresh: bool = False  # they fired in the last move
    refused: dict[str, str] | None = None
    last_transition: int = 0
    focus: str = DEFAULT_USER
    taken: str | None = None  # the reference the trainer holds as officer
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)  # as first typed


class Classroom:
    def __init__(
        self,
        settings: Settings,
        db_path: Path,
        start: datetime,
        scenarios_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.db_path = db_path
        start = start.replace(tzinfo=settings.tz) if start.tzinfo is None else start
        self.start = start.astimezone(settings.tz).replace(second=0, microsecond=0)
        self.scenarios_dir = scenarios_dir or settings.config_dir / "scenarios"
        self.scenario: Scenario | None = None
        self.moves: list[dict[str, Any]] = []
        self.cursor = 0
        self.lock = asyncio.Lock()
        self.db: Database | None = None
        self._engine: Engine | None = None
        self.clock = FixedClock(self.start, settings.tz)
        self.s = Board()

    # ---- the database -----------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        assert self._engine is not None, "the classroom is not open"
        return self._engine

    async def open(self) -> None:
        await self._rebuild(0)

    async def close(self) -> None:
        if self.db is not None:
            await self.db.close()
            self.db = None
            self._engine = None

    async def _rebuild(self, upto: int) -> None:
        """A fresh database, then the first `upto` moves played again."""
        await self.close()
        await asyncio.to_thread(_remove_database, self.db_path)
        start = self.scenario.now if self.scenario is not None else self.start
        self.clock = FixedClock(start, self.settings.tz)
        settings = self.settings.model_copy(
            update={"db_path": self.db_path, "load_demo_cases": self.scenario is None}
        )
        self.db = await Database.open(self.db_path)
        self._engine = await create_engine(settings, self.db, self.clock, pull_notices=frozenset())
        if self.scenario is not None and self.scenario.cases:
            from bot.trainer.runner import case_writes

            ports = self._engine.services.ports
            await self.db.commit(case_writes(ports.cases, self.scenario.cases, self.clock.now()))
        self.s = Board()
        self._event("clock", None, f"Session starts: {long_when(self.clock.now())}")
        self.cursor = 0
        for move in self.moves[:upto]:
            await self._play(move)
            self.cursor += 1

    # ---- what the page asks -----------------------------------------------------------------

    async def act(self, request: dict[str, Any]) -> None:
        """Play what the page asked for; `MoveRefused` (nothing changed) when it cannot be."""
        async with self.lock:
            do = request.get("do")
            if do == "forward":
                if self.cursor >= len(self.moves):
                    raise MoveRefused("there is no next step: load a scenario, or act yourself")
                await self._play(self.moves[self.cursor])
                self.cursor += 1
            elif do == "back":
                if self.cursor == 0:
                    raise MoveRefused("this is the start of the session: nothing to step back")
                await self._rebuild(self.cursor - 1)
            elif do == "restart":
                await self._rebuild(0)
            elif do == "load":
                await self._load(request.get("scenario"))
            else:
                move = await self._move_from(do, request)
                # A new move replaces whatever was after the cursor (as an editor's redo).
                del self.moves[self.cursor :]
                await self._play(move)
                self.moves.append(move)
                self.cursor += 1

    async def _load(self, name: Any) -> None:
        if name in (None, ""):
            self.scenario, self.moves = None, []
            await self._rebuild(0)
            return
        if not isinstance(name, str) or name not in self.scenario_names():
            raise MoveRefused(f"no shipped scenario is called {name!r}")
        try:
            scenario = load_scenario(self.scenarios_dir / f"{name}.yaml")
        except ScenarioError as exc:
            raise MoveRefused(str(exc)) from None
        self.scenario = scenario
        self.moves = [_move_of(step) for step in scenario.steps]
        await self._rebuild(0)

    def scenario_names(self) -> list[str]:
        return sorted(p.stem for p in self.scenarios_dir.glob("*.yaml"))

    async def _move_from(self, do: Any, r: dict[str, Any]) -> dict[str, Any]:
        """A move from the page's request, checked before anything is played."""
        user = _text(r.get("user", self.s.focus), "user", 64)
        if do == "say":
            return {"say": _text(r.get("text"), "text", MAX_TEXT), "user": user}
        if do == "press":
            data = _text(r.get("data"), "data", 64)
            offered = self.s.keyboards.get(user, ())
            button = next((b for b in offered if b.data == data), None)
            if button is None:
                raise MoveRefused("that button is not on the applicant's screen")
            return {"press": button.label, "data": button.data, "user": user}
        if do == "clock":
            if "by" in r:
                try:
                    step = Step(advance=r["by"])
                except ValidationError as exc:
                    raise MoveRefused(_first(exc)) from None
                assert step.advance is not None
                if step.advance <= timedelta(0):
                    raise MoveRefused("the clock only moves forward (use Back to go back)")
                return {"advance": _text(r["by"], "by", 32)}
            at = _when(r.get("to"), self.clock.now())
            if at <= self.clock.now():
                raise MoveRefused(
                    f"the clock only moves forward: {long_when(at)} is not after "
                    f"{long_when(self.clock.now())} (use Back to go back)"
                )
            return {"at": at.isoformat()}
        if do in ("take", "complete"):
            reference = _text(r.get("reference"), "reference", 64)
            owner, index = await self._reference_of(reference)
            move: dict[str, Any] = {"user": owner, "index": index}
            if do == "take":
                return {"take": move}
            outcome = r.get("outcome")
            if outcome not in OUTCOMES:
                raise MoveRefused(f"outcome must be one of {', '.join(OUTCOMES)}")
            note = r.get("note", "")
            note = _text(note, "note", self.settings.limits.staff_note_chars, empty=True)
            return {"complete": {**move, "outcome": outcome, "note": note.strip()}}
        raise MoveRefused(f"unknown action {do!r}")

    async def _reference_of(self, reference: str) -> tuple[str, int]:
        """Whose open item `reference` is, and its place among theirs (newest first): how
        a move names it, since references are drawn at random again on every rebuild."""
        from bot.staff.desk import StaffDesk

        desk = StaffDesk.of(self.engine.services)
        for user in self._users():
            refs = await desk.references_for(key_for(user))
            if reference in refs:
                return user, refs.index(reference)
        raise MoveRefused(f"{reference} is not an open item of this session")

    def _users(self) -> list[str]:
        users = [DEFAULT_USER]
        for move in self.moves[: self.cursor + 1]:
            user = move.get("user") or (move.get("take") or move.get("complete") or {}).get("user")
            if isinstance(user, str) and user not in users:
                users.append(user)
        return users

    # ---- playing a move ---------------------------------------------------------------------

    async def _play(self, move: dict[str, Any]) -> None:
        s = self.s
        s.fresh, s.refused = False, None
        played: Played
        try:
            if "say" in move or "press" in move or "press_data" in move:
                played = await self._input(move)
            elif "advance" in move or "at" in move:
                played = await self._clock(move)
            elif "take" in move or "complete" in move:
                played = await self._officer(move)
            else:
                played = await self._operator(move)
        except TurnNotSaved:
            raise MoveRefused(
                "the database could not keep that turn; nothing was changed"
            ) from None
        except StorageError as exc:
            raise MoveRefused(f"the database refused: {exc}") from None
        await self._deliver_notices()
        await self._read_transitions()
        if played.user is not None:
            played.state = await self.engine.state_of(key_for(played.user))
        s.played.append(played)

    async def _input(self, move: dict[str, Any]) -> Played:
        user = move.get("user", DEFAULT_USER)
        self.s.focus = user
        session = Session(self.engine, key_for(user))
        # A scenario's language is what the applicant's channel says (bot/languages.py).
        session.language = self.scenario.language if self.scenario is not None else None
        before = await self.engine.state_of(key_for(user))
        if "say" in move:
            await self._note_cases(move["say"])
            self._event("applicant", user, move["say"])
            result = await session.turn(text=move["say"])
        else:
            data = move.get("data") or move.get("press_data")
            if data is None:  # a scenario's `press: LABEL`: the button on screen
                from bot.trainer.runner import find_button

                button, problem = find_button(self.s.keyboards.get(user, ()), move["press"])
                if button is None:
                    self._event("problem", user, problem)
                    return Played(user, None, before=before)
                data = button.data
            label = move.get("press") or data
            self._event("applicant", user, label, pressed=True)
            result = await session.turn(button=data)
        buttons = tuple(b for r in result.replies for b in r.buttons)
        if buttons:
            self.s.keyboards[user] = buttons
        for reply in result.replies:
            self._event(
                "bot",
                user,
                reply.text,
                buttons=[b.as_json() for b in reply.buttons],
                refused=not result.kept,
            )
        if not result.kept or (result.rule and not result.transitions):
            self.s.refused = {
                "rule": result.rule or "(input not understood or not allowed here)",
                "why": result.why,
                "said": result.replies[0].text if result.replies else "",
                "kept": "yes" if result.kept else "no",
            }
        return Played(user, None, result, before)

    async def _note_cases(self, text: str) -> None:
        """Keep the case records a typed receipt names as they are before the turn (an
        officer may change one later): a recording lists them as the replay needs them."""
        from bot.trainer.placeholders import Placeholders
        from flows.case_records import COLUMNS

        for receipt in Placeholders().receipts_in([text]):
            if receipt in self.s.cases:
                continue
            record = await self.engine.services.ports.cases.lookup(receipt)
            if record is not None:
                stored = zip(COLUMNS, record.db_params(), strict=True)
                self.s.cases[receipt] = {k: v for k, v in stored if v is not None}

    async def _clock(self, move: dict[str, Any]) -> Played:
        if "advance" in move:
            step = Step(advance=move["advance"])
            assert step.advance is not None
            self.clock.advance(step.advance)
        else:
            at = datetime.fromisoformat(move["at"])
            at = at.replace(tzinfo=self.settings.tz) if at.tzinfo is None else at
            if at > self.clock.now():
                self.clock.set(at)
        self._event("clock", None, f"The clock moves to {long_when(self.clock.now())}")
        await self.engine.tick()  # reminders, the simulated officer, a wait that ran out
        return Played(None, None)

    async def _officer(self, move: dict[str, Any]) -> Played:
        from bot.staff.desk import DeskError, StaffDesk

        desk = StaffDesk.of(self.engine.services)
        action = move.get("take") or move["complete"]
        user = action["user"]
        now = self.engine.now()
        refs = await desk.references_for(key_for(user))
        index = action.get("index", 0)
        if "reference" in action:
            reference = action["reference"]
        elif index < len(refs):
            reference = refs[index]
        else:
            self._event("problem", user, f"{user} has no open item to work")
            return Played(user, None)
        try:
            if "take" in move:
                view = await desk.take(reference, action.get("staff_id", TRAINER_STAFF), now)
                self.s.taken = reference
                self._event("officer", user, f"Officer takes {reference}: {view.item.summary}")
            else:
                completion = await desk.complete(
                    reference,
                    action["outcome"],
                    action.get("note") or None,
                    action.get("staff_id", TRAINER_STAFF),
                    now,
                )
                if self.s.taken == reference:
                    self.s.taken = None
                self._event("officer", user, f"Officer: {completion.summary}")
        except DeskError as exc:
            self._event("problem", user, f"The staff desk refused: {exc}")
        return Played(user, None)

    async def _operator(self, move: dict[str, Any]) -> Played:
        """A scenario's Tier 1 operator step, through the live desk (as `tierline
        scenarios run` and `tierline staff chat` do)."""
        from bot.staff.live import LiveChatError
        from bot.trainer.runner import operator_acts

        step = Step.model_validate({"operator": move["operator"], "user": move["user"]})
        assert step.operator is not None
        try:
            said = await operator_acts(self.engine, step.operator)
        except LiveChatError as exc:
            self._event("problem", step.user, f"The live desk refused: {exc}")
            return Played(step.user, None)
        self._event("officer", step.user, f"Operator: {said}")
        return Played(step.user, None)

    async def _deliver_notices(self) -> None:
        """Every notice due now, shown and marked delivered (as a push channel does)."""
        ports = self.engine.services.ports
        now = self.engine.now()
        for user in await ports.outbox.due_users(CONSOLE, now):
            notices = await ports.outbox.due(CONSOLE, now, user_id=user)
            if not notices:
                continue
            await ports.db.commit([ports.outbox.mark_delivered(n.id, now) for n in notices])
            for n in notices:
                buttons = [b.as_json() for b in n.reply.buttons]
                self._event("notice", user, n.reply.text, buttons=buttons, notice=n.kind)
                if n.reply.buttons:
                    self.s.keyboards[user] = n.reply.buttons

    async def _read_transitions(self) -> None:
        rows = await self.engine.services.ports.transcript.transitions_since(self.s.last_transition)
        d = self.engine.services.definition
        if rows:
            self.s.fired, self.s.fresh = [], True
        for row in rows:
            self.s.last_transition = int(str(row["id"]))
            trigger, source, dest = str(row["trigger"]), str(row["source"]), str(row["dest"])
            spec = d.transition_for(trigger, source)
            self.s.fired.append(
                {
                    "user": str(row["user_id"]),
                    "trigger": trigger,
                    "source": source,
                    "source_title": title_of(self.engine, source),
                    "dest": dest,
                    "dest_title": title_of(self.engine, dest),
                    "rule": str(row["rule"]),
                    "why": spec.rule if spec is not None else "",
                }
            )

    def _event(self, kind: str, user: str | None, text: str, **extra: Any) -> None:
        self.s.events.append(
            {"kind": kind, "user": user, "text": text, "at": self.clock.now().isoformat(), **extra}
        )

    # ---- what the page draws ----------------------------------------------------------------

    async def view(self) -> dict[str, Any]:
        async with self.lock:
            engine = self.engine
            now = engine.now()
            focus = self.s.focus
            state = await engine.state_of(key_for(focus))
            nxt = self.moves[self.cursor] if self.cursor < len(self.moves) else None
            return {
                "now": now.isoformat(),
                "now_text": long_when(now),
                "scenario": None
                if self.scenario is None
                else {
                    "name": self.scenario.name,
                    "file": Path(self.scenario.source).stem,
                    "description": self.scenario.description,
                },
                "scenarios": self.scenario_names(),
                "cursor": self.cursor,
                "moves": len(self.moves),
                "next": describe(nxt) if nxt is not None else None,
                "focus": focus,
                "events": self.s.events,
                "buttons": [b.as_json() for b in self.s.keyboards.get(focus, ())],
                "machine": self._machine(state),
                "officer": await self._officer_view(now),
                "moments": await self._moments(now),
            }

    def _machine(self, state: str) -> dict[str, Any]:
        engine = self.engine
        d = engine.services.definition
        tier = tier_of(state)
        fired = [f for f in self.s.fired if f["user"] == self.s.focus] or self.s.fired
        came_from = fired[-1]["source"] if fired else None
        here, anywhere = [], []
        for trigger, source, dest, why in d.edges():
            item = {"trigger": trigger, "dest": dest, "dest_title": title_of(engine, dest)}
            item["why"] = why
            if source == state:
                here.append(item)
            elif source == ANY:
                anywhere.append(item)
        return {
            "state": state,
            "title": title_of(engine, state),
            "tier": tier,
            "tiers": [{"id": t, "title": TIER_TITLES[t], "current": t == tier} for t in TIERS],
            "states": [
                {
                    "name": s.name,
                    "title": title_of(engine, s.name),
                    "current": s.name == state,
                    "previous": s.name == came_from and s.name != state,
                }
                for s in d.states
                if s.tier == tier
            ],
            "fired": self.s.fired,
            "fresh": self.s.fresh,
            "refused": self.s.refused,
            "possible": here,
            "anywhere": anywhere,
        }

    async def _officer_view(self, now: datetime) -> dict[str, Any]:
        from bot.staff.desk import DeskError, StaffDesk

        desk = StaffDesk.of(self.engine.services)
        queue = [
            {
                "reference": i.reference,
                "kind": i.kind,
                "category": i.category,
                "urgent": i.urgent,
                "due": short_when(i.due_at) if i.due_at else "",
                "due_at": i.due_at.isoformat() if i.due_at else None,
                "status": i.status,
                "summary": i.summary,
                "overdue": i.overdue,
                "taken_by": i.taken_by,
            }
            for i in await desk.queue(now)
        ]
        taken = None
        if self.s.taken is not None:
            try:
                view = await desk.show(self.s.taken, TRAINER_STAFF, now)
                taken = {
                    "reference": view.reference,
                    "summary": view.item.summary,
                    "phone": view.phone,
                    "case": view.case,
                    "outcomes": list(view.outcomes),
                }
            except DeskError:
                self.s.taken = None
        return {"queue": queue, "taken": taken, "outcomes": list(OUTCOMES)}

    async def _moments(self, now: datetime) -> list[dict[str, str]]:
        """Where the clock may jump: the calls and their reminders, the urgent window, the
        next federal holiday."""
        tier2 = self.settings.tier2
        found: list[tuple[datetime, str, str]] = []
        for c in await self.engine.services.ports.callbacks.queue():
            if c.slot_at > now:
                found.append((c.slot_at, "callback", f"Callback {c.reference}"))
            remind = reminder_due(c.slot_at, tier2.reminder_business_days, now)
            if remind is not None:
                found.append((remind, "reminder", f"Reminder of {c.reference}"))
        found.append(
            (
                now + timedelta(hours=tier2.urgent_hours),
                "deadline",
                f"{tier2.urgent_hours} hours on (the urgent callback window)",
            )
        )
        day = now.date() + timedelta(days=1)
        for _ in range(400):
            name = holiday_name(day)
            if name is not None:
                at = datetime.combine(day, time(9, 0), tzinfo=now.tzinfo)
                found.append((at, "holiday", f"Next federal holiday: {name}"))
                break
            day += timedelta(days=1)
        found.sort(key=lambda m: m[0])
        return [
            {"at": at.isoformat(), "when": short_when(at), "kind": kind, "label": label}
            for at, kind, label in found
        ]


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def _move_of(step: Step) -> dict[str, Any]:
    """A scenario step as a move."""
    if step.say is not None:
        return {"say": step.say, "user": step.user}
    if step.press is not None:
        return {"press": step.press, "user": step.user}
    if step.press_data is not None:
        return {"press_data": step.press_data, "data": step.press_data, "user": step.user}
    if step.advance is not None:
        total = int(step.advance.total_seconds())
        return {"advance": f"{total // 60}m" if total % 60 == 0 else f"{total}s"}
    if step.at is not None:
        return {"at": step.at.isoformat()}
    if step.staff is not None:
        action = step.staff
        which = {"index": 0} if action.complete == "last" else {"reference": action.complete}
        return {
            "complete": {
                "user": step.user,
                **which,
                "outcome": action.outcome,
                "note": action.note,
                "staff_id": action.staff_id,
            }
        }
    assert step.operator is not None
    return {"operator": step.operator.model_dump(exclude_none=True), "user": step.user}


def describe(move: dict[str, Any]) -> str:
    """A move in a few words, for the Forward button."""
    who = move.get("user", DEFAULT_USER)
    if "say" in move:
        return f"{who} types {move['say']!r}"
    if "press" in move or "press_data" in move:
        return f"{who} presses {move.get('press') or move.get('press_data')!r}"
    if "advance" in move:
        return f"the clock moves on by {move['advance']}"
    if "at" in move:
        return f"the clock moves to {move['at']}"
    if "take" in move:
        return f"the officer takes {who}'s item"
    if "complete" in move:
        c = move["complete"]
        return f"the officer completes {c['user']}'s item: {c['outcome']}"
    return f"the operator acts: {move.get('operator')}"


def _text(value: Any, name: str, limit: int, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise MoveRefused(f"`{name}` must be text")
    if not empty and not value.strip():
        raise MoveRefused(f"`{name}` is empty")
    if len(value) > limit:
        raise MoveRefused(f"`{name}` is longer than {limit} characters")
    return value


def _when(value: Any, now: datetime) -> datetime:
    if not isinstance(value, str):
        raise MoveRefused("give the clock `by` (e.g. 2h, 3d) or `to` (an ISO date-time)")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise MoveRefused(f"{value!r} is not an ISO date-time such as 2026-11-23T10:00") from None
    if isinstance(at, date) and at.tzinfo is None:
        at = at.replace(tzinfo=now.tzinfo)
    return at.astimezone(now.tzinfo)


def _first(exc: ValidationError) -> str:
    return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")


# ---- recording ------------------------------------------------------------------------------


class Recorded(Struct):
    yaml_text: str
    warnings: list[str]
    passed: bool


async def record_session(room: Classroom, name: str, *, keep: bool) -> Recorded:
    """The moves played so far as a scenario file (the `config/scenarios` format), each
    input and officer action expecting the state it led to. Unless `keep`, receipt numbers,
    A-numbers and phone numbers become fictional stand-ins (the cases they name are copied
    under the stand-in), an answer in the applicant's own words becomes its placeholder,
    and an officer's note is withheld. The file is replayed before it is handed back:
    `passed` says whether it replays green."""
    import yaml

    from bot.trainer.placeholders import Placeholders
    from bot.trainer.runner import run_scenario
    from flows.privacy import transcript_text

    async with room.lock:
        engine = room.engine
        p = Placeholders(keep=keep)
        warnings: list[str] = []
        steps: list[dict[str, Any]] = []
        typed: list[str] = []
        for move, played in zip(room.moves[: room.cursor], room.s.played, strict=True):
            user = move.get("user", DEFAULT_USER)
            step: dict[str, Any]
            if "say" in move:
                text = move["say"]
                typed.append(text)
                spec = engine.services.program.step(played.before or "")
                if not keep and spec is not None and spec.private_text and not text.startswith("/"):
                    if played.result is not None and not played.result.kept:
                        # Refused, so it changed nothing: left out rather than replaced
                        # by a placeholder the step would take.
                        warnings.append(
                            f"an answer in the applicant's own words that was refused "
                            f"(before step {len(steps) + 1}) is left out"
                        )
                        continue
                    step = {"say": transcript_text(text, free_text=True)}
                else:
                    step = {"say": p.text(text)}
            elif "press" in move:
                step = {"press": p.text(move["press"])}
            elif "press_data" in move:
                step = {"press_data": move["press_data"]}
            elif "advance" in move:
                steps.append({"advance": move["advance"]})
                continue
            elif "at" in move:
                steps.append({"at": move["at"]})
                continue
            elif "take" in move:
                continue  # taking an item changes nothing the replay needs
            elif "complete" in move:
                c = move["complete"]
                user = c["user"]
                if c.get("index", 0) != 0 or "reference" in c:
                    warnings.append(
                        f"step {len(steps) + 1}: the officer completed an item that was not "
                        f"{user}'s newest open one; the file completes the newest"
                    )
                note = c.get("note", "")
                if note and not keep:
                    note = "(note withheld)"
                staff: dict[str, Any] = {"complete": "last", "outcome": c["outcome"]}
                if note:
                    staff["note"] = note
                staff["staff_id"] = c.get("staff_id", TRAINER_STAFF)
                step = {"staff": staff}
            else:
                op = {
                    k: p.text(v) if isinstance(v, str) else v for k, v in move["operator"].items()
                }
                step = {"operator": op}
            if user != DEFAULT_USER:
                step["user"] = user
            if played.state is not None:
                step["expect"] = {"state": played.state, "tier": tier_of(played.state)}
            steps.append(step)
        if not steps:
            raise MoveRefused("nothing to save yet: play a step first")
        cases = []
        for receipt in p.receipts_in(typed):
            if receipt in room.s.cases:
                cases.append({**room.s.cases[receipt], "receipt_number": p.receipt(receipt)})
        start = room.scenario.now if room.scenario is not None else room.start
        data: dict[str, Any] = {
            "name": name,
            "description": "Recorded in the trainer's classroom (`tierline trainer`)."
            + ("" if keep else " Receipts, phone numbers and own words are placeholders."),
            "now": start.isoformat(),
        }
        if room.scenario is not None and room.scenario.language is not None:
            data["language"] = room.scenario.language
        if cases:
            data["cases"] = cases
        data["steps"] = steps
    text = "# Recorded by `tierline trainer`.\n" + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100
    )
    from bot.trainer.scenario import parse_scenario

    report = await run_scenario(parse_scenario(text, f"{name}.yaml"))
    if report.error:
        warnings.append(f"the replay broke: {report.error}")
    failed = report.failed_step
    if failed is not None:
        warnings.append(f"the replay differs at {failed.title}: {'; '.join(failed.failures)}")
    return Recorded(text, warnings, report.passed)
