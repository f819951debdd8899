"""This machine and the plan made for it, as the model manager knows them.

`MachinePlan` owns the probed `MachineProfile`, the current `Plan` and the task that
makes them. Probing and planning run off the GUI thread; a newer request drops the
result of an older one, so a stale plan never reaches the views.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.hardware.probe import MachineProfile
from app.models.catalog import CatalogEntry
from app.models.planner import Plan
from app.models.ui.manager_data import MachineProber, probe_and_plan
from app.utils.ui.tasks import BackgroundTasks

PLAN_THREAD_PREFIX = "machine-plan"


class MachinePlan(QObject):
    probing = Signal()  # the machine is being read (not sent when a known machine is planned again)
    planned = Signal()  # `machine` and `plan` are new
    failed = Signal(str)

    def __init__(
        self,
        models_dir: Callable[[], Path],
        entries: Callable[[], Sequence[CatalogEntry]],
        prober: MachineProber | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._models_dir = models_dir
        self._entries = entries
        self._prober = prober
        self.tasks = BackgroundTasks(self, thread_prefix=PLAN_THREAD_PREFIX)
        self.machine: MachineProfile | None = None
        self.plan: Plan | None = None
        self._task: int | None = None

    def update(self, purpose: str, reuse_machine: bool = False) -> None:
        """Probe this machine (unless known and reused) and plan the catalog for the purpose."""
        if self._task is not None:
            self.tasks.cancel(self._task)  # its stale plan is dropped
        machine = self.machine if reuse_machine else None
        if machine is None:
            self.probing.emit()
        models_dir, entries, prober = self._models_dir(), list(self._entries()), self._prober
        self._task = self.tasks.start(
            lambda _p, _c: probe_and_plan(models_dir, entries, purpose, prober, machine),
            self._on_planned,
            on_failed=self.failed.emit,
        )

    def _on_planned(self, result: object) -> None:
        assert isinstance(result, tuple)
        machine, plan = result
        assert isinstance(machine, MachineProfile) and isinstance(plan, Plan)
        self._task = None
        self.machine, self.plan = machine, plan
        self.planned.emit()

    def shutdown(self) -> None:
        self.tasks.shutdown()
