"""What a setting is, declared once next to its field in `Settings`.

`setting(default, label=..., low=..., high=...)` is a `dataclasses.field` whose metadata holds a
`SettingSpec`. Everything that needs to know about a setting reads the spec instead of keeping
its own table:
- validation (app/config/validation.py): the range, the choices, the message's words;
- the engine's restart: `restart=True` fields take effect only when the engine starts again,
  and the label names them to the user;
- the engine's load options and the chat's sampling parameters (app/protocol/options.py):
  `load_option` and `sampling` name the field of `LoadOptions` / `SamplingParams` it feeds;
- menus and the Settings dialog: choices with their labels, ranges for spin boxes, help text.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

SPEC_KEY = "setting"


@dataclass(frozen=True)
class SettingSpec:
    label: str = ""  # how the dialog and the messages name it ("Context size")
    help: str = ""  # one sentence for a tooltip
    unit: str = ""  # named after the label in messages ("MiB", "tokens/s")
    low: float | None = None  # the range, both ends included
    high: float | None = None
    special: int | None = None  # one value with its own meaning, in the range or not (0: automatic)
    # What `special` means, as the message puts it: "for automatic" when it is in the range
    # ("from -1 to 1000 (-1 for automatic)"), "chosen from free memory" when it is not
    # ("0 (chosen from free memory) or from 256 to ...").
    special_means: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) pairs, in the order menus show them
    restart: bool = False  # a change takes effect only when the engine starts again
    load_option: str = ""  # the LoadOptions field this setting feeds
    sampling: str = ""  # the SamplingParams field this setting feeds

    @property
    def named(self) -> str:
        """The label as a message names it, with its unit: "Prompt cache on disk (MiB)"."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.choices)

    def choice_label(self, value: str) -> str:
        return dict(self.choices).get(value, value)


def setting(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING, **spec: Any) -> Any:
    """A Settings field with its spec: `n_batch: int = setting(512, label="Batch size", low=1, ...)`."""
    metadata = {SPEC_KEY: SettingSpec(**spec)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def specs_of(settings_type: type) -> dict[str, SettingSpec]:
    """Every field of a settings dataclass (or its instance's class) with its spec, in field order."""
    return {f.name: f.metadata.get(SPEC_KEY, SettingSpec()) for f in dataclasses.fields(settings_type)}


def mapped_values(settings: Any, target: str) -> dict[str, Any]:
    """{target field: value} for the settings that feed `target` ("load_option" or "sampling")."""
    return {
        getattr(spec, target): getattr(settings, name)
        for name, spec in specs_of(type(settings)).items()
        if getattr(spec, target)
    }


def restart_labels(settings_type: type) -> dict[str, str]:
    """{field: label} of the settings that take effect only when the engine starts again."""
    return {name: spec.label for name, spec in specs_of(settings_type).items() if spec.restart}
