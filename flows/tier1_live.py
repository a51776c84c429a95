"""Tier 1, live: a chat with a human operator, declared as steps.

During live hours, once the assistant has shown it cannot settle the matter (its Tier 1
answer did not help, or the issue needs an officer), the applicant is offered *Chat with an
operator now*. Pressing it (or sending /operator) joins the operator queue
(`tier1.operator_queue`): the applicant is told their place and the expected wait, and what
they type is kept for the operator. An operator on the staff allowlist picks the chat up
(`tier1.operator_chat`): from then on what the applicant types is relayed to the operator,
not read by the assistant's steps, and what the operator writes reaches the applicant
labelled with the operator's first name or number. The operator may resolve the chat (with
a closing note), open a service request, book an officer callback on the applicant's
behalf, or hand the applicant back to the assistant. Nobody picking the chat up within the
configured wait brings the applicant back to the step they came from, with what remains
(an officer callback, the automated help).

What the operator does and the wait running out reach the conversation as signals (the
`signal_kind(...)` answers below), taken by these steps' routes like any answer. However the
applicant leaves the two steps (the operator's hand-back, /menu, /cancel...), their `leave`
effect closes the queue entry and, when the applicant walked away, tells the operator.
"""

from __future__ import annotations

from enum import StrEnum

from msgspec.structs import replace

from flows.callback_slots import callback_offer
from flows.entry import TIER1_INTAKE
from flows.facts import Facts
from flows.handoff import (
    LIVE,
    WAITING,
    Handoff,
    HandoffRule,
    expected_wait,
    operator_label,
    wait_ran_out,
)
from flows.live_hours import operators_live
from flows.state import CallbackDraft, LiveChatAnswers
from flows.steps import (
    AGENT,
    Answer,
    Choice,
    Command,
    Decision,
    Guard,
    Render,
    Say,
    Shown,
    Step,
    Tier,
    decide,
    refuse,
    route,
    say,
    shown,
    signal_kind,
    stay,
)
from flows.triage import qualified

QUEUE = "tier1.operator_queue"
CHAT = "tier1.operator_chat"
RESOLVED = "tier1.resolved"  # declared in flows.tier1
SLOTS = "tier2.slots"  # declared in flows.tier2
# Where the operator is offered, and where the applicant comes back to afterwards.
ORIGINS = (RESOLVED, SLOTS)

# The button (a command: it works in every step that shows it) and the way out of the chat.
OPERATOR_BUTTON = Choice("nav:operator", "buttons.operator")
LEAVE_BUTTON = Choice("nav:menu", "tier1.live_chat.button.leave")

# Signals: what staff and the clock tell the conversation.
PICK, BACK, RESOLVE, REQUEST, CALLBACK, TIMEOUT = (
    "handoff.pick",  # (reference, staff id)
    "handoff.back",  # (reference, staff id)
    "handoff.resolve",  # (reference, staff id, closing note)
    "handoff.request",  # (reference, staff id, service item number, issue)
    "handoff.callback",  # (reference, staff id, phone E.164, ZIP or "", "urgent"|"regular"|"")
    "handoff.timeout",  # (reference,)
)
RELAY = "relay"  # the kind of typed text in the chat

# Loaders (bot/actions/live_chat.py).
HANDOFF = "handoff"  # the queue entry of `state.live_chat`, and how many wait before it
QUEUE_LENGTH = "operator_queue"  # how many wait for an operator now
CHAT_SLOT_COUNTS = "live_chat_slot_counts"  # callbacks per slot, for the operator's booking


class LiveChatEffect(StrEnum):
    JOIN = "tier1.live_chat.join"
    KEEP = "tier1.live_chat.keep_message"
    ASSIGN = "tier1.live_chat.assign"
    NOTE = "tier1.live_chat.closing_note"
    SERVICE_REQUEST = "tier1.live_chat.service_request"
    BOOK = "tier1.live_chat.book_callback"
    LEAVE = "tier1.live_chat.leave"


def _chat(f: Facts) -> LiveChatAnswers:
    return f.state.live_chat or LiveChatAnswers()


def operator_name(staff_id: str, f: Facts) -> Say:
    key, params = operator_label(staff_id, f.policy.live_chat)
    return Say(key, params)


# ---- where the operator is offered ------------------------------------------------------------


def _from_an_origin(f: Facts) -> bool:
    """The assistant has shown it cannot settle the matter: its Tier 1 answer is on screen,
    or the issue was referred to an officer (not a booked callback being moved)."""
    if f.current == RESOLVED:
        return True
    if f.current == SLOTS:
        draft = f.state.callback
        return f.state.triage is not None and (draft is None or draft.moving is None)
    return False


def _offered(f: Facts) -> bool:
    return (
        operators_live(f.now, f.policy.live_hours).open
        and _from_an_origin(f)
        and not _chat(f).timed_out
    )


def _rendered(show: Render | Shown) -> Render:
    """A step's `show` as a function (a step may declare a fixed `Shown`)."""
    if isinstance(show, Shown):
        return lambda f: show
    return show


def _with_offer(declared: Render | Shown) -> Render:
    show = _rendered(declared)

    def offering(f: Facts) -> Shown:
        out = show(f)
        if not _offered(f.but(state=out.state or f.state)):
            return out
        return replace(out, choices=(*out.choices, OPERATOR_BUTTON))

    return offering


def _fresh_inquiry(declared: Render | Shown) -> Render:
    show = _rendered(declared)

    def fresh(f: Facts) -> Shown:
        out = show(f)
        return replace(out, state=(out.state or f.state).but(live_chat=None))

    return fresh


def offering_live_chat(tier: Tier) -> Tier:
    """`tier` with *Chat with an operator now* on its steps where the operator is offered
    (during live hours, unless the wait already ran out in this inquiry); a new Tier 1
    inquiry starts with no live chat behind it."""
    steps = []
    for step in tier.steps:
        if step.show is not None and step.state in ORIGINS:
            step = replace(step, show=_with_offer(step.show))
        elif step.show is not None and step.state == TIER1_INTAKE:
            step = replace(step, show=_fresh_inquiry(step.show))
        steps.append(step)
    return replace(tier, steps=tuple(steps))


# ---- joining the queue ------------------------------------------------------------------------


def _not_live(f: Facts) -> Decision | None:
    if operators_live(f.now, f.policy.live_hours).open:
        return None
    hours = f.policy.live_hours
    return refuse(
        HandoffRule.NOT_LIVE, "tier1.live_chat.closed", opens=hours.opens, closes=hours.closes
    )


def _already(f: Facts) -> Decision | None:
    if f.current not in (QUEUE, CHAT):
        return None
    return refuse(HandoffRule.ALREADY, "tier1.live_chat.already")


def _not_yet(f: Facts) -> Decision | None:
    if _from_an_origin(f):
        return None
    return refuse(HandoffRule.NOT_YET, "tier1.live_chat.not_yet", choices=(AGENT,))


def _join(f: Facts) -> Decision | None:
    if not _from_an_origin(f):
        return None
    position = (f.loaded.handoff_ahead or 0) + 1
    policy = f.policy.live_chat
    return decide(
        HandoffRule.JOINED,
        say(
            "tier1.live_chat.queued",
            position=position,
            wait=expected_wait(position, policy),
            limit=policy.wait_minutes,
        ),
        state=f.state.but(live_chat=LiveChatAnswers(came_from=f.current)),
    )


OPERATOR_COMMAND = Command(
    "operator",
    (
        stay(_not_live, "Outside live hours no operator is offered."),
        stay(_already, "Already waiting for, or chatting with, an operator."),
        stay(_not_yet, "The assistant has not yet tried to settle the matter."),
        route(
            "join_operator_queue",
            QUEUE,
            _join,
            "The applicant asked for a live operator once the assistant could not settle it.",
            effect=LiveChatEffect.JOIN,
            needs=(QUEUE_LENGTH,),
            sources=ORIGINS,
        ),
    ),
    "Chat with a live operator (during live hours, once the assistant has tried).",
)


# ---- the signals --------------------------------------------------------------------------


def _entry(f: Facts, name: str) -> tuple[Handoff, tuple[str, ...]] | None:
    """The queue entry a signal `name` is about, when it is this conversation's."""
    if f.answer.kind != signal_kind(name) or not f.answer.args:
        return None
    entry, reference = f.loaded.handoff, _chat(f).reference
    if entry is None or reference is None or f.answer.arg != reference:
        return None
    return entry, f.answer.args


def _operators(f: Facts, name: str) -> tuple[Handoff, tuple[str, ...]] | None:
    """... and the operator who sent it is the one in the chat."""
    found = _entry(f, name)
    if found is None:
        return None
    entry, args = found
    if entry.status != LIVE or len(args) < 2 or entry.operator != args[1]:
        return None
    return found


def _back_to(dest: str, when: Guard) -> Guard:
    """`when`, for a chat that came from `dest` (the applicant goes back there)."""

    def guard(f: Facts) -> Decision | None:
        if _chat(f).came_from != dest:
            return None
        return when(f)

    return guard


# ---- waiting ----------------------------------------------------------------------------------


def _relay_text(text: str, f: Facts) -> Answer:
    """Typed text in the chat is for the operator, never for the assistant's steps."""
    return Answer(RELAY, text=text)


def _kept(f: Facts) -> Decision | None:
    if f.answer.kind != RELAY:
        return None
    position = (f.loaded.handoff_ahead or 0) + 1
    return decide(
        HandoffRule.KEPT,
        say(
            "tier1.live_chat.kept",
            position=position,
            wait=expected_wait(position, f.policy.live_chat),
        ),
    )


def _picked(f: Facts) -> Decision | None:
    found = _entry(f, PICK)
    if found is None:
        return None
    entry, args = found
    if entry.status != WAITING or len(args) < 2:
        return None
    return decide(HandoffRule.PICKED, state=f.state.but(live_chat=_chat(f).but(operator=args[1])))


def _timed_out(f: Facts) -> Decision | None:
    found = _entry(f, TIMEOUT)
    if found is None or not wait_ran_out(found[0], f.now, f.policy.live_chat):
        return None
    return decide(
        HandoffRule.TIMED_OUT,
        say("tier1.live_chat.timed_out", minutes=f.policy.live_chat.wait_minutes),
        state=f.state.but(live_chat=_chat(f).but(timed_out=True)),
    )


QUEUE_STEP = Step(
    QUEUE,
    "Waiting for a live operator: what the applicant types is kept for the operator.",
    show=lambda f: shown(say("tier1.live_chat.queue_prompt"), choices=[LEAVE_BUTTON]),
    parse=_relay_text,
    needs=(HANDOFF,),
    leave=LiveChatEffect.LEAVE,
    routes=(
        stay(
            _kept, "A message while waiting is kept for the operator.", effect=LiveChatEffect.KEEP
        ),
        route(
            "operator_joined",
            CHAT,
            _picked,
            "An operator on the staff allowlist picked the chat up.",
            effect=LiveChatEffect.ASSIGN,
        ),
        route(
            "back_to_resolved",
            RESOLVED,
            _back_to(RESOLVED, _timed_out),
            "Nobody picked the chat up in time: back to the assistant's answer.",
        ),
        route(
            "back_to_slots",
            SLOTS,
            _back_to(SLOTS, _timed_out),
            "Nobody picked the chat up in time: back to the officer callback times.",
        ),
    ),
)


# ---- chatting ---------------------------------------------------------------------------------


def _show_chat(f: Facts) -> Shown:
    operator = _chat(f).operator or ""
    return shown(
        say("tier1.live_chat.joined", name=operator_name(operator, f)), choices=[LEAVE_BUTTON]
    )


def _relayed(f: Facts) -> Decision | None:
    return decide(HandoffRule.RELAYED) if f.answer.kind == RELAY else None


def _handed_back(f: Facts) -> Decision | None:
    found = _operators(f, BACK)
    if found is None:
        return None
    return decide(
        HandoffRule.HANDED_BACK,
        say("tier1.live_chat.handed_back", name=operator_name(found[1][1], f)),
    )


def _resolved(f: Facts) -> Decision | None:
    found = _operators(f, RESOLVE)
    if found is None:
        return None
    args = found[1]
    name = operator_name(args[1], f)
    note = args[2].strip() if len(args) > 2 else ""
    says = [say("tier1.live_chat.operator_says", name=name, text=note)] if note else []
    return decide(HandoffRule.RESOLVED, *says, say("tier1.live_chat.resolved", name=name))


def _service_request(f: Facts) -> Decision | None:
    found = _operators(f, REQUEST)
    if found is None or len(found[1]) < 4:
        return None
    args = found[1]
    return decide(
        qualified(HandoffRule.SERVICE_REQUEST, args[3]),
        say("tier1.live_chat.request_opened", name=operator_name(args[1], f), number=args[2]),
    )


def _callback(f: Facts) -> Decision | None:
    """The operator books an officer callback at the first free time; the booking itself is
    the Tier 2 booking (capacity enforced by its write)."""
    found = _operators(f, CALLBACK)
    if found is None or len(found[1]) < 5:
        return None
    _, _, phone, zip_code, urgency = found[1][:5]
    triage = f.state.triage
    draft = f.state.callback or CallbackDraft(
        issue=(triage.issue if triage else None) or "something_else"
    )
    if urgency == "urgent" and not draft.urgent:
        draft = draft.but(urgent=True, urgency_rule=str(HandoffRule.OPERATOR_URGENT))
    elif urgency == "regular" and draft.urgent:
        draft = draft.but(urgent=False, urgency_rule="urgency.regular")
    policy = f.policy.callbacks
    # The first free time the applicant would have been offered themselves (an urgent one
    # never later than a regular one).
    first = callback_offer(f.now, draft.urgent, f.loaded.slot_counts or {}, policy, days=1).first
    if first is None:
        return refuse(HandoffRule.NO_CALLBACK_SLOT, "tier1.live_chat.staff.no_slot")
    draft = draft.but(
        slot=first,
        phone=phone,
        zip=zip_code or draft.zip,
        page=0,
        moving=None,
        reference=None,
    )
    # After a booking, a hand-back goes to the assistant's answer, not to the times again.
    return decide(
        HandoffRule.CALLBACK_BOOKED,
        state=f.state.but(callback=draft, live_chat=_chat(f).but(came_from=RESOLVED)),
    )


CHAT_STEP = Step(
    CHAT,
    "Chatting with a live operator: what the applicant types is relayed to the operator.",
    show=_show_chat,
    parse=_relay_text,
    needs=(HANDOFF,),
    leave=LiveChatEffect.LEAVE,
    routes=(
        stay(
            _relayed,
            "A message in the chat is relayed to the operator.",
            effect=LiveChatEffect.KEEP,
        ),
        route(
            "back_to_resolved",
            RESOLVED,
            _back_to(RESOLVED, _handed_back),
            "The operator handed the applicant back to the assistant.",
        ),
        route(
            "back_to_slots",
            SLOTS,
            _back_to(SLOTS, _handed_back),
            "The operator handed the applicant back to the officer callback times.",
        ),
        route(
            "operator_resolved",
            RESOLVED,
            _resolved,
            "The operator resolved the matter, with a closing note.",
            effect=LiveChatEffect.NOTE,
        ),
        stay(
            _service_request,
            "The operator opened a service request for the applicant.",
            effect=LiveChatEffect.SERVICE_REQUEST,
        ),
        stay(
            _callback,
            "The operator booked an officer callback for the applicant.",
            effect=LiveChatEffect.BOOK,
            needs=(CHAT_SLOT_COUNTS,),
        ),
    ),
)


TIER = Tier(
    name="tier1_live",
    steps=(QUEUE_STEP, CHAT_STEP),
    commands=(OPERATOR_COMMAND,),
)
