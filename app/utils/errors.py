"""One error type for everything a user may see.

Every failure that reaches a person carries two parts: what happened, and what to do
about it. Widgets and the CLI show `str(error)`; nothing else formats errors.
"""

from __future__ import annotations


class DscoderError(Exception):
    """A failure with a message meant for the user.

    `what` says what happened; `todo` says what the user can do. `detail` holds
    supporting text (for example the last lines of the engine's log) that a UI may
    show in an expandable area.
    """

    def __init__(self, what: str, todo: str = "", *, detail: str = "") -> None:
        self.what = what.rstrip(".")
        self.todo = todo.rstrip(".")
        self.detail = detail
        super().__init__(str(self))

    def __str__(self) -> str:
        text = self.what + "."
        if self.todo:
            text += " " + self.todo + "."
        return text


class EngineError(DscoderError):
    """The engine could not start, died, or refused a request."""


class ClientError(DscoderError):
    """A request to an OpenAI-compatible server failed (local engine or remote)."""

    def __init__(self, what: str, todo: str = "", *, detail: str = "", status: int | None = None) -> None:
        super().__init__(what, todo, detail=detail)
        self.status = status


class ModelFileError(DscoderError):
    """A model file is missing, not GGUF, truncated or unsupported."""


class PromptError(DscoderError):
    """A prompt could not be built (template failure, context overflow, no FIM tokens)."""


class CancelledError(DscoderError):
    """The user cancelled the operation; not shown as a failure."""

    def __init__(self, what: str = "Cancelled") -> None:
        super().__init__(what)
