"""Settings: packaged defaults, then a user TOML file, then command-line flags."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path

from pipeline.errors import SettingsError


@dataclass(frozen=True, slots=True)
class Settings:
    """Behaviour that a user may tune; every field has a packaged default."""

    threshold: float = 0.6
    claim_threshold: float = 0.5
    max_bytes: int = 10_000_000
    timeout: float = 20.0

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with the given fields replaced; `None` values are ignored."""
        given = {key: value for key, value in overrides.items() if value is not None}
        known = {f.name for f in fields(self)}
        unknown = sorted(set(given) - known)
        if unknown:
            raise SettingsError(
                f"Unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}."
            )
        return replace(self, **given)


def _flatten(table: dict) -> dict:
    flat: dict = {}
    for value in table.values():
        if isinstance(value, dict):
            flat.update(value)
    return flat


def load_settings(path: Path | None = None, **overrides: object) -> Settings:
    """Read the packaged defaults, then `path` if given, then `overrides`."""
    text = resources.files("pipeline.resources").joinpath("defaults.toml").read_text("utf-8")
    values = _flatten(tomllib.loads(text))
    if path is not None:
        try:
            values.update(_flatten(tomllib.loads(Path(path).read_text("utf-8"))))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise SettingsError(f"Cannot read settings file {path}: {err}. Fix or remove it.") from err
    settings = Settings().with_overrides(**values).with_overrides(**overrides)
    if not 0.0 <= settings.threshold <= 1.0 or not 0.0 <= settings.claim_threshold <= 1.0:
        raise SettingsError("Thresholds must lie between 0 and 1.")
    return settings
