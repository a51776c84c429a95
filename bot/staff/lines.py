"""What staff read, composed in one place for the CLI (`tierline staff`) and the Telegram
staff commands alike: queue lines, due times, the officer's full view of an item, and the
desk's outcomes; and the same data as JSON for scripts.

Texts come from the catalogue (`tier2.staff.*`, `telegram.staff.*`); dates and times are
written in the house style by `bot.text`, like everything an applicant reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.messages import Catalogue
from bot.text import long_date, short_when, text

if TYPE_CHECKING:
    from bot.staff.desk import ItemView, QueueItem


class StaffLines:
    def __init__(self, messages: Catalogue) -> None:
        self.messages = messages

    def t(self, key: str, **params: Any) -> str:
        """A catalogue text with its dates and times in the house style."""
        return text(self.messages, key, params)

    def urgency(self, urgent: bool) -> str:
        return self.t("tier2.staff.summary." + ("urgent" if urgent else "regular"))

    def due(self, item: QueueItem, none_key: str = "tier2.staff.cli.no_due") -> str:
        if item.due_at is None:
            return self.t(none_key)
        when = short_when(item.due_at)
        return self.t("tier2.staff.overdue", when=when) if item.overdue else when

    def cli_item(self, number: int, item: QueueItem) -> str:
        return self.t(
            "tier2.staff.cli.item",
            number=number,
            reference=item.reference,
            kind=item.kind,
            due=self.due(item),
            status=item.status,
            urgency=self.urgency(item.urgent),
            summary=item.summary,
        )

    def chat_item_fields(self, item: QueueItem) -> dict[str, object]:
        """The placeholders of `telegram.staff.queue_item` and `telegram.staff.taken`."""
        return {
            "marker": self.t("telegram.staff.urgent_marker") if item.urgent else "",
            "reference": item.reference,
            "kind": item.kind,
            "category": item.category,
            "status": item.status,
            "summary": item.summary,
            "due": self.due(item, "telegram.staff.no_due"),
        }

    # ---- the officer's view ----------------------------------------------------------------

    def view(self, view: ItemView) -> str:
        """The full record, one fact a line (only ever shown to the officer holding it)."""
        item = view.item
        none = self.t("tier2.staff.view.none")
        lines = [
            self.t(
                "tier2.staff.view.head",
                reference=item.reference,
                kind=item.kind,
                status=item.status,
                staff=item.taken_by or none,
                due=self.due(item),
            ),
            self.t("tier2.staff.view.phone", phone=view.phone or none),
            self.t(
                "tier2.staff.view.case",
                receipt=view.receipt or self.t("tier2.staff.view.no_receipt"),
                case=view.case or none,
            ),
            self.t("tier2.staff.view.asking", who=self._who(view)),
            self.t(
                "tier2.staff.view.category",
                category=item.category,
                rule=view.category_rule or none,
            ),
            self.t(
                "tier2.staff.view.urgency",
                urgency=self.urgency(item.urgent),
                rule=view.urgency_rule,
            ),
        ]
        if view.escalation_reason:
            lines.append(self.t("tier2.staff.view.escalated", rule=view.escalation_reason))
        for asked, answer in view.answers:
            lines.append(
                self.t(
                    "tier2.staff.view.answer",
                    asked=self.t(f"tier2.staff.view.asked.{asked}"),
                    answer=answer,
                )
            )
        lines.append(
            self.t(
                "tier2.staff.view.preferred",
                day=long_date(view.preferred_date) if view.preferred_date else none,
            )
        )
        if view.office:
            lines.append(self.t("tier2.staff.view.office", office=view.office))
        lines.append(self.t("tier2.staff.view.history"))
        lines += [
            self.t(
                "tier2.staff.view.attempt_note" if a.note else "tier2.staff.view.attempt",
                when=short_when(a.at),
                outcome=a.outcome,
                staff=a.staff_id,
                note=a.note or "",
            )
            for a in view.history
        ] or [self.t("tier2.staff.view.no_history")]
        lines.append(self.t("tier2.staff.view.outcomes", outcomes=", ".join(view.outcomes)))
        return "\n".join(lines)

    def _who(self, view: ItemView) -> str:
        if view.role is None:
            return self.t("tier2.staff.view.role_unknown")
        g28 = "g28_on_file" if view.g28_on_file else "g28_not_needed"
        return self.t(
            "tier2.staff.view.who",
            who=self.t(f"tier2.staff.view.role.{view.role}"),
            rule=view.role_rule or "-",
            g28=self.t(f"tier2.staff.view.{g28}"),
        )


def item_json(item: QueueItem) -> dict[str, Any]:
    """A queue line for scripts (`tierline staff queue --json`)."""
    return {
        "reference": item.reference,
        "kind": item.kind,
        "category": item.category,
        "urgent": item.urgent,
        "due_at": item.due_at.isoformat() if item.due_at else None,
        "overdue": item.overdue,
        "status": item.status,
        "taken_by": item.taken_by,
        "summary": item.summary,
    }


def view_json(view: ItemView) -> dict[str, Any]:
    """The officer's full view for scripts (`tierline staff take REF --json`)."""
    return {
        **item_json(view.item),
        "phone": view.phone,
        "receipt": view.receipt,
        "case": view.case,
        "role": view.role,
        "role_rule": view.role_rule,
        "g28_on_file": view.g28_on_file,
        "category_rule": view.category_rule,
        "urgency_rule": view.urgency_rule,
        "escalation_reason": view.escalation_reason,
        "answers": dict(view.answers),
        "preferred_date": view.preferred_date.isoformat() if view.preferred_date else None,
        "office": view.office,
        "history": [
            {"at": a.at.isoformat(), "outcome": a.outcome, "staff": a.staff_id, "note": a.note}
            for a in view.history
        ],
        "outcomes": list(view.outcomes),
    }
