"""The in-person appointment request (2023 online form), as steps: the type, a receipt
number or A-number, the reason, the document checklist, a phone number and the ZIP code
(which field office), and an optional preferred date; then it is stored pending review with
a reference (Tier 1 and Tier 2 staff review it).

The answers are read by the pure rules of `flows.appointment_request` and
`flows.identifiers`; a refused answer says why and changes nothing.
"""

from __future__ import annotations

from datetime import date

from flows.appointment_request import (
    MAX_REASON_CHARS,
    AppointmentRule,
    RequestType,
    check_preferred_date,
    check_reason,
    read_date,
)
from flows.automated_common import (
    APR_CHECKLIST,
    APR_DATE,
    APR_IDENTIFIER,
    APR_PHONE,
    APR_REASON,
    APR_SUBMITTED,
    APR_TYPE,
    APR_ZIP,
    DIDNT_HELP,
    DIDNT_HELP_ROUTE,
    WAY_OUT,
    bullets,
    refuse_receipt,
    typed_unless_person,
)
from flows.business_days import holiday_name
from flows.facts import Facts
from flows.identifiers import IdentifierCheck, IdentifierRule, check_identifier
from flows.phone import parse_us_phone
from flows.receipts import check_receipt, looks_like_receipt
from flows.state import RequestAnswers
from flows.steps import MENU as MENU_BUTTON
from flows.steps import (
    Answer,
    Choice,
    DayName,
    Decision,
    Say,
    Shown,
    Step,
    choice,
    decide,
    labelled,
    refuse,
    route,
    say,
    shown,
    stay,
)
from flows.understanding import a_number_in, receipt_in
from flows.zip_codes import check_zip, refuse_zip

TYPE, DOCS_YES, DOCS_NO, SKIP_DATE = "apr:type", "apr:docs:yes", "apr:docs:no", "apr:date:skip"
# After "Not all of them" on a list with optional items: only those, or a required one?
DOCS_ONLY_OPTIONAL, DOCS_REQUIRED = "apr:docs:optional", "apr:docs:required"
SUBMIT = "submit_appointment_request"  # the effect that stores the request

# The refusal said, by the rule an answer broke.
REFUSALS: dict[AppointmentRule, str] = {
    AppointmentRule.REASON_TOO_SHORT: "apr.refused.reason_too_short",
    AppointmentRule.REASON_TOO_LONG: "apr.refused.reason_too_long",
    AppointmentRule.DATE_UNREADABLE: "apr.refused.date_unreadable",
    AppointmentRule.DATE_NOT_FUTURE: "apr.refused.date_not_future",
    AppointmentRule.DATE_TOO_FAR: "apr.refused.date_too_far",
    AppointmentRule.DATE_WEEKEND: "apr.refused.date_weekend",
    AppointmentRule.DATE_HOLIDAY: "apr.refused.date_holiday",
}

NO_DATE = choice(SKIP_DATE, "apr.buttons.no_date")


def _chosen(f: Facts) -> RequestType | None:
    return f.policy.requests.get(f.state.request.type or "")


def _request(f: Facts, **changes: object) -> Facts:
    """`f` with the request's answers changed (what the decision keeps)."""
    return f.but(state=f.state.but(request=f.state.request.but(**changes)))


# ---- the type ------------------------------------------------------------------------------


def _types(f: Facts) -> list[Choice]:
    return [labelled(TYPE, t.label, t.id) for t in f.policy.requests.types]


def _type_chosen(f: Facts) -> Decision | None:
    chosen = f.policy.requests.get(f.answer.arg) if f.answer.pressed(TYPE) else None
    if chosen is None:
        return None
    return decide(
        AppointmentRule.TYPE_CHOSEN, state=f.state.but(request=RequestAnswers(type=chosen.id))
    )


# ---- the identifier and the reason ---------------------------------------------------------


def _show_identifier(f: Facts) -> Shown:
    chosen = _chosen(f)
    return shown(
        say(
            "apr.ask_identifier",
            type=chosen.label if chosen else "",
            description=chosen.description if chosen else "",
        )
    )


def _read_identifier(text: str, f: Facts) -> Answer | Decision | None:
    if typed_unless_person(text, f) is None:
        return None
    check = check_identifier(text)
    if not check.ok:  # a receipt or an A-number inside a sentence ("my A-number is ...")
        found = receipt_in(text) or a_number_in(text)
        check = check_identifier(found) if found else check
    if check.ok:
        return Answer("text", value=check, text=text)
    if check.rule == IdentifierRule.UNREADABLE:
        return refuse(IdentifierRule.UNREADABLE, "apr.identifier_unreadable")
    return refuse_receipt(check_receipt(text))


def _identified(f: Facts) -> Decision | None:
    check = f.answer.value
    if not isinstance(check, IdentifierCheck):
        return None
    return decide(check.rule, state=_request(f, identifier=check.value).state)


def _read_reason(text: str, f: Facts) -> Answer | Decision:
    checked = check_reason(text)
    if not checked.ok:
        return refuse(checked.rule, REFUSALS[checked.rule], limit=MAX_REASON_CHARS)
    return Answer("text", value=checked.value, text=text)


def _reason_given(f: Facts) -> Decision | None:
    if not isinstance(f.answer.value, str):
        return None
    return decide(AppointmentRule.REASON_OK, state=_request(f, reason=f.answer.value).state)


# ---- the documents ------------------------------------------------------------------------------


_CHECKLIST_BUTTONS = (
    choice(DOCS_YES, "apr.buttons.have_documents"),
    choice(DOCS_NO, "apr.buttons.missing_documents"),
    MENU_BUTTON,
)


def _show_checklist(f: Facts) -> Shown:
    chosen = _chosen(f)
    optional = chosen.optional if chosen else []
    return shown(
        say(
            "apr.checklist",
            *_CHECKLIST_BUTTONS,
            type=chosen.label if chosen else "",
            items=bullets(chosen.required if chosen else []),
            optional=say("apr.checklist_optional", items=bullets(optional)) if optional else "",
        )
    )


def _documents_confirmed(f: Facts) -> Decision | None:
    return decide(AppointmentRule.DOCUMENTS_CONFIRMED) if f.answer.pressed(DOCS_YES) else None


def _blocked(f: Facts) -> Decision:
    """A required document is missing: the request may be refused without it."""
    return decide(
        AppointmentRule.DOCUMENTS_MISSING, say("apr.documents_missing", *_CHECKLIST_BUTTONS)
    )


def _which_missing(f: Facts) -> Decision | None:
    """ "Not all of them" on a list with optional items: ask whether only those are missing
    (an applicant without a travel itinerary has every document that counts)."""
    chosen = _chosen(f)
    if not f.answer.pressed(DOCS_NO) or chosen is None or not chosen.optional:
        return None
    return decide(
        AppointmentRule.WHICH_MISSING,
        say(
            "apr.which_missing",
            choice(DOCS_ONLY_OPTIONAL, "apr.buttons.only_optional_missing"),
            choice(DOCS_REQUIRED, "apr.buttons.required_missing"),
            MENU_BUTTON,
            optional=bullets(chosen.optional),
        ),
    )


def _documents_missing(f: Facts) -> Decision | None:
    if not (f.answer.pressed(DOCS_NO) or f.answer.pressed(DOCS_REQUIRED)):
        return None
    return _blocked(f)


def _only_optional_missing(f: Facts) -> Decision | None:
    if not f.answer.pressed(DOCS_ONLY_OPTIONAL):
        return None
    return decide(AppointmentRule.OPTIONAL_MISSING, say("apr.optional_missing_ok"))


# ---- how to reach the applicant, and where (the field office) ------------------------------


def _typed_here(text: str, f: Facts) -> bool:
    """Whether typed text is this step's answer: a receipt number is looked up and a wish
    for a person handed to Tier 1 by the tier's intercepts instead."""
    return not looks_like_receipt(text) and typed_unless_person(text, f) is not None


def _read_phone(text: str, f: Facts) -> Answer | Decision | None:
    if not _typed_here(text, f):
        return None
    phone = parse_us_phone(text)
    if phone is None:
        return refuse(AppointmentRule.PHONE_UNREADABLE, "tier2.phone.invalid")
    return Answer("phone", value=phone.e164, text=text)


def _phone_given(f: Facts) -> Decision | None:
    if f.answer.kind != "phone":
        return None
    return decide(AppointmentRule.PHONE_OK, state=_request(f, phone=f.answer.value).state)


def _read_zip(text: str, f: Facts) -> Answer | Decision | None:
    if not _typed_here(text, f):
        return None
    check = check_zip(text)  # unknown, or outside the US: asked again, nothing kept
    if not check.ok:
        return refuse_zip(check)
    return Answer("zip", value=check.zip, text=text)


def _zip_given(f: Facts) -> Decision | None:
    office = f.policy.offices.for_zip(f.answer.value) if f.answer.kind == "zip" else None
    if office is None:
        return None
    return decide(
        AppointmentRule.ZIP_OK,
        say("field_office.yours", office=office.name, address=office.address),
        state=_request(f, zip=f.answer.value).state,
    )


# ---- the preferred date, and the request stored -----------------------------------------------


def _read_date(text: str, f: Facts) -> Answer | Decision | None:
    if read_date(text, f.now.date()) is None and looks_like_receipt(text):
        # A receipt typed here is looked up by the tier's intercepts ("Nov 28 2026" has
        # letters then digits too, but reads as a date first).
        return None
    days = f.policy.requests.max_days_ahead
    checked = check_preferred_date(text, f.now, days, holiday_name)
    read = date.fromisoformat(checked.value) if checked.value else None
    if not checked.ok or read is None:
        return refuse(
            checked.rule,
            REFUSALS[checked.rule],
            choices=(NO_DATE,),
            days=days,
            date=DayName(read) if read else "",
            holiday=(holiday_name(read) or "") if read else "",
        )
    return Answer("text", value=read, text=text)


def _date_skipped(f: Facts) -> Decision | None:
    if not f.answer.pressed(SKIP_DATE):
        return None
    return decide(AppointmentRule.DATE_SKIPPED, state=_request(f, preferred=None).state)


def _date_given(f: Facts) -> Decision | None:
    if not isinstance(f.answer.value, date):
        return None
    return decide(AppointmentRule.DATE_OK, state=_request(f, preferred=f.answer.value).state)


def _show_submitted(f: Facts) -> Shown:
    chosen = _chosen(f)
    request = f.state.request
    note = (
        say("apr.preferred_date_note", date=request.preferred)
        if request.preferred
        else Say("apr.no_date_note")
    )
    submitted = shown(
        say(
            "apr.submitted",
            *WAY_OUT,
            reference=request.reference or "",
            type=chosen.label if chosen else "",
            date_note=note,
        )
    )
    # Stored with the request: the conversation keeps only the type and the reference, not
    # the identifier, the reason or the date the applicant gave.
    kept = RequestAnswers(type=request.type, reference=request.reference)
    return Shown(submitted.says, submitted.choices, state=f.state.but(request=kept))


STEPS = (
    Step(
        APR_TYPE,
        "In-person appointment request: choosing the request type.",
        show=lambda f: shown(say("apr.choose_type", *_types(f), MENU_BUTTON)),
        routes=(
            DIDNT_HELP_ROUTE,
            route("apr_type", APR_IDENTIFIER, _type_chosen, "A request type was chosen."),
        ),
        kinds=(DIDNT_HELP, TYPE),
    ),
    Step(
        APR_IDENTIFIER,
        "In-person appointment request: receipt or A-number.",
        show=_show_identifier,
        parse=_read_identifier,
        routes=(
            DIDNT_HELP_ROUTE,
            route(
                "apr_identified",
                APR_REASON,
                _identified,
                "A receipt number or A-number was given.",
            ),
        ),
        kinds=(DIDNT_HELP,),
    ),
    Step(
        APR_REASON,
        "In-person appointment request: the reason, in own words.",
        show=lambda f: shown(Say("apr.ask_reason")),
        parse=_read_reason,
        private_text=True,
        routes=(
            DIDNT_HELP_ROUTE,
            route("apr_reason", APR_CHECKLIST, _reason_given, "The reason was given."),
        ),
        kinds=(DIDNT_HELP,),
    ),
    Step(
        APR_CHECKLIST,
        "In-person appointment request: confirming the documents.",
        show=_show_checklist,
        routes=(
            DIDNT_HELP_ROUTE,
            route(
                "apr_documents",
                APR_PHONE,
                _documents_confirmed,
                "The applicant confirmed the document checklist.",
            ),
            route(
                "apr_documents",
                APR_PHONE,
                _only_optional_missing,
                "Only optional documents are missing: they never hold a request back.",
            ),
            stay(_which_missing, "Not all: are only the optional documents missing?"),
            stay(_documents_missing, "Without a required document the request may be refused."),
        ),
        kinds=(DIDNT_HELP, DOCS_YES, DOCS_NO, DOCS_ONLY_OPTIONAL, DOCS_REQUIRED),
    ),
    Step(
        APR_PHONE,
        "In-person appointment request: the phone number an officer can call.",
        show=lambda f: shown(say("apr.contact.ask_phone", MENU_BUTTON)),
        parse=_read_phone,
        routes=(
            DIDNT_HELP_ROUTE,
            route("apr_phone", APR_ZIP, _phone_given, "A US phone number was given."),
        ),
        kinds=(DIDNT_HELP,),
    ),
    Step(
        APR_ZIP,
        "In-person appointment request: the ZIP code, which picks the field office.",
        show=lambda f: shown(say("apr.contact.ask_zip", MENU_BUTTON)),
        parse=_read_zip,
        routes=(
            DIDNT_HELP_ROUTE,
            route(
                "apr_zip",
                APR_DATE,
                _zip_given,
                "A ZIP code a field office serves was given; the office is said.",
            ),
        ),
        kinds=(DIDNT_HELP,),
    ),
    Step(
        APR_DATE,
        "In-person appointment request: optional preferred date.",
        show=lambda f: shown(say("apr.ask_date", NO_DATE)),
        parse=_read_date,
        routes=(
            DIDNT_HELP_ROUTE,
            route(
                "apr_submitted",
                APR_SUBMITTED,
                _date_skipped,
                "The request was stored, pending review, without a preferred date.",
                effect=SUBMIT,
            ),
            route(
                "apr_submitted",
                APR_SUBMITTED,
                _date_given,
                "The request was stored, pending review, with a preferred date.",
                effect=SUBMIT,
            ),
        ),
        kinds=(DIDNT_HELP, SKIP_DATE),
    ),
    Step(
        APR_SUBMITTED,
        "The request is stored, pending review; reference given.",
        show=_show_submitted,
        routes=(DIDNT_HELP_ROUTE,),
        kinds=(DIDNT_HELP,),
    ),
)
