"""The sending journal: which outbox messages are on their way to Telegram right now.

A message is not sent twice (it may have arrived), so "this one is being sent" must be
on record before its request goes out, and must survive the process being killed. A
commit to the database would do, but it waits for the disk, and for that long the record
is written while the message is not yet sent: a process killed in that gap leaves a
message recorded as sent that never was. So the record is one line appended to a file
beside the database (`<db>.sending`) with a plain `write` just before the request, which
survives the death of the process at once (not a power cut: then the message may be sent
a second time). What becomes of the message (delivered, refused, no answer) is then
committed to the outbox as usual, and the line is no longer needed.

At start `replay` gives the messages that were on their way when the last run ended; the
caller marks them attempted in the outbox, then calls `clear`. The file is rewritten with
only what is on its way whenever it has grown (`compact`), so it stays small.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

COMPACT_AFTER = 10_000  # lines appended before the file is rewritten


class SendingJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._on_the_way: set[int] = set()
        self._lines = 0

    @classmethod
    def beside(cls, db_path: Path) -> SendingJournal:
        return cls(db_path.with_name(db_path.name + ".sending"))

    # ---- at start -----------------------------------------------------------------------

    def replay(self) -> set[int]:
        """The messages that were on their way when the last run ended."""
        try:
            text = self.path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            return set()
        ids: set[int] = set()
        for line in text.splitlines():
            sign, number = line[:1], line[1:]
            if not number.isdigit():
                continue  # a line cut short by the crash: its request never went out
            if sign == "+":
                ids.add(int(number))
            elif sign == "-":
                ids.discard(int(number))
        return ids

    def clear(self) -> None:
        """Forget everything written so far (its outcome is committed elsewhere)."""
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._lines = 0
        self._on_the_way = set()

    # ---- while sending --------------------------------------------------------------------

    def sending(self, notice_id: int) -> None:
        """Record that `notice_id` goes out now (call it just before the request)."""
        self._append(f"+{notice_id}\n")
        self._on_the_way.add(notice_id)

    def not_sent(self, notice_id: int) -> None:
        """The request certainly did not arrive: the message may be sent again."""
        self._append(f"-{notice_id}\n")
        self._on_the_way.discard(notice_id)

    def settled(self, notice_id: int) -> None:
        """The outcome is committed to the outbox: the line is no longer needed."""
        self._on_the_way.discard(notice_id)
        if self._lines >= COMPACT_AFTER:
            self.compact()

    @property
    def on_the_way(self) -> set[int]:
        return set(self._on_the_way)

    def is_on_the_way(self, notice_id: int) -> bool:
        """Sent in this run, and what became of it not committed yet."""
        return notice_id in self._on_the_way

    def compact(self) -> None:
        """Rewrite the file with only the messages still on their way."""
        temporary = self.path.with_name(self.path.name + ".new")
        temporary.write_text("".join(f"+{n}\n" for n in sorted(self._on_the_way)))
        self.close()
        os.replace(temporary, self.path)  # all or nothing, even if the process dies here
        self._lines = len(self._on_the_way)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _append(self, line: str) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(self._fd, line.encode("ascii"))
        self._lines += 1
