""".env.example names exactly the settings the code reads, each with the code's default."""

import re

import pytest
from pydantic import AliasChoices

from alipay_sandbox.settings import SandboxSettings
from order_service.settings import OrderSettings
from payment_service.settings import PaymentSettings
from shared.settings import DEV_PLACEHOLDER, ServiceSettings
from tests.support.processes import ROOT

SETTINGS = (OrderSettings, PaymentSettings, SandboxSettings)
SETTING_LINE = re.compile(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$")


def env_names(settings: type[ServiceSettings]) -> dict[str, str]:
    """Environment variable → field name, as pydantic-settings reads them."""
    prefix = settings.model_config.get("env_prefix", "")
    names = {}
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            for choice in alias.choices:
                names[str(choice).upper()] = field_name
        elif isinstance(alias, str):
            names[alias.upper()] = field_name
        else:
            names[f"{prefix}{field_name}".upper()] = field_name
    return names


def example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    found: dict[str, str] = {}
    for line in lines:
        match = SETTING_LINE.match(line)
        if match:
            name, value = match.groups()
            assert name not in found, f"{name} is listed twice"
            found[name] = value
    return found


def test_every_settings_class_of_the_code_is_covered_here():
    assert set(ServiceSettings.__subclasses__()) == set(SETTINGS)


def test_the_example_names_exactly_the_settings_the_code_reads():
    read = set().union(*(env_names(settings) for settings in SETTINGS))
    listed = set(example())
    assert read - listed == set(), "settings missing from .env.example"
    assert listed - read == set(), "names in .env.example that no service reads"


def test_every_setting_has_a_comment_saying_what_it_means():
    lines = (ROOT / ".env.example").read_text().splitlines()
    for index, line in enumerate(lines):
        if SETTING_LINE.match(line):
            above = index - 1
            while SETTING_LINE.match(lines[above]):  # a group under one comment
                above -= 1
            assert lines[above].startswith("# ") and len(lines[above]) > 10, line


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.__name__)
def test_the_defaults_shown_are_the_code_defaults(settings, monkeypatch):
    names = env_names(settings)
    for name in names:
        monkeypatch.delenv(name, raising=False)
    defaults = settings(_env_file=None)
    shown = {name: value for name, value in example().items() if name in names and value}
    for name, value in shown.items():
        monkeypatch.setenv(name, value)
    from_example = settings(_env_file=None)
    for name in shown:
        field = names[name]
        assert getattr(from_example, field) == getattr(defaults, field), name
    # A setting shown without a value has no default worth copying: none, empty, or a
    # placeholder secret that production refuses.
    for name, value in example().items():
        if name in names and not value:
            default = getattr(defaults, names[name])
            assert default in (None, "", DEV_PLACEHOLDER), name
