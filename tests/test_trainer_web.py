"""`tierline trainer`, the trainer's classroom, over plain HTTP: the page and its assets,
the JSON endpoints on a real server and a real database file, stepping back, recording a
session as a scenario that replays, and requests that must change nothing."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot.config import load_settings
from bot.trainer.classroom import Classroom
from bot.trainer.web import STATIC, make_app
from tests.conftest import ROOT, run_cli

TOKEN = "test-token-0123456789"
MONDAY_10AM = datetime(2026, 11, 23, 10, 0)


@dataclass
class Room:
    http: httpx.AsyncClient
    room: Classroom
    save_dir: Path

    async def view(self) -> dict[str, Any]:
        r = await self.http.get("/api/view")
        assert r.status_code == 200, r.text
        return r.json()

    async def post(self, path: str, body: Any, **headers: str) -> httpx.Response:
        return await self.http.post(path, json=body, headers={"X-Tierline-Token": TOKEN, **headers})

    async def act(self, **body: Any) -> dict[str, Any]:
        r = await self.post("/api/act", body)
        assert r.status_code == 200, r.text
        return r.json()

    async def press(self, view: dict[str, Any], label: str) -> dict[str, Any]:
        exact = [b for b in view["buttons"] if label.casefold() == b["label"].casefold()]
        found = exact or [b for b in view["buttons"] if label.casefold() in b["label"].casefold()]
        assert found, f"no button like {label!r}: {[b['label'] for b in view['buttons']]}"
        return await self.act(do="press", data=found[0]["data"])


@pytest.fixture
async def room(tmp_path: Path) -> AsyncIterator[Room]:
    settings = load_settings(db_path=tmp_path / "unused.db")
    classroom = Classroom(settings, tmp_path / "trainer.db", MONDAY_10AM)
    await classroom.open()
    save_dir = tmp_path / "recordings"
    sockets = bind_sockets(0, address="127.0.0.1")
    server = HTTPServer(make_app(classroom, save_dir=save_dir, token=TOKEN))
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            yield Room(http, classroom, save_dir)
    finally:
        server.stop()
        await classroom.close()


async def book_a_callback(r: Room) -> dict[str, Any]:
    """From /start to a booked Tier 2 callback at 2:00 p.m. today, as the page does it."""
    v = await r.act(do="say", text="/start")
    v = await r.press(v, "Talk to a person")
    v = await r.press(v, "I am the applicant")
    v = await r.press(v, "Something else")
    v = await r.press(v, "Mon Nov 23")
    v = await r.press(v, "2:00 p.m.")
    v = await r.act(do="say", text="(212) 555-0187")
    v = await r.act(do="say", text="20120")
    v = await r.press(v, "Yes, book it")
    assert v["machine"]["state"] == "tier2.booked"
    return v


async def test_the_page_and_its_assets_are_served_from_the_package(room: Room) -> None:
    page = await room.http.get("/")
    assert page.status_code == 200
    assert f'content="{TOKEN}"' in page.text
    for asset in ("/static/trainer.js", "/static/trainer.css"):
        r = await room.http.get(asset)
        assert r.status_code == 200 and r.text
    # Offline: nothing the page loads comes from another host.
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path.name
        assert "import(" not in text and "cdn" not in text.lower(), path.name
    missing = await room.http.get("/nothing-here")
    assert missing.status_code == 404 and "no such page" in missing.json()["error"]


async def test_a_journey_to_a_booked_callback_shows_the_machine_and_the_officer(
    room: Room,
) -> None:
    v = await room.act(do="say", text="/start")
    m = v["machine"]
    assert m["state"] == "automated.menu" and m["tier"] == "automated"
    assert [t["id"] for t in m["tiers"] if t["current"]] == ["automated"]
    assert any(s["current"] and s["name"] == "automated.menu" for s in m["states"])
    assert {p["trigger"] for p in m["possible"]}  # what the applicant could do next
    v = await room.press(v, "Talk to a person")
    m = v["machine"]
    assert m["state"] == "tier1.intake" and m["fresh"]
    fired = m["fired"][-1]
    assert (fired["source"], fired["dest"], fired["trigger"]) == (
        "automated.menu",
        "tier1.intake",
        "escalate",
    )
    assert fired["rule"] and fired["why"]  # the rule id, and what it is for in words

    v = await book_a_callback(room)
    booked = v["officer"]["queue"]
    assert [q["status"] for q in booked] == ["booked"]
    reference = booked[0]["reference"]
    callback = [mo for mo in v["moments"] if mo["kind"] == "callback"]
    assert callback and callback[0]["at"].startswith("2026-11-23T14:00")
    assert any(mo["kind"] == "holiday" and "Thanksgiving" in mo["label"] for mo in v["moments"])

    v = await room.act(do="clock", to=callback[0]["at"])
    assert v["now"].startswith("2026-11-23T14:00")
    v = await room.act(do="take", reference=reference)
    assert v["officer"]["taken"]["reference"] == reference
    assert v["officer"]["taken"]["phone"] == "(212) 555-0187"  # the full record, to its holder
    assert "appointment" in v["officer"]["taken"]["outcomes"]
    v = await room.act(do="complete", reference=reference, outcome="appointment", note="")
    notices = [e["text"] for e in v["events"] if e["kind"] == "notice"]
    assert any("booked you an in-person appointment" in t for t in notices), notices
    assert v["officer"]["queue"] == []


async def test_a_reminder_falls_due_as_the_clock_passes_it(room: Room) -> None:
    v = await room.act(do="say", text="/start")
    v = await room.press(v, "Talk to a person")
    v = await room.press(v, "I am the applicant")
    v = await room.press(v, "Something else")
    v = await room.press(v, "Tue Nov 24")
    v = await room.press(v, "2:00 p.m.")
    v = await room.act(do="say", text="(212) 555-0187")
    v = await room.act(do="say", text="20120")
    v = await room.press(v, "Yes, book it")
    before = len([e for e in v["events"] if e["kind"] == "notice"])
    reminder = [mo for mo in v["moments"] if mo["kind"] == "reminder"]
    assert reminder, v["moments"]
    v = await room.act(do="clock", to=reminder[0]["at"])
    notices = [e for e in v["events"] if e["kind"] == "notice"]
    assert len(notices) == before + 1
    assert "Tuesday, November 24" in notices[-1]["text"]


async def test_a_guard_that_says_no_is_shown_with_its_rule(room: Room) -> None:
    await room.act(do="say", text="/start")
    v = await room.act(do="say", text="/agent")
    v = await room.press(v, "I am the applicant")
    v = await room.press(v, "Something else")
    v = await room.press(v, "Mon Nov 23")
    v = await room.press(v, "2:00 p.m.")
    v = await room.act(do="say", text="555-0143")  # no area code
    m = v["machine"]
    assert m["state"] == "tier2.phone"
    assert m["refused"]["rule"] == "tier2.bad_phone"
    assert m["refused"]["kept"] == "no"
    assert "phone number" in m["refused"]["said"]


async def test_back_rebuilds_the_session_to_the_turn_before_and_restart_to_the_start(
    room: Room,
) -> None:
    v = await room.act(do="say", text="/start")
    after_start = v
    v = await room.press(v, "Talk to a person")
    assert v["machine"]["state"] == "tier1.intake"
    v = await room.act(do="back")
    assert v["machine"]["state"] == "automated.menu"
    assert v["events"] == after_start["events"]
    assert v["cursor"] == 1 and v["moves"] == 2 and v["next"]
    v = await room.act(do="forward")  # the step undone can be played again
    assert v["machine"]["state"] == "tier1.intake"
    v = await room.act(do="restart")
    assert v["cursor"] == 0 and v["machine"]["state"] == "automated.menu"
    assert [e["kind"] for e in v["events"]] == ["clock"]
    r = await room.post("/api/act", {"do": "back"})
    assert r.status_code == 400 and "start of the session" in r.json()["error"]


async def test_a_shipped_scenario_plays_forward_one_step_at_a_time(room: Room) -> None:
    v = await room.act(do="load", scenario="tier2-officer-books-field-visit")
    assert v["scenario"]["file"] == "tier2-officer-books-field-visit"
    assert v["now"].startswith("2026-11-25T09:00") and v["cursor"] == 0
    total = v["moves"]
    states = []
    while v["next"]:
        v = await room.act(do="forward")
        states.append(v["machine"]["state"])
    assert v["cursor"] == total
    assert states[-1] == "automated.menu"
    assert "tier2.booked" in states
    assert not [e for e in v["events"] if e["kind"] == "problem"]
    assert any("3, 2026" in e["text"] for e in v["events"] if e["kind"] == "notice")


BAD_MOVES = [
    ({"do": "launch"}, "unknown action"),
    ({"do": "clock", "by": "-1h"}, "not a duration"),
    ({"do": "clock", "by": "0m"}, "only moves forward"),
    ({"do": "clock", "to": "2026-11-22T10:00"}, "only moves forward"),
    ({"do": "clock", "to": "next tuesday"}, "not an ISO date-time"),
    ({"do": "clock"}, "give the clock"),
    ({"do": "press", "data": "confirm:yes"}, "not on the applicant's screen"),
    ({"do": "say", "text": ""}, "empty"),
    ({"do": "say", "text": 42}, "must be text"),
    ({"do": "say", "text": "x" * 5000}, "longer than"),
    ({"do": "complete", "reference": "CB-NOPE00", "outcome": "resolved"}, "not an open item"),
    ({"do": "take", "reference": None}, "must be text"),
    ({"do": "load", "scenario": "../../etc/passwd"}, "no shipped scenario"),
    ({"do": "forward"}, "no next step"),
]


@pytest.mark.parametrize(("body", "reason"), BAD_MOVES)
async def test_bad_input_gets_a_clear_400_and_changes_nothing(
    room: Room, body: dict[str, Any], reason: str
) -> None:
    v = await room.act(do="say", text="/start")
    r = await room.post("/api/act", body)
    assert r.status_code == 400
    assert reason in r.json()["error"]
    assert "Traceback" not in r.text
    assert await room.view() == v


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({"X-Tierline-Token": ""}, b'{"do": "say", "text": "/start"}', "X-Tierline-Token"),
        ({"X-Tierline-Token": "guess"}, b'{"do": "say", "text": "/start"}', "X-Tierline-Token"),
        ({"Content-Type": "text/plain"}, b'{"do": "say", "text": "/start"}', "must be JSON"),
        ({"Host": "evil.example:80"}, b'{"do": "say", "text": "/start"}', "not this local"),
        ({"Origin": "https://evil.example"}, b'{"do": "say", "text": "/start"}', "not this local"),
        ({}, b"{not json", "not valid JSON"),
        ({}, b'["say"]', "JSON object"),
    ],
)
async def test_forged_requests_get_a_clear_400_and_change_nothing(
    room: Room, headers: dict[str, str], body: bytes, reason: str
) -> None:
    before = await room.view()
    sent = {"X-Tierline-Token": TOKEN, "Content-Type": "application/json", **headers}
    r = await room.http.post("/api/act", content=body, headers=sent)
    assert r.status_code == 400
    assert reason in r.json()["error"]
    assert await room.view() == before
    r = await room.http.post("/api/save", content=body, headers=sent)
    assert r.status_code == 400


async def test_the_view_is_not_served_to_another_host_name(room: Room) -> None:
    r = await room.http.get("/api/view", headers={"Host": "rebound.example:8765"})
    assert r.status_code == 400 and "not this local server" in r.json()["error"]
    assert (await room.http.get("/api/view", headers={"Host": "localhost:8765"})).status_code == 200


async def test_a_recorded_session_replays_green_with_placeholders(
    room: Room, tmp_path: Path
) -> None:
    await room.act(do="say", text="/start")
    v = await room.act(do="say", text="EAC2190000001")  # a demo case, by its receipt
    assert v["machine"]["state"] == "automated.status.answered"
    await book_a_callback(room)
    v = await room.view()
    reference = v["officer"]["queue"][0]["reference"]
    await room.act(do="clock", to="2026-11-23T14:00")
    await room.act(do="complete", reference=reference, outcome="resolved", note="Spoke to Maria")
    r = await room.post("/api/save", {"name": "A callback, recorded", "keep": False})
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["passed"], saved["warnings"]
    path = Path(saved["file"])
    assert path.parent == room.save_dir and path.name == "a-callback-recorded.yaml"
    text = await asyncio.to_thread(path.read_text)
    for personal in ("EAC2190000001", "212", "0187", "Maria"):
        assert personal not in text, personal
    data = yaml.safe_load(text)
    assert data["cases"][0]["receipt_number"].startswith("EAC21900")
    assert data["cases"][0]["form_type"] == "I-485"
    assert any(s.get("staff", {}).get("outcome") == "resolved" for s in data["steps"])
    proc = run_cli("scenarios", "run", str(path))
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert "1 passed" in proc.stdout.decode()

    kept = (await room.post("/api/save", {"name": "kept", "keep": True})).json()
    assert kept["passed"], kept["warnings"]
    assert "(212) 555-0187" in kept["yaml"] and "EAC2190000001" in kept["yaml"]


async def test_saving_an_empty_session_is_refused(room: Room) -> None:
    r = await room.post("/api/save", {"name": "nothing", "keep": False})
    assert r.status_code == 400 and "nothing to save" in r.json()["error"]
    r = await room.post("/api/save", {"name": "x", "keep": "yes"})
    assert r.status_code == 400 and "`keep`" in r.json()["error"]
    assert not room.save_dir.exists()


def test_the_port_and_host_are_settings_with_environment_overrides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()
    assert settings.trainer.host == "127.0.0.1"
    monkeypatch.setenv("TIERLINE_TRAINER__PORT", "9123")
    assert load_settings().trainer.port == 9123
    monkeypatch.setenv("TIERLINE_TRAINER__PORT", "99999")
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="TIERLINE_TRAINER"):
        load_settings()


def test_the_trainer_command_refuses_a_port_it_cannot_use() -> None:
    proc = run_cli("trainer", "--port", "70000", timeout=30)
    assert proc.returncode == 2
    assert "not a port" in proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    assert (ROOT / "bot" / "trainer" / "static" / "index.html").is_file()


async def test_every_shipped_scenario_steps_forward_and_its_recording_replays_green(
    tmp_path: Path,
) -> None:
    """Forward plays each shipped scenario through the classroom to every state it
    expects; the session saved with placeholders then replays green on its own."""
    from bot.trainer.classroom import record_session
    from bot.trainer.scenario import load_scenario

    room = Classroom(load_settings(), tmp_path / "trainer.db", MONDAY_10AM)
    await room.open()
    try:
        names = room.scenario_names()
        assert len(names) >= 20
        for name in names:
            await room.act({"do": "load", "scenario": name})
            scenario = load_scenario(room.scenarios_dir / f"{name}.yaml")
            while room.cursor < len(room.moves):
                step = scenario.steps[room.cursor]
                await room.act({"do": "forward"})
                if step.expect is not None and step.expect.state is not None:
                    assert room.s.played[-1].state == step.expect.state, (name, step.describe())
            assert not [e for e in room.s.events if e["kind"] == "problem"], name
            recorded = await record_session(room, name, keep=False)
            assert recorded.passed, (name, recorded.warnings)
    finally:
        await room.close()
