"""docs/configuration.md is generated from the settings model and must match it."""

from __future__ import annotations

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from relayq.settings import Settings
from tools import config_docs


def test_the_committed_configuration_page_is_current() -> None:
    assert config_docs.PAGE.read_text() == config_docs.render(), (
        "docs/configuration.md is stale: run `make config-docs` (python -m tools.config_docs)"
    )


def test_every_setting_has_a_row() -> None:
    page = config_docs.render()
    for name in Settings.model_fields:
        assert f"| `QUEUE_{name.upper()}` |" in page


def test_a_setting_without_a_description_is_refused() -> None:
    class Undocumented(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="X_")
        documented: int = Field(default=1, description="has one")
        bare: int = 2

    with pytest.raises(ValueError, match=r"Undocumented\.bare has no description"):
        config_docs.render(Undocumented)
