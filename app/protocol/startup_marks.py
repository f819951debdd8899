"""The lines the engine prints on stdout for its supervisor (shared by both sides)."""

READY_MARK = "DSCODER_ENGINE_READY"
FAILED_MARK = "DSCODER_ENGINE_FAILED"
