"""config.example.toml documents every setting in bot/settings.py, with its default value.

The example's convention, which these tests read: an active line (`key = value`) holds the
built-in default; a commented-out line (`# key = value`, also `# [[goals]]`) shows a setting
that is unset by default with an example value. Adding a setting to the models without a line
in the example, or changing a default in one place only, fails here.
"""

import re
import tomllib
import typing
from pathlib import Path

from pydantic import BaseModel

from bot.settings import Settings, parse_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"

# A commented-out setting or table header; prose comments never have this shape.
_COMMENTED = re.compile(r"^# ?(\[\[?[a-z_.]+\]\]?|[a-z_]+ = .+)$")


def uncommented(text: str) -> str:
    """The example with its commented-out settings switched on."""
    return "\n".join(
        match.group(1) if (match := _COMMENTED.match(line)) else line for line in text.splitlines()
    )


def _nested_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every setting's dotted key ("tiers.weights.answer"; list entries as "goals.metric")."""
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        nested = _nested_model(info.annotation)
        if nested is None:
            keys.add(prefix + name)
        else:
            keys |= model_keys(nested, f"{prefix}{name}.")
    return keys


def document_keys(document: dict, prefix: str = "") -> set[str]:
    """Every dotted key a parsed TOML document sets, in the same form as model_keys."""
    keys: set[str] = set()
    for name, value in document.items():
        if isinstance(value, dict):
            keys |= document_keys(value, f"{prefix}{name}.")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for entry in value:
                keys |= document_keys(entry, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def _default(dotted: str) -> object:
    model: type[BaseModel] = Settings
    *sections, name = dotted.split(".")
    for section in sections:
        nested = _nested_model(model.model_fields[section].annotation)
        assert nested is not None, dotted
        if typing.get_origin(model.model_fields[section].annotation) is list:
            return model.model_fields[section].get_default(call_default_factory=True)
        model = nested
    return model.model_fields[name].get_default(call_default_factory=True)


def test_the_examples_active_values_are_the_defaults():
    example = parse_settings(tomllib.loads(EXAMPLE.read_text()), source=str(EXAMPLE))
    assert example.model_dump() == Settings().model_dump()


def test_every_setting_is_in_the_example_and_nothing_else():
    documented = document_keys(tomllib.loads(uncommented(EXAMPLE.read_text())))
    settings = model_keys(Settings)
    assert settings - documented == set(), "settings missing from config.example.toml"
    assert documented - settings == set(), "keys in config.example.toml that Pulse does not read"


def test_only_settings_unset_by_default_are_commented_out():
    text = EXAMPLE.read_text()
    commented = document_keys(tomllib.loads(uncommented(text))) - document_keys(tomllib.loads(text))
    assert commented, "the example shows no optional setting"
    for key in sorted(commented):
        assert _default(key) in (None, []), f"{key} has a default; give it an active line"


def test_the_commented_out_examples_are_valid_settings():
    settings = parse_settings(tomllib.loads(uncommented(EXAMPLE.read_text())))
    assert settings.database.url_env == "PULSE_DATABASE_URL"
    assert settings.slack.staff_usergroup_id == "S0123"
    assert [(g.metric, g.target, str(g.by)) for g in settings.goals] == [
        ("active_members", 60, "2027-06-30"),
        ("re_engagement_rate", 0.3, "2027-03-31"),
    ]


def test_the_key_walk_sees_nested_and_listed_settings():
    keys = model_keys(Settings)
    assert {"tiers.window_days", "tiers.weights.accepted_answer", "goals.by"} <= keys
    assert "tiers.weights" not in keys
    assert document_keys({"a": {"b": 1, "c": {"d": 2}}, "g": [{"x": 1}, {"y": 2}]}) == {
        "a.b",
        "a.c.d",
        "g.x",
        "g.y",
    }
