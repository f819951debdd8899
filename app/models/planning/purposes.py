"""What a plan is for. Apart from the planner so that the command line can offer the choices
(`dscoder probe --purpose`) without importing the planner, the estimator and the machine probe."""

from __future__ import annotations

PURPOSES = ("chat", "completion", "both")
