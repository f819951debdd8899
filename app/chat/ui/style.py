"""Colours of the chat pane in light and dark, and the style sheet built from them.

The HTML inside messages is styled by app.chat.markdown.render's RenderTheme; this module
styles the widgets around it (cards, links, buttons, the input and the meter) so both
follow one `set_theme` call.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from PySide6.QtGui import QFontDatabase

from app.chat.markdown.render import DARK_THEME, LIGHT_THEME, RenderTheme, theme_for


@dataclass(frozen=True)
class ChatPalette:
    name: str
    background: str
    surface: str  # user message cards, the input box
    border: str
    text: str
    muted: str
    disabled: str  # text of disabled buttons: clearly fainter than `muted`
    link: str
    accent: str  # Send button, the meter's bar
    accent_text: str
    accent_soft: str  # background of attachment chips
    warning: str
    error_background: str
    error_border: str
    error_text: str
    render: RenderTheme


LIGHT_PALETTE = ChatPalette(
    name="light",
    background="#ffffff",
    surface="#f3f4f6",
    border="#d0d7de",
    text="#1f2328",
    muted="#656d76",
    disabled="#afb8c1",
    link="#0969da",
    accent="#2563eb",
    accent_text="#ffffff",
    accent_soft="#e8f0fe",
    warning="#d97706",
    error_background="#fff1f0",
    error_border="#f5a3a3",
    error_text="#8a1c1c",
    render=LIGHT_THEME,
)
DARK_PALETTE = ChatPalette(
    name="dark",
    background="#1e1f22",
    surface="#2b2d31",
    border="#3d4148",
    text="#e6edf3",
    muted="#8d96a0",
    disabled="#545a63",
    link="#4493f8",
    accent="#3b82f6",
    accent_text="#ffffff",
    accent_soft="#1d2b44",
    warning="#f59e0b",
    error_background="#3a1d1f",
    error_border="#7f2a2f",
    error_text="#ffb4ab",
    render=DARK_THEME,
)


def palette_for(name: str) -> ChatPalette:
    """The palette called `name` ("light" or "dark"); the render theme gets the system's
    fixed-width font so code in messages matches the editor's font family."""
    render = theme_for(name)  # refuses a name that is neither
    base = DARK_PALETTE if render is DARK_THEME else LIGHT_PALETTE
    family = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
    font_family = f"'{family}', monospace" if family else "monospace"
    return dataclasses.replace(base, render=dataclasses.replace(render, code_font_family=font_family))


def link_html(href: str, title: str, palette: ChatPalette) -> str:
    """A small link for QLabel rich text in the palette's link colour."""
    return f'<a href="{href}" style="color: {palette.link}; text-decoration: none;">{title}</a>'


def chat_style_sheet(p: ChatPalette) -> str:
    """The style sheet of the whole chat panel; widgets are picked by object name."""
    return f"""
#ChatPanel, #ChatView, #ChatViewContent {{ background: {p.background}; color: {p.text}; }}
#ChatView {{ border: none; }}
#ChatHeader {{ background: {p.background}; border-bottom: 1px solid {p.border}; }}
#ChatTitle {{ color: {p.text}; font-weight: 600; }}
#UserCard {{ background: {p.surface}; border-radius: 10px; }}
#MessageRole {{ color: {p.muted}; font-weight: 600; }}
#MessageFooter, #ChatEmptyHint, #ChatNote, #InputHint {{ color: {p.muted}; }}
#ErrorCard {{
    background: {p.error_background}; border: 1px solid {p.error_border}; border-radius: 8px;
}}
#ErrorText {{ color: {p.error_text}; }}
#ErrorDetail {{ color: {p.muted}; }}
#MessageBrowser {{ background: transparent; border: none; color: {p.text}; }}
#InputFrame {{
    background: {p.surface}; border: 1px solid {p.border}; border-radius: 10px;
}}
#PromptEdit {{ background: transparent; border: none; color: {p.text}; }}
#EditBanner {{ color: {p.warning}; }}
#PasteNotice {{ color: {p.warning}; }}
QPushButton {{
    color: {p.text}; background: {p.surface}; border: 1px solid {p.border};
    border-radius: 6px; padding: 4px 12px;
}}
QPushButton:hover {{ border-color: {p.muted}; }}
QPushButton:disabled {{
    color: {p.disabled}; background: transparent; border: 1px dashed {p.border};
}}
QPushButton#StopButton {{
    color: {p.error_text}; background: {p.error_background}; border: 1px solid {p.error_border};
}}
QPushButton#StopButton:hover {{ border-color: {p.error_text}; }}
QPushButton#StopButton:disabled {{
    color: {p.disabled}; background: transparent; border: 1px dashed {p.border};
}}
QPushButton#SendButton {{
    background: {p.accent}; color: {p.accent_text}; border: 1px solid {p.accent};
}}
QPushButton#SendButton:disabled {{
    background: transparent; color: {p.disabled}; border: 1px dashed {p.border};
}}
#AttachmentChip {{
    background: {p.accent_soft}; border: 1px solid {p.link}; border-radius: 8px;
}}
#ChipLabel {{ color: {p.link}; }}
#ChipTokens {{ color: {p.muted}; }}
QToolButton#ChipRemove {{
    color: {p.muted}; background: transparent; border: none; padding: 0 5px; font-weight: 600;
}}
QToolButton#ChipRemove:hover {{ color: {p.error_text}; }}
QPushButton#ChipSuggestion {{
    color: {p.muted}; background: transparent; border: 1px dashed {p.border};
    border-radius: 8px; padding: 2px 10px;
}}
QPushButton#ChipSuggestion:hover {{ color: {p.link}; border-color: {p.link}; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 0; }}
QScrollBar::handle:vertical {{ background: {p.border}; border-radius: 4px; min-height: 24px; }}
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical {{ height: 0; }}
QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical {{ background: transparent; }}
QScrollBar:horizontal {{ background: transparent; height: 10px; margin: 0; }}
QScrollBar::handle:horizontal {{ background: {p.border}; border-radius: 4px; min-width: 24px; }}
QScrollBar::add-line:horizontal, QScrollBar::sub-line:horizontal {{ width: 0; }}
QScrollBar::add-page:horizontal, QScrollBar::sub-page:horizontal {{ background: transparent; }}
"""
