"""Render resources/icons/dscoder.svg into the PNG sizes, ICO and ICNS that packaging needs.

Run from the repository root: python packaging/make_icons.py
Uses Qt's own SVG renderer and image writers, so no other tool is needed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtGui import QImage
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1] + ["-platform", "offscreen"])
    renderer = QSvgRenderer(str(ICONS / "dscoder.svg"))
    if not renderer.isValid():
        print("cannot read dscoder.svg", file=sys.stderr)
        return 1
    for size in SIZES:
        render(renderer, size).save(str(ICONS / f"dscoder-{size}.png"))
    render(renderer, 256).save(str(ICONS / "dscoder.ico"), "ico")
    render(renderer, 512).save(str(ICONS / "dscoder.icns"), "icns")
    del app
    print(f"wrote {len(SIZES)} PNGs, dscoder.ico and dscoder.icns to {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
