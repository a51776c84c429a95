"""What staff read, composed in one place for the CLI (`tierline staff`) and the Telegram
staff commands alike: queue summaries, due times, item lines and the desk's outcomes.

Texts come from the catalogue (`tier2.staff.*`, `telegram.staff.*`); dates and times are
written in the house style by `bot.text`, like everything an applicant reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.messages import Catalogue
from bot.text import short_when, text

if TYPE_CHECKING:
    from bot.staff.desk import QueueItem


class StaffLines:
    def __init__(self, messages: Catalogue) -> None:
        self.messages = messages

    def t(self, key: str, **params: Any) -> str:
        """A catalogue text with its dates and times in the house style."""
        return text(self.messages, key, params)

    def urgency(self, urgent: bool) -> str:
        return self.t("tier2.staff.summary." + ("urgent" if urgent else "regular"))

    def due(self, item: QueueItem, none_key: str = "tier2.staff.cli.no_due") -> str:
        return short_when(item.due_at) if item.due_at is not None else self.t(none_key)

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
