"""This machine, its measured speed and the plan made for it, as the model manager knows them.

`MachinePlan` owns the probed `MachineProfile`, the current `Plan` and the tasks that
make them: probing and planning, and the speed benchmark (run once per hardware: when
the probe finds no measured speed for this machine, and again on "Measure again").
Everything runs off the GUI thread; a newer request drops the result of an older one,
so a stale plan never reaches the views.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import QObject, Signal

from app.config.settings import Settings
from app.hardware.machine_speed import MachineSpeed
from app.hardware.machine_speed_benchmark import measure_machine_speed, with_machine_speed
from app.hardware.probe import MachineProfile
from app.models.catalog import CatalogEntry
from app.models.planning.planner import Plan, plan_options
from app.models.ui.manager_data import MachineProber, probe_and_plan
from app.utils.jobs import JobControl, Progress
from app.utils.ui.tasks import BackgroundTasks

PLAN_THREAD_PREFIX = "machine-plan"
SpeedMeasurer = Callable[..., MachineSpeed]  # measure_machine_speed's signature


class MachinePlan(QObject):
    probing = Signal()  # the machine is being read (not sent when a known machine is planned again)
    planned = Signal()  # `machine` and `plan` are new
    failed = Signal(str)
    measuring = Signal(float)  # the speed benchmark runs: the fraction done
    measureFailed = Signal(str)  # the benchmark failed: the plan keeps typical speeds

    def __init__(
        self,
        settings: Settings,
        entries: Callable[[], Sequence[CatalogEntry]],
        prober: MachineProber | None = None,
        measure: SpeedMeasurer = measure_machine_speed,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self._entries = entries
        self._prober = prober
        self._measure = measure
        self.tasks = BackgroundTasks(self, thread_prefix=PLAN_THREAD_PREFIX)
        self.machine: MachineProfile | None = None
        self.plan: Plan | None = None
        self.purpose = "chat"
        self.installed: dict[str, str] = {}  # catalog id -> installed file: measured loads count
        self._task: int | None = None
        self._measure_task: int | None = None
        self._measured_once = False

    @property
    def is_measuring(self) -> bool:
        return self.tasks.is_running(self._measure_task)

    def update(
        self, purpose: str | None = None, reuse_machine: bool = False, installed: Mapping[str, str] | None = None
    ) -> None:
        """Probe this machine (unless known and reused) and plan the catalog for the purpose."""
        if self._task is not None:
            self.tasks.cancel(self._task)  # its stale plan is dropped
        self.purpose = purpose or self.purpose
        self.installed = dict(installed) if installed is not None else self.installed
        machine = self.machine if reuse_machine else None
        if machine is None:
            self.probing.emit()
        settings = self.settings
        models_dir, entries, prober = settings.resolved_models_dir(), list(self._entries()), self._prober
        options = plan_options(settings, self.purpose, installed=self.installed)
        self._task = self.tasks.start(
            lambda _p, _c: probe_and_plan(models_dir, entries, options, prober, machine),
            self._on_planned,
            on_failed=self.failed.emit,
        )

    def measure_again(self) -> None:
        """Run the speed benchmark again, then plan again with the new speed."""
        if self.machine is not None:
            self._start_measuring(again=True)

    def _start_measuring(self, again: bool) -> None:
        if self.is_measuring or self.machine is None:
            return
        self._measured_once = True
        machine, n_threads, measure = self.machine, self.settings.n_threads, self._measure

        def work(progress: Progress, control: JobControl) -> object:
            def relay(fraction: float, _step: str) -> None:
                progress(int(fraction * 1000), 1000)

            return with_machine_speed(
                machine, again=again, n_threads=n_threads, progress=relay, control=control, measure=measure
            )

        self.measuring.emit(0.0)
        self._measure_task = self.tasks.start(
            work,
            self._on_measured,
            on_failed=self.measureFailed.emit,
            on_progress=lambda done, total: self.measuring.emit(done / total if total else 0.0),
        )

    def _on_measured(self, machine: object) -> None:
        assert isinstance(machine, MachineProfile)
        self._measure_task = None
        if self.machine is not None:  # keep the latest readings, with the new speed
            self.machine = dataclasses.replace(self.machine, machine_speed=machine.machine_speed)
        self.update(reuse_machine=True)

    def _on_planned(self, result: object) -> None:
        assert isinstance(result, tuple)
        machine, plan = result
        assert isinstance(machine, MachineProfile) and isinstance(plan, Plan)
        self._task = None
        self.machine, self.plan = machine, plan
        self.planned.emit()
        if machine.machine_speed is None and not self._measured_once:
            self._start_measuring(again=False)

    def shutdown(self) -> None:
        self.tasks.shutdown()
