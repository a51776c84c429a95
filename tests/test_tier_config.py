"""The tiers' configuration files are validated on load; a bad one is refused with the
file, the field and the reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.messages import Catalogue
from bot.policy import load_policy


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    shutil.copytree(load_settings().config_dir, tmp_path / "config")
    return tmp_path / "config"


def _load(directory: Path) -> None:
    load_policy(load_settings(directory), Catalogue.load(directory / "messages"))


def test_shipped_configuration_loads(config_copy: Path) -> None:
    _load(config_copy)


def test_policy_that_justifies_case_status_is_refused(config_copy: Path) -> None:
    path = config_copy / "inperson_policy.toml"
    text = path.read_text().replace(
        'category = "case_status"\njustified = false', 'category = "case_status"\njustified = true'
    )
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"inperson_policy\.toml.*never justify"):
        _load(config_copy)


def test_unknown_message_key_names_file_and_field(config_copy: Path) -> None:
    path = config_copy / "tier1_knowledge.toml"
    path.write_text(path.read_text().replace('"tier1.kb.contact_hours.answer"', '"tier1.kb.typo"'))
    with pytest.raises(ConfigError, match=r"tier1_knowledge.toml: topics\.3\.answer: no message"):
        _load(config_copy)


def test_a_new_issue_category_needs_its_label(config_copy: Path) -> None:
    path = config_copy / "tier1_knowledge.toml"
    path.write_text(
        path.read_text()
        + '\n[[issues]]\nid = "lost_card"\nlabel = "tier1.issue.button.lost_card"\n'
    )
    with pytest.raises(ConfigError, match=r"tier1_knowledge.toml: issues\.7\.label: no message"):
        _load(config_copy)
    messages = config_copy / "messages" / "tiers.toml"
    messages.write_text(
        messages.read_text().replace(
            'something_else = "Something else"\n',
            'something_else = "Something else"\nlost_card = "My card was lost"\n',
            1,
        )
    )
    # Every applicant text needs its Spanish too (config/messages/es/), or start is refused.
    with pytest.raises(ConfigError, match=r"messages/es: tier1\.issue\.button\.lost_card: missing"):
        _load(config_copy)
    spanish = config_copy / "messages" / "es" / "tiers.toml"
    spanish.write_text(
        spanish.read_text().replace(
            'something_else = "Otro asunto"\n',
            'something_else = "Otro asunto"\nlost_card = "Perdí mi tarjeta"\n',
            1,
        )
    )
    _load(config_copy)


def test_an_office_time_zone_must_exist_and_have_a_name(config_copy: Path) -> None:
    path = config_copy / "field_offices.toml"
    shipped = path.read_text()
    path.write_text(shipped.replace('"America/Anchorage"', '"America/Atlantis"'))
    with pytest.raises(ConfigError, match=r"field_offices\.toml.*timezone.*America/Atlantis"):
        _load(config_copy)
    path.write_text(shipped.replace('"America/Anchorage"', '"America/Juneau"'))
    no_name = r"field_offices\.toml.*timezone.*time_zone\.America/Juneau"
    with pytest.raises(ConfigError, match=no_name):
        _load(config_copy)


def test_bad_tier_setting_is_refused_with_the_field() -> None:
    with pytest.raises(ConfigError, match=r"tier2\.slot_capacity"):
        load_settings(tier2={"slot_capacity": 0})


def test_an_office_without_a_time_zone_takes_its_zip_codes_or_is_refused(
    config_copy: Path,
) -> None:
    path = config_copy / "field_offices.toml"
    shipped = path.read_text()
    path.write_text(shipped.replace('timezone = "America/Anchorage"\n', ""))
    _load(config_copy)  # Anchorage's ZIP code gives America/Anchorage, which has a name
    path.write_text(
        shipped.replace('zip = "99501"\ntimezone = "America/Anchorage"\n', 'zip = "00000"\n')
    )
    with pytest.raises(ConfigError, match=r"field_offices\.toml: offices\.\d+\.zip: .*00000"):
        _load(config_copy)
