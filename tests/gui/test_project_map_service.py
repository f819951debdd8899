"""The project map service: the build runs on a pool thread while the GUI thread keeps
serving events, a save updates the map, and opening another folder drops the old build."""

from __future__ import annotations

import threading

from PySide6.QtCore import QTimer

from app.project.ui.service import ProjectMapService


def _project(root, files=300):
    for i in range(files):
        (root / f"m{i}.py").write_text(f"def f{i}(a, b):\n    return a + b\n")
    return root


def test_the_map_builds_in_the_background_and_updates_on_save(qtbot, tmp_path):
    root = _project(tmp_path)
    service = ProjectMapService()
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(1)
    builder_threads: set[str] = set()
    original = service.tasks._run

    def spy(*args):
        builder_threads.add(threading.current_thread().name)
        return original(*args)

    service.tasks._run = spy  # type: ignore[method-assign]
    with qtbot.waitSignal(service.mapReady, timeout=60_000) as ready:
        service.open_folder(root)
        assert service.is_building()
    timer.stop()
    project = ready.args[0]
    assert len(project) == 300 and service.project_map is project
    assert all(name.startswith("project-map") for name in builder_threads)
    assert ticks  # the GUI thread's event loop ran while the map was built
    (root / "m7.py").write_text("def seven():\n    return 7\n")
    with qtbot.waitSignal(service.mapReady, timeout=10_000):
        service.file_saved(root / "m7.py")
    assert [s.name for s in project.get("m7.py").symbols] == ["seven"]
    service.shutdown()


def test_opening_another_folder_drops_the_first_build(qtbot, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    _project(first, 200)
    (second / "only.py").write_text("def only():\n    pass\n")
    service = ProjectMapService()
    with qtbot.waitSignal(service.mapReady, timeout=60_000) as ready:
        service.open_folder(first)
        service.open_folder(second)
    assert [f.path for f in ready.args[0].files()] == ["only.py"]
    service.shutdown()
