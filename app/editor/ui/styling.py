"""Applying a palette to a ScintillaEdit: fonts, per-style colours and the editor's
own elements (caret, current line, selection, margins, brace and guide styles)."""

from __future__ import annotations

from pyside6_scintilla import Scintilla, ScintillaEdit

from app.editor.ui.themes import EditorTheme, abgr, bgr

S = Scintilla
STYLE_DEFAULT = int(S.StylesCommon.Default)
STYLE_LINE_NUMBER = int(S.StylesCommon.LineNumber)
_PREDEFINED = range(STYLE_DEFAULT, int(S.StylesCommon.LastPredefined) + 1)


def apply_palette(
    sci: ScintillaEdit, palette: EditorTheme, roles: dict[int, str], font_family: str, font_size: int
) -> None:
    """Style every lexer style by its role, then the non-text elements."""
    sci.styleResetDefault()
    sci.styleSetFont(STYLE_DEFAULT, font_family)
    sci.styleSetSize(STYLE_DEFAULT, font_size)
    sci.styleSetFore(STYLE_DEFAULT, bgr(palette.foreground))
    sci.styleSetBack(STYLE_DEFAULT, bgr(palette.background))
    sci.styleClearAll()  # every style starts as the default one
    for style, role in roles.items():
        if style in _PREDEFINED:
            continue
        look = palette.role(role)
        sci.styleSetFore(style, bgr(look.fore))
        sci.styleSetBold(style, look.bold)
        sci.styleSetItalic(style, look.italic)
        if look.back:
            sci.styleSetBack(style, bgr(look.back))
            sci.styleSetEOLFilled(style, role == "code")
    sci.styleSetFore(STYLE_LINE_NUMBER, bgr(palette.margin_foreground))
    sci.styleSetBack(STYLE_LINE_NUMBER, bgr(palette.margin_background))
    sci.styleSetSize(STYLE_LINE_NUMBER, max(font_size - 1, 6))
    brace_light, brace_bad = int(S.StylesCommon.BraceLight), int(S.StylesCommon.BraceBad)
    sci.styleSetFore(brace_light, bgr(palette.brace_match_fore))
    sci.styleSetBack(brace_light, bgr(palette.brace_match_back))
    sci.styleSetBold(brace_light, True)
    sci.styleSetFore(brace_bad, bgr(palette.brace_bad))
    sci.styleSetBold(brace_bad, True)
    sci.styleSetFore(int(S.StylesCommon.IndentGuide), bgr(palette.indent_guide))
    sci.styleSetBack(int(S.StylesCommon.IndentGuide), bgr(palette.background))
    sci.setMarginBackN(1, bgr(palette.background))
    sci.setElementColour(int(S.Element.Caret), abgr(palette.caret))
    sci.setElementColour(int(S.Element.CaretLineBack), abgr(palette.caret_line))
    sci.setElementColour(int(S.Element.SelectionBack), abgr(palette.selection))
    sci.setElementColour(int(S.Element.SelectionAdditionalBack), abgr(palette.selection, 0xA0))
    sci.setElementColour(int(S.Element.SelectionInactiveBack), abgr(palette.selection, 0xC0))
    sci.setElementColour(int(S.Element.WhiteSpace), abgr(palette.whitespace))
