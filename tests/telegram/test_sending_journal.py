"""The sending journal beside the database: what was on its way when the process ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage import sending
from bot.storage.sending import SendingJournal


def test_replay_gives_what_was_on_its_way_and_not_known_undelivered(tmp_path: Path) -> None:
    journal = SendingJournal.beside(tmp_path / "bot.db")
    assert journal.path == tmp_path / "bot.db.sending"
    assert journal.replay() == set()
    for n in (1, 2, 3):
        journal.sending(n)
    journal.not_sent(2)  # an error answer: it did not arrive
    journal.settled(3)  # its outcome is committed; the line stays until cleared
    journal.close()  # as if the process died here
    assert SendingJournal.beside(tmp_path / "bot.db").replay() == {1, 3}
    journal.clear()
    assert not journal.path.exists() and journal.replay() == set()


def test_the_file_is_rewritten_with_only_what_is_on_its_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sending, "COMPACT_AFTER", 10)
    journal = SendingJournal(tmp_path / "j")
    for n in range(1, 30):
        journal.sending(n)
        if n != 7:
            journal.settled(n)
    lines = journal.path.read_text().splitlines()
    assert len(lines) < 15  # compacted, not 29 lines
    assert journal.replay() >= {7}
    journal.sending(30)
    journal.compact()
    assert journal.path.read_text().splitlines() == ["+7", "+30"]
