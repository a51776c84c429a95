"""Configuration: defaults, environment overrides, and bad files refused with the file,
the field and the reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import bot.config
from bot.config import ConfigError, config_dir, load_model, load_settings, read_toml
from bot.messages import Catalogue
from flows.biometrics import BiometricsRules

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(config_dir(), target)
    return target


def test_defaults_use_us_eastern_time(conf: Path) -> None:
    settings = load_settings(conf)
    assert settings.timezone == "America/New_York"
    assert str(settings.tz) == "America/New_York"


def test_an_environment_variable_overrides_the_file(
    conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERLINE_TIMEZONE", "America/Chicago")
    assert load_settings(conf).timezone == "America/Chicago"


def test_a_nested_variable_sets_one_key_of_its_section_and_keeps_the_rest(
    conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERLINE_TIER2__SLOT_CAPACITY", "4")
    monkeypatch.setenv("TIERLINE_TELEGRAM__STAFF_USER_IDS", "[123456789, 42]")
    settings = load_settings(conf)
    assert settings.tier2.slot_capacity == 4
    assert settings.tier2.slot_minutes == 30  # the rest of the section as in the file
    assert settings.telegram.staff_user_ids == [123456789, 42]


def test_variables_that_name_no_setting_are_left_alone(
    conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERLINE_SOMETHING_ELSE", "x")
    assert load_settings(conf).timezone == "America/New_York"


def test_a_command_line_option_overrides_the_environment(
    conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERLINE_DB_PATH", "/tmp/from-env.db")
    assert load_settings(conf, db_path="cli.db").db_path == Path("cli.db")


def test_an_unknown_time_zone_names_file_field_and_reason(conf: Path) -> None:
    (conf / "settings.toml").write_text('timezone = "Mars/Olympus_Mons"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(conf)
    message = str(err.value)
    assert "settings.toml" in message and "timezone" in message and "Mars" in message


def test_a_misspelt_setting_is_refused(conf: Path) -> None:
    (conf / "settings.toml").write_text('time_zone = "America/New_York"\n')
    with pytest.raises(ConfigError, match="time_zone"):
        load_settings(conf)


def test_a_bad_environment_variable_is_named(conf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERLINE_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError, match="TIERLINE_LOG_LEVEL"):
        load_settings(conf)


def test_broken_toml_is_refused_with_its_line(conf: Path) -> None:
    (conf / "settings.toml").write_text('timezone = "America/New_York\n')
    with pytest.raises(ConfigError, match=r"settings\.toml.*not valid TOML.*line 1"):
        load_settings(conf)


def test_a_message_that_is_not_text_is_refused(conf: Path) -> None:
    (conf / "messages" / "extra.toml").write_text("[menu2]\nprompt = 3\n")
    with pytest.raises(ConfigError, match=r"extra\.toml: menu2\.prompt: must be text"):
        Catalogue.load(conf / "messages")


def test_a_message_key_defined_twice_is_refused(conf: Path) -> None:
    (conf / "messages" / "zz.toml").write_text('[menu]\nprompt = "again"\n')
    with pytest.raises(ConfigError, match=r"zz\.toml: menu\.prompt: already defined"):
        Catalogue.load(conf / "messages")


def test_a_broken_placeholder_is_refused(conf: Path) -> None:
    (conf / "messages" / "zz.toml").write_text('[x]\ny = "hello {name"\n')
    with pytest.raises(ConfigError, match="placeholder"):
        Catalogue.load(conf / "messages")


def test_every_message_key_used_in_code_exists() -> None:
    """A key asked for in code but missing from the catalogue would crash a turn."""
    import re

    root = Path(__file__).resolve().parent.parent
    catalogue = Catalogue.load(config_dir() / "messages")
    pattern = re.compile(
        r"""\b(?:say|reject|t|btn|text)\(\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']"""
    )
    missing = set()
    for path in [*root.joinpath("bot").rglob("*.py"), *root.joinpath("flows").rglob("*.py")]:
        for key in pattern.findall(path.read_text()):
            if key not in catalogue:
                missing.add(f"{path.relative_to(root)}: {key}")
    assert not missing, "message keys missing from config/messages: " + ", ".join(sorted(missing))


# The parsed-file cache (read_toml): it saves the TOML parse, never a check.


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TIERLINE_CACHE_DIR", str(folder))
    return folder


def test_a_parsed_file_is_kept_and_served_again_unchanged(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('name = "x"\n[section]\nhours = [8, 17]\n')
    first = read_toml(path)
    assert len(list(cache.iterdir())) == 1
    assert read_toml(path) == first == {"name": "x", "section": {"hours": [8, 17]}}


def test_an_edited_file_is_parsed_again_not_served_stale(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text("limit = 12\n")
    assert read_toml(path) == {"limit": 12}
    path.write_text("limit = 24\n")
    assert read_toml(path) == {"limit": 24}


def test_an_edited_file_with_an_error_is_refused_even_after_a_good_parse(
    cache: Path, tmp_path: Path
) -> None:
    path = tmp_path / "a.toml"
    path.write_text("limit = 12\n")
    read_toml(path)
    path.write_text("limit = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_toml(path)


def test_a_damaged_cache_entry_is_passed_over(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text("limit = 12\n")
    read_toml(path)
    (entry,) = cache.iterdir()
    entry.write_bytes(b"\x00garbage")
    assert read_toml(path) == {"limit": 12}


def test_a_cache_that_cannot_be_written_costs_nothing_but_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("TIERLINE_CACHE_DIR", str(blocker / "cache"))
    path = tmp_path / "a.toml"
    path.write_text("when = 2026-11-23\n")  # a date, which marshal cannot hold either
    assert str(read_toml(path)["when"]) == "2026-11-23"


def test_the_shipped_configuration_loads_the_same_from_the_cache(cache: Path) -> None:
    files = sorted((config_dir() / "messages").glob("*.toml"))
    parsed = [read_toml(path) for path in files]
    assert len(list(cache.iterdir())) == len(files)
    assert [read_toml(path) for path in files] == parsed


# The checked catalogue is kept the same way: a start with unchanged files skips the
# checks, and any edit, new file or new folder checks again.


def test_a_checked_catalogue_is_served_again_the_same(cache: Path, conf: Path) -> None:
    first = Catalogue.load(conf / "messages")
    assert any(entry.name.startswith("catalogue-") for entry in cache.iterdir())
    again = Catalogue.load(conf / "messages")
    assert again.keys() == first.keys()
    spanish, spanish_again = first.in_language("es"), again.in_language("es")
    assert spanish_again.text("menu.prompt") == spanish.text("menu.prompt")
    assert spanish_again._literals == spanish._literals


def test_an_edit_that_breaks_a_translation_is_refused_after_a_good_load(
    cache: Path, conf: Path
) -> None:
    Catalogue.load(conf / "messages")
    core = conf / "messages" / "es" / "core.toml"
    core.write_text(core.read_text().replace("{practice}", "", 1))
    with pytest.raises(ConfigError, match=r"welcome\.greeting: placeholders differ"):
        Catalogue.load(conf / "messages")


def test_a_new_file_or_language_folder_is_checked_after_a_good_load(
    cache: Path, conf: Path
) -> None:
    Catalogue.load(conf / "messages")
    (conf / "messages" / "zz.toml").write_text('[menu]\nprompt = "again"\n')
    with pytest.raises(ConfigError, match="already defined"):
        Catalogue.load(conf / "messages")
    (conf / "messages" / "zz.toml").unlink()
    Catalogue.load(conf / "messages")
    (conf / "messages" / "xx").mkdir()
    with pytest.raises(ConfigError, match="unknown language 'xx'"):
        Catalogue.load(conf / "messages")


def test_an_edited_rule_translation_is_read_again(cache: Path, conf: Path) -> None:
    english = Catalogue.load(conf / "messages")
    translated = conf / "es" / "self_service.toml"
    before = english.in_language("es")
    text = translated.read_text()
    old = next(line for line in text.splitlines() if line.startswith("label = "))
    translated.write_text(text.replace(old, 'label = "Título nuevo"', 1))
    after = Catalogue.load(conf / "messages").in_language("es")
    assert "Título nuevo" in after._literals["es"].values()
    assert "Título nuevo" not in before._literals["es"].values()


# Validated rule files are kept too: an unchanged file validated by the same code is not
# validated again; an edit, or a change to the code that validates, validates again.


def test_a_validated_rule_file_is_served_again_equal(cache: Path, conf: Path) -> None:
    first = load_model(conf / "biometrics.toml", BiometricsRules)
    assert any(entry.name.startswith("model-") for entry in cache.iterdir())
    again = load_model(conf / "biometrics.toml", BiometricsRules)
    assert again == first and again is not first


def test_an_edited_rule_file_is_validated_again_after_a_good_load(cache: Path, conf: Path) -> None:
    path = conf / "biometrics.toml"
    load_model(path, BiometricsRules)
    text = path.read_text()
    line = next(x for x in text.splitlines() if x.startswith("min_notice_hours"))
    path.write_text(text.replace(line, "min_notice_hours = -5", 1))
    with pytest.raises(ConfigError, match=r"biometrics\.toml: min_notice_hours"):
        load_model(path, BiometricsRules)


def test_changed_validation_code_validates_the_file_again(
    cache: Path, conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = conf / "biometrics.toml"
    load_model(path, BiometricsRules)
    validated = []
    real = bot.config._validated

    def counting(*args: Any) -> Any:
        validated.append(args[1])
        return real(*args)

    monkeypatch.setattr(bot.config, "_validated", counting)
    load_model(path, BiometricsRules)
    assert validated == []  # served from the cache
    monkeypatch.setattr(bot.config, "_code_stamp", lambda: b"another release")
    load_model(path, BiometricsRules)
    assert validated == [BiometricsRules]


def test_a_start_with_unchanged_rule_files_builds_no_rule_schema(
    cache: Path, tmp_path: Path
) -> None:
    """The reason for the cache: a rule model's schema is built only to validate a file."""
    script = (
        "from bot.config import load_settings\n"
        "from bot.messages import Catalogue\n"
        "from bot.policy import load_policy\n"
        "from flows.biometrics import BiometricsRules\n"
        "settings = load_settings()\n"
        "load_policy(settings, Catalogue.load(settings.config_dir / 'messages'))\n"
        "print(BiometricsRules.__pydantic_complete__)\n"
    )
    env = {**os.environ, "TIERLINE_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["True", "False"]  # validated (and built) once, then served
