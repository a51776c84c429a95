"""deploy/: the compose file and the haproxy configuration agree with each other and with
the bot (there is no Docker engine where the tests run, so the compose file is checked, not
run; tests/telegram/test_telegram_replicas.py runs haproxy with this configuration's shape
in front of three real replicas)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from bot.adapters.telegram.webhook import HEALTH_PATH
from tests.conftest import ROOT
from tests.pg_server import missing

DEPLOY = ROOT / "deploy"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def _replicas(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("command", [None])[0] == "telegram"
    }


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_compose_runs_postgres_a_migration_two_or_more_replicas_and_the_balancer() -> None:
    compose = _compose()
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:15")
    assert services["migrate"]["command"] == ["migrate"]
    replicas = _replicas(compose)
    assert len(replicas) >= 2
    for name, replica in replicas.items():
        build = replica["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve().is_file(), name
        env = replica["environment"]
        assert env["TIERLINE_DB_PATH"].startswith("postgresql://"), name
        assert "@db:5432/" in env["TIERLINE_DB_PATH"], name
        assert "TIERLINE_TELEGRAM__WEBHOOK_SECRET_TOKEN" in env, name
        assert replica["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "--webhook-url" in replica["command"], name
        # Each replica's own state (the sending journal) in a volume of its own.
        assert env["TIERLINE_STATE_DIR"] == "/data"
        assert replica["volumes"] == [f"{name}:/data"], name
        health = " ".join(replica["healthcheck"]["test"])
        port = _option(replica["command"], "--port")
        assert f"127.0.0.1:{port}{HEALTH_PATH}" in health, name


def test_haproxy_sends_to_exactly_the_replicas_on_their_ports_and_checks_their_health() -> None:
    config = (DEPLOY / "haproxy.cfg").read_text()
    servers = dict(re.findall(r"(?m)^\s+server (\S+) (\S+)$", config))
    compose = _compose()
    replicas = _replicas(compose)
    assert servers == {
        name: f"{name}:{_option(r['command'], '--port')}" for name, r in replicas.items()
    }
    assert f"option httpchk GET {HEALTH_PATH}" in config
    assert "http-check expect status 200" in config
    # The frontend's port is the one the balancer publishes.
    (bind,) = re.findall(r"(?m)^\s+bind :(\d+)$", config)
    assert f"{bind}:{bind}" in compose["services"]["balancer"]["ports"]
    mounted = compose["services"]["balancer"]["volumes"]
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in mounted
    # A request a replica failed may go to another: storing an update is idempotent.
    assert re.search(r"(?m)^\s+retry-on .*conn-failure", config)


def test_the_haproxy_configuration_is_valid() -> None:
    if not Path(HAPROXY).exists():
        missing("haproxy is not installed (.ci/run installs it)")
    checked = subprocess.run(
        [HAPROXY, "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert "Configuration file is valid" in checked.stdout + checked.stderr


def test_ci_installs_haproxy() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert "apt-get install -y -q haproxy" in script
