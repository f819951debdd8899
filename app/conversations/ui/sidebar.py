"""The conversation list beside the chat: pinned first, search, rename, pin, delete, export.

It only displays the store's contents and forwards intent; reading and writing go
through the Qt-free ConversationStore (each query takes milliseconds, so it runs
on the GUI thread; search waits for a short pause in typing).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QFontMetrics, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.conversations.records import ConversationInfo, SearchHit
from app.conversations.store import ConversationStore
from app.utils.errors import DscoderError
from app.utils.ui.dialogs import confirm_destructive

SEARCH_DELAY_MS = 150
ID_ROLE = Qt.ItemDataRole.UserRole
DETAIL_ROLE = Qt.ItemDataRole.UserRole + 1  # the grey second line: a date or a search snippet


def confirm_delete(parent: QWidget, title: str) -> bool:
    return confirm_destructive(
        parent, "Delete conversation", f"Delete “{title}” and all its messages?\n\nThis cannot be undone."
    )


def ask_title(parent: QWidget, current: str) -> str | None:
    text, ok = QInputDialog.getText(parent, "Rename conversation", "Title:", text=current)
    return text if ok else None


def choose_export_path(parent: QWidget, suggested: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Export conversation", suggested, "Markdown (*.md)")
    return path or None


def file_name_for(title: str) -> str:
    stem = re.sub(r"[^\w\-]+", "-", title.strip().lower()).strip("-")[:60]
    return (stem or "conversation") + ".md"


def when(timestamp: float, now: float | None = None) -> str:
    """Short, human dates: 14:02, Yesterday, Mon, 2026-11-01."""
    now = now or time.time()
    day = time.localtime(timestamp)
    today = time.localtime(now)
    days_ago = (time.mktime(today[:3] + (0, 0, 0, 0, 0, -1)) - time.mktime(day[:3] + (0, 0, 0, 0, 0, -1))) / 86400
    if days_ago < 0.5:
        return time.strftime("%H:%M", day)
    if days_ago < 1.5:
        return "Yesterday"
    if days_ago < 7:
        return time.strftime("%a", day)
    return time.strftime("%Y-%m-%d", day)


class ConversationDelegate(QStyledItemDelegate):
    """Two lines per conversation: the title, then its date or search snippet in grey."""

    PAD = 6

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        title = QFont(option.font)
        detail = QFont(option.font)
        detail.setPointSizeF(max(option.font.pointSizeF() * 0.85, 7.0))
        return title, detail

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        if index.data(ID_ROLE) is None:
            size = super().sizeHint(option, index)
            return QSize(size.width(), size.height() + self.PAD)
        title, detail = self._fonts(option)
        height = QFontMetrics(title).height() + QFontMetrics(detail).height() + 2 * self.PAD + 2
        return QSize(option.rect.width(), height)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        if index.data(ID_ROLE) is None:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette = opt.palette
        title_colour = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        detail_colour = title_colour if selected else palette.color(QPalette.ColorRole.PlaceholderText)
        title_font, detail_font = self._fonts(opt)
        rect = opt.rect.adjusted(self.PAD, self.PAD, -self.PAD, -self.PAD)
        title_height = QFontMetrics(title_font).height()
        painter.save()
        painter.setFont(title_font)
        painter.setPen(title_colour)
        title = QFontMetrics(title_font).elidedText(
            str(index.data(Qt.ItemDataRole.DisplayRole)), Qt.TextElideMode.ElideRight, rect.width()
        )
        painter.drawText(
            QRect(rect.left(), rect.top(), rect.width(), title_height),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            title,
        )
        painter.setFont(detail_font)
        painter.setPen(detail_colour)
        detail = QFontMetrics(detail_font).elidedText(
            str(index.data(DETAIL_ROLE) or ""), Qt.TextElideMode.ElideRight, rect.width()
        )
        painter.drawText(
            QRect(rect.left(), rect.top() + title_height + 2, rect.width(), rect.height() - title_height),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
            detail,
        )
        painter.restore()


class ConversationSidebar(QWidget):
    conversationSelected = Signal(int)
    newConversationRequested = Signal()
    conversationDeleted = Signal(int)

    def __init__(
        self,
        store: ConversationStore,
        parent: QWidget | None = None,
        *,
        confirm: Callable[[QWidget, str], bool] = confirm_delete,
        ask_new_title: Callable[[QWidget, str], str | None] = ask_title,
        choose_path: Callable[[QWidget, str], str | None] = choose_export_path,
        export_folder: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.confirm = confirm
        self.ask_new_title = ask_new_title
        self.choose_path = choose_path
        self.export_folder = export_folder or Path.home()
        self._current_id: int | None = None
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search conversations")
        self.search_box.setClearButtonEnabled(True)
        self.new_button = QPushButton("New chat")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.clicked.connect(self.newConversationRequested)
        top = QHBoxLayout()
        top.addWidget(self.search_box, 1)
        top.addWidget(self.new_button)
        self.list = QListWidget()
        self.list.setItemDelegate(ConversationDelegate(self.list))
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemActivated.connect(self._clicked)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.status)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.refresh)
        self.search_box.textChanged.connect(lambda _text: self._search_timer.start())
        shortcuts: list[tuple[str, QKeySequence, Callable[[], object]]] = [
            ("Rename…", QKeySequence("F2"), self.rename_current),
            ("Delete…", QKeySequence(QKeySequence.StandardKey.Delete), self.delete_current),
        ]
        for text, keys, slot in shortcuts:
            action = QAction(text, self)
            action.setShortcut(keys)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.list.addAction(action)
        self.refresh()

    # -- showing -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the list again from the store (after a new message, a new chat, a search)."""
        self._search_timer.stop()
        query = self.search_box.text().strip()
        self.list.clear()
        if query:
            hits = self.store.search(query, marks=("", ""))
            for hit in hits:
                self._add_hit(hit)
            if not hits:
                self._add_header(f"No conversation contains “{query}”")
        else:
            conversations = self.store.list()
            pinned = [c for c in conversations if c.pinned]
            if pinned:
                self._add_header("Pinned")
                for conversation in pinned:
                    self._add_conversation(conversation)
                self._add_header("Recent")
            for conversation in conversations:
                if not conversation.pinned:
                    self._add_conversation(conversation)
        self.set_current(self._current_id)

    def _add_header(self, text: str) -> None:
        item = QListWidgetItem(text)
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        font = QFont(item.font())
        font.setBold(True)
        font.setPointSizeF(max(font.pointSizeF() * 0.9, 7.0))
        item.setFont(font)
        self.list.addItem(item)

    def _add_conversation(self, conversation: ConversationInfo) -> None:
        item = QListWidgetItem(conversation.title)
        item.setData(ID_ROLE, conversation.id)
        item.setData(
            DETAIL_ROLE,
            when(conversation.updated) + (f" · {Path(conversation.model).stem}" if conversation.model else ""),
        )
        item.setToolTip(conversation.title + (f"\nModel: {conversation.model}" if conversation.model else ""))
        self.list.addItem(item)

    def _add_hit(self, hit: SearchHit) -> None:
        item = QListWidgetItem(hit.title)
        item.setData(ID_ROLE, hit.conversation_id)
        item.setData(DETAIL_ROLE, hit.snippet if hit.message_id is not None else "title matches")
        item.setToolTip(hit.snippet)
        self.list.addItem(item)

    def ids_shown(self) -> list[int]:
        return [
            self.list.item(i).data(ID_ROLE)
            for i in range(self.list.count())
            if self.list.item(i).data(ID_ROLE) is not None
        ]

    def current_id(self) -> int | None:
        return self._current_id

    def set_current(self, conversation_id: int | None) -> None:
        """Highlight a conversation (the one the chat shows) without emitting a signal."""
        self._current_id = conversation_id
        self.list.blockSignals(True)
        self.list.clearSelection()
        for row in range(self.list.count()):
            item = self.list.item(row)
            if conversation_id is not None and item.data(ID_ROLE) == conversation_id:
                self.list.setCurrentItem(item)
                break
        self.list.blockSignals(False)

    def show_message(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    # -- intent --------------------------------------------------------------------------
    def _clicked(self, item: QListWidgetItem) -> None:
        conversation_id = item.data(ID_ROLE)
        if conversation_id is not None:
            self._current_id = int(conversation_id)
            self.conversationSelected.emit(int(conversation_id))

    def _selected_id(self) -> int | None:
        item = self.list.currentItem()
        value = item.data(ID_ROLE) if item is not None else None
        return int(value) if value is not None else None

    def _context_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None or item.data(ID_ROLE) is None:
            return
        conversation_id = int(item.data(ID_ROLE))
        self.list.setCurrentItem(item)
        self.context_menu_for(conversation_id).exec(self.list.viewport().mapToGlobal(pos))

    def context_menu_for(self, conversation_id: int) -> QMenu:
        pinned = self.store.get(conversation_id).pinned
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self.rename(conversation_id))
        menu.addAction("Unpin" if pinned else "Pin to top", lambda: self.set_pinned(conversation_id, not pinned))
        menu.addAction("Export to Markdown…", lambda: self.export(conversation_id))
        menu.addSeparator()
        menu.addAction("Delete…", lambda: self.delete(conversation_id))
        return menu

    def _guarded(self, action: Callable[[], object]) -> bool:
        try:
            action()
        except DscoderError as exc:
            self.show_message(str(exc))
            return False
        return True

    def rename_current(self) -> None:
        if (conversation_id := self._selected_id()) is not None:
            self.rename(conversation_id)

    def delete_current(self) -> None:
        if (conversation_id := self._selected_id()) is not None:
            self.delete(conversation_id)

    def rename(self, conversation_id: int) -> None:
        title = self.ask_new_title(self, self.store.get(conversation_id).title)
        if title is not None and self._guarded(lambda: self.store.rename(conversation_id, title)):
            self.show_message("")
            self.refresh()

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        if self._guarded(lambda: self.store.set_pinned(conversation_id, pinned)):
            self.refresh()

    def delete(self, conversation_id: int) -> None:
        title = self.store.get(conversation_id).title
        if not self.confirm(self, title):
            return
        if self._guarded(lambda: self.store.delete(conversation_id)):
            if self._current_id == conversation_id:
                self._current_id = None
            self.refresh()
            self.conversationDeleted.emit(conversation_id)

    def export(self, conversation_id: int) -> Path | None:
        conversation = self.store.get(conversation_id)
        chosen = self.choose_path(self, str(self.export_folder / file_name_for(conversation.title)))
        if not chosen:
            return None
        path = Path(chosen)
        try:
            path.write_text(self.store.export_markdown(conversation_id), encoding="utf-8")
        except OSError as exc:
            self.show_message(f"Could not write {path}: {exc.strerror}. Choose another folder.")
            return None
        self.export_folder = path.parent
        self.show_message(f"Exported to {path}")
        return path
