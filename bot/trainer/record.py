"""`tierline scenarios record`: a stored conversation turned into a scenario file.

The inputs come from the `turns` table in order (the first turn's time is the scenario's
`now`; a later turn at another time gets an `at:` step before it), and each input expects
the state the conversation was in after it. The transcript is kept for
`retention.transcript_days` and keeps personal identifiers masked (see `flows.privacy`):
masked phone numbers and A-numbers are replayed as fictional ones, an answer in the
applicant's own words as its placeholder, and a masked receipt number is reported, since
the case it named cannot be known. The turns table keeps a pressed button's data,
not its label, so the conversation is replayed on a scratch database to find the label
each pressed button had; a button whose label cannot be recovered stays `press_data`. The
replay is also compared with the stored transition log, and any difference is reported as
a warning, since the recorded scenario would then fail at that step.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import yaml
from msgspec import Struct, field

from bot.model import Button, ConversationKey
from bot.storage.database import Database, redact
from bot.storage.ports import Cases, sqlite_ports
from bot.storage.timefmt import from_db
from bot.trainer.runner import run_scenario
from bot.trainer.scenario import Scenario
from flows.case_records import COLUMNS
from flows.machine import tier_of

_RECEIPT_IN_TEXT = re.compile(r"[A-Za-z]{3}(?:[\s\-]*\d){10}")
# The masked forms the transcript keeps (`flows.privacy`), and what stands in for them in a
# recorded scenario: fictional numbers that are read the same way (555-01xx is reserved
# for fiction). A masked receipt number has no stand-in: its case cannot be known.
_MASKED_PHONE = re.compile(r"\*\*\*-\*\*\*-\*\*(\d\d)")
_MASKED_A_NUMBER = re.compile(r"(?<![A-Za-z0-9])A\*{7}(\d\d)")
_MASKED_RECEIPT = re.compile(r"(?<![A-Za-z0-9])[A-Z]{3}\*{8}\d\d")


def replayable(text: str) -> tuple[str, bool]:
    """`text` from the transcript with fictional stand-ins for masked phone numbers and
    A-numbers, and whether it still holds a masked receipt number."""
    text = _MASKED_PHONE.sub(r"(202) 555-01\1", text)
    text = _MASKED_A_NUMBER.sub(r"A0000000\1", text)
    return text, bool(_MASKED_RECEIPT.search(text))


class RecordError(Exception):
    """The conversation cannot be recorded (no database, no such conversation)."""


class Recording(Struct):
    yaml_text: str
    warnings: list[str] = field(default_factory=list)


async def record(db_path: Path | str, channel: str, user_id: str, tz: Any) -> Recording:
    """The scenario of `channel:user_id`'s conversation stored in `db_path` (a SQLite file
    or a PostgreSQL URL)."""
    if isinstance(db_path, Path) and not await asyncio.to_thread(db_path.is_file):
        raise RecordError(f"no database at {db_path}")
    db = await Database.open(db_path)
    source = db_path.name if isinstance(db_path, Path) else redact(db_path)
    try:
        ports = sqlite_ports(db, tz)
        key = ConversationKey.of(channel, user_id)
        turns = await ports.transcript.turns_of(key)
        logged = await ports.transcript.transitions_of(key)
        cases = await _cases_mentioned(
            ports.cases, [t["value"] for t in turns if t["kind"] == "text"]
        )
    finally:
        await db.close()
    if not turns:
        raise RecordError(f"no stored turns for conversation {channel}:{user_id} in {db_path}")

    now = from_db(turns[0]["at"]).astimezone(tz)
    steps: list[dict[str, Any]] = []
    masked_receipts: list[str] = []
    previous = now
    for t in turns:
        at = from_db(t["at"]).astimezone(tz)
        if at != previous:
            steps.append({"at": at.isoformat()})
            previous = at
        if t["kind"] == "text":
            said, masked = replayable(t["value"])
            step: dict[str, Any] = {"say": said}
            if masked:
                masked_receipts.append(f"step {len(steps) + 1} ({t['value']!r})")
        else:
            step = {"press_data": t["value"]}
        step["expect"] = {"state": t["state"], "tier": tier_of(t["state"])}
        steps.append(step)
    data: dict[str, Any] = {
        "name": f"recorded {channel}:{user_id}",
        "description": f"Recorded from {source}: {len(turns)} turns of {channel}:{user_id}.",
        "now": now.isoformat(),
    }
    if cases:
        data["cases"] = cases
    data["steps"] = steps

    recording = Recording("")
    if masked_receipts:
        recording.warnings.append(
            "the transcript keeps receipt numbers masked, so the replay cannot look up the "
            f"case at {', '.join(masked_receipts)}: type the receipt there and add its case "
            "under `cases:` (or, on a test deployment, list the channel in "
            "retention.verbatim_transcripts)"
        )
    await _recover_labels(data, logged, recording.warnings)
    recording.yaml_text = (
        f"# Recorded by `tierline scenarios record` from {source} ({channel}:{user_id}).\n"
        + yaml.safe_dump(
            data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100
        )
    )
    return recording


async def _cases_mentioned(cases: Cases, texts: list[str]) -> list[dict[str, Any]]:
    """The stored cases whose receipt numbers the applicant typed (so the replay finds them)."""
    receipts = sorted(
        {re.sub(r"[\s\-]", "", m).upper() for text in texts for m in _RECEIPT_IN_TEXT.findall(text)}
    )
    rows = []
    for receipt in receipts:
        record = await cases.lookup(receipt)
        if record is not None:
            stored = zip(COLUMNS, record.db_params(), strict=True)
            rows.append({k: v for k, v in stored if v is not None})
    return rows


async def _recover_labels(data: dict[str, Any], logged: list[Any], warnings: list[str]) -> None:
    """Replay the draft on a scratch database; turn `press_data` into `press` by label."""
    try:
        draft = Scenario.model_validate(data)
    except ValueError as exc:
        warnings.append(f"the recorded steps could not be replayed to recover labels: {exc}")
        return
    report = await run_scenario(draft)
    offered: tuple[Button, ...] = ()
    for sr in report.steps:
        raw = data["steps"][sr.index]
        if "press_data" in raw:
            matches = [b for b in offered if b.data == raw["press_data"]]
            labels = [b.label for b in offered]
            if len(matches) == 1 and labels.count(matches[0].label) == 1:
                raw["press"] = matches[0].label
                del raw["press_data"]
                raw["expect"] = raw.pop("expect")  # keep `expect` after the input
        if sr.result is not None and sr.result.replies:
            offered = tuple(b for r in sr.result.replies for b in r.buttons)
    if report.error:
        warnings.append(f"the replay broke: {report.error}")
    failed = report.failed_step
    if failed is not None:
        warnings.append(
            f"the replay differs at {failed.title}: {'; '.join(failed.failures)}"
            " (the recorded scenario will fail there)"
        )
    replayed = [(t.trigger, t.source, t.dest) for sr in report.steps for t in sr.transitions]
    stored = [(r["trigger"], r["source"], r["dest"]) for r in logged]
    if failed is None and replayed != stored:
        warnings.append(
            "the replay fired other transitions than the stored log "
            f"({len(replayed)} replayed, {len(stored)} stored); staff actions "
            "or ticks are not recorded as steps"
        )
