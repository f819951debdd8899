"""Which Lexilla lexer colours each language, its keywords, and its styles' roles.

A lexer numbers its styles its own way (Python's keyword is style 5, CSS's tag is 1).
Most Lexilla lexers describe each style with tags such as "literal string" or
"comment line", and `style_roles` maps those tags to the palette roles of themes.py.
Lexers that publish no tags (CSS, SQL, JSON, YAML, Markdown), and styles whose tags
are too coarse (Python's class names are plain "identifier"), get explicit entries.
"""

from __future__ import annotations

import builtins
import keyword
from dataclasses import dataclass, field

import lexilla

from app import languages


@dataclass(frozen=True)
class LexerTuning:
    """What a language sets on its Lexilla lexer, beyond the lexer's own defaults."""

    keywords: dict[int, str] = field(default_factory=dict)  # word-list slot -> words
    properties: dict[str, str] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)  # style number -> role, beats tags


@dataclass(frozen=True)
class LexerSpec:
    lexer: str  # Lexilla's name for create_lexer (from app.languages); "" for plain text
    tuning: LexerTuning = field(default_factory=LexerTuning)


_C = (
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic "
    "_Noreturn _Static_assert _Thread_local bool true false"
)
_C_TYPES = (
    "NULL size_t ssize_t ptrdiff_t intptr_t uintptr_t int8_t int16_t int32_t int64_t uint8_t "
    "uint16_t uint32_t uint64_t FILE va_list"
)
_CPP = _C + (
    " alignas alignof and and_eq asm bitand bitor catch char8_t char16_t char32_t class compl "
    "concept const_cast consteval constexpr constinit co_await co_return co_yield decltype delete "
    "dynamic_cast explicit export final friend mutable namespace new noexcept not not_eq nullptr "
    "operator or or_eq override private protected public reinterpret_cast requires static_assert "
    "static_cast template this thread_local throw try typeid typename using virtual wchar_t xor xor_eq"
)
_CPP_TYPES = _C_TYPES + (
    " std string string_view vector array map unordered_map set unordered_set pair tuple optional "
    "variant unique_ptr shared_ptr weak_ptr function"
)
_JAVA = (
    "abstract assert boolean break byte case catch char class const continue default do double "
    "else enum extends final finally float for goto if implements import instanceof int interface "
    "long native new non-sealed package permits private protected public record return sealed "
    "short static strictfp super switch synchronized this throw throws transient try var void "
    "volatile while yield true false null"
)
_JAVA_TYPES = (
    "String Object Integer Long Double Float Boolean Character Byte Short Void List ArrayList Map "
    "HashMap Set HashSet Optional Stream Exception RuntimeException Override System Math Thread"
)
_JS = (
    "async await break case catch class const continue debugger default delete do else export "
    "extends false finally for from function get if import in instanceof let new null of return "
    "set static super switch this throw true try typeof undefined var void while with yield"
)
_JS_TYPES = (
    "Array ArrayBuffer BigInt Boolean console Date document Error Function Infinity JSON Map Math "
    "NaN Number Object Promise Proxy Reflect RegExp Set String Symbol WeakMap WeakSet window"
)
_TS = _JS + (
    " abstract accessor any as asserts bigint boolean declare enum implements infer interface is "
    "keyof module namespace never number object override private protected public readonly "
    "satisfies string symbol type unique unknown"
)
_GO = (
    "break case chan const continue default defer else fallthrough for func go goto if import "
    "interface map package range return select struct switch type var true false nil iota"
)
_GO_TYPES = (
    "any bool byte comparable complex64 complex128 error float32 float64 int int8 int16 int32 "
    "int64 rune string uint uint8 uint16 uint32 uint64 uintptr append cap clear close complex "
    "copy delete imag len make max min new panic print println real recover"
)
_RUST = (
    "as async await break const continue crate dyn else enum extern false fn for if impl in let "
    "loop match mod move mut pub ref return self Self static struct super trait true type union "
    "unsafe use where while macro_rules"
)
_RUST_TYPES = (
    "bool char f32 f64 i8 i16 i32 i64 i128 isize str u8 u16 u32 u64 u128 usize String Vec Option "
    "Result Box Rc Arc RefCell HashMap HashSet Some None Ok Err"
)
_CSHARP = (
    "abstract as base bool break byte case catch char checked class const continue decimal default "
    "delegate do double else enum event explicit extern false finally fixed float for foreach goto "
    "if implicit in int interface internal is lock long namespace new null object operator out "
    "override params private protected public readonly record ref return sbyte sealed short sizeof "
    "stackalloc static string struct switch this throw true try typeof uint ulong unchecked unsafe "
    "ushort using virtual void volatile while add alias async await dynamic get global init nameof "
    "partial remove required set value var when where with yield"
)
_CSHARP_TYPES = "String Console List Dictionary Task Exception Math DateTime Guid IEnumerable Action Func"
_PHP = (
    "abstract and array as break callable case catch class clone const continue declare default "
    "do echo else elseif empty enddeclare endfor endforeach endif endswitch endwhile enum eval exit "
    "extends final finally fn for foreach function global goto if implements include include_once "
    "instanceof insteadof interface isset list match namespace new or print private protected "
    "public readonly require require_once return static switch throw trait try unset use var while "
    "xor yield true false null self parent"
)
_RUBY = (
    "__ENCODING__ __LINE__ __FILE__ BEGIN END alias and begin break case class def defined? do "
    "else elsif end ensure false for if in module next nil not or redo rescue retry return self "
    "super then true undef unless until when while yield"
)
_BASH = (
    "if then else elif fi case esac for select while until do done in function time coproc return "
    "exit break continue local declare typeset export readonly unset shift source alias echo "
    "printf read cd pwd test eval exec set trap wait true false"
)
_SQL = (
    "add all alter and as asc begin between by cascade case check column commit constraint create "
    "cross database declare default delete desc distinct drop else end exists foreign from full "
    "function grant group having if in index inner insert into is join key left like limit not "
    "null offset on or order outer primary procedure recursive references replace return returning "
    "returns revoke right rollback schema select set table then transaction trigger truncate union "
    "unique update using values view when where with"
)
_SQL_TYPES = (
    "bigint blob bool boolean char date datetime decimal double float int integer json jsonb "
    "numeric real serial smallint text time timestamp tinyint uuid varchar count sum avg min max "
    "coalesce"
)
_HTML = (
    "a abbr address area article aside audio b base bdi bdo blockquote body br button canvas "
    "caption cite code col colgroup data datalist dd del details dfn dialog div dl dt em embed "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 head header hr html i iframe img "
    "input ins kbd label legend li link main map mark menu meta meter nav noscript object ol "
    "optgroup option output p param picture pre progress q rp rt ruby s samp script section "
    "select slot small source span strong style sub summary sup svg table tbody td template "
    "textarea tfoot th thead time title tr track u ul var video wbr "
    "accept action alt async autocomplete autofocus charset checked class cols colspan content "
    "controls crossorigin defer dir disabled download draggable enctype for form height hidden "
    "href hreflang id lang list loop max maxlength media method min multiple name novalidate "
    "pattern placeholder readonly rel required role rows rowspan sandbox scope selected size "
    "sizes span src srcset start step style tabindex target title type value width wrap"
)

_PYTHON_BUILTINS = " ".join(sorted({n for n in dir(builtins) if not n.startswith("_")} | {"self", "cls"}))

# Style numbers from Lexilla's SciLexer.h for the lexers that carry no style tags,
# and for styles whose tags do not say enough.
_CSS_ROLES = {
    1: "tag",
    2: "function",
    3: "keyword2",
    4: "keyword2",
    5: "operator",
    6: "attribute",
    7: "attribute",
    8: "constant",
    9: "comment",
    10: "function",
    11: "keyword",
    12: "keyword",
    13: "string",
    14: "string",
    15: "attribute",
    16: "attribute",
    17: "attribute",
    18: "keyword2",
    19: "attribute",
    20: "keyword2",
    21: "keyword2",
    22: "keyword",
    23: "variable",
}
_SQL_ROLES = {
    1: "comment",
    2: "comment",
    3: "doc_comment",
    4: "number",
    5: "keyword",
    6: "string",
    7: "string",
    8: "preprocessor",
    9: "preprocessor",
    10: "operator",
    13: "comment",
    15: "doc_comment",
    16: "keyword2",
    17: "doc_comment",
    18: "error",
    19: "keyword2",
    20: "keyword2",
    21: "keyword2",
    22: "keyword2",
    23: "variable",
    24: "operator",
}
_JSON_ROLES = {
    1: "number",
    2: "string",
    3: "error",
    4: "attribute",
    5: "escape",
    6: "comment",
    7: "comment",
    8: "operator",
    9: "link",
    10: "link",
    11: "keyword",
    12: "keyword",
    13: "error",
}
_YAML_ROLES = {
    1: "comment",
    2: "attribute",
    3: "keyword",
    4: "number",
    5: "variable",
    6: "preprocessor",
    7: "string",
    8: "error",
    9: "operator",
}
_MARKDOWN_ROLES = {
    2: "strong",
    3: "strong",
    4: "emphasis",
    5: "emphasis",
    6: "heading",
    7: "heading",
    8: "heading",
    9: "heading",
    10: "heading",
    11: "heading",
    12: "heading",
    13: "keyword",
    14: "keyword",
    15: "quote",
    16: "comment",
    17: "operator",
    18: "link",
    19: "code",
    20: "code",
    21: "code",
    22: "heading",
}
# Python: class and def names, builtins, decorators.
_PYTHON_ROLES = {8: "keyword2", 9: "function", 14: "keyword2", 15: "preprocessor", 20: "attribute"}
# C family: secondary keywords (types) and global classes.
_CPP_ROLES = {16: "keyword2", 19: "keyword2"}
_RUST_ROLES = {7: "keyword2", 8: "keyword2", 18: "variable", 19: "preprocessor"}
_RUBY_ROLES = {
    3: "doc_comment",
    8: "keyword2",
    9: "function",
    13: "variable",
    14: "constant",
    15: "keyword2",
    16: "variable",
    17: "variable",
}
_BASH_ROLES = {9: "variable", 10: "variable"}
# hypertext: unknown tags and attributes are drawn as known ones rather than as errors,
# embedded JavaScript and PHP get their own roles.
_HTML_ROLES = {
    2: "tag",
    4: "attribute",
    8: "tag",
    10: "constant",
    14: "default",
    46: "default",
    47: "keyword",
    48: "string",
    49: "string",
    50: "operator",
    52: "regex",
    104: "variable",
    118: "default",
    119: "string",
    120: "string",
    121: "keyword",
    122: "number",
    123: "variable",
    124: "comment",
    125: "comment",
    126: "variable",
    127: "operator",
}

_CPP_PROPS = {"lexer.cpp.track.preprocessor": "0", "lexer.cpp.escape.sequence": "1"}
_JS_PROPS = {**_CPP_PROPS, "lexer.cpp.backquoted.strings": "2"}

# The languages whose lexers need keywords, properties or roles; the lexer itself is
# named by app.languages.
_TUNING: dict[str, LexerTuning] = {
    "python": LexerTuning(
        {0: " ".join([*keyword.kwlist, *keyword.softkwlist]), 1: _PYTHON_BUILTINS},
        {"lexer.python.decorator.attributes": "1"},
        _PYTHON_ROLES,
    ),
    "c": LexerTuning({0: _C, 1: _C_TYPES}, _CPP_PROPS, _CPP_ROLES),
    "cpp": LexerTuning({0: _CPP, 1: _CPP_TYPES}, _CPP_PROPS, _CPP_ROLES),
    "java": LexerTuning({0: _JAVA, 1: _JAVA_TYPES}, _CPP_PROPS, _CPP_ROLES),
    "javascript": LexerTuning({0: _JS, 1: _JS_TYPES}, _JS_PROPS, _CPP_ROLES),
    "typescript": LexerTuning({0: _TS, 1: _JS_TYPES}, _JS_PROPS, _CPP_ROLES),
    "go": LexerTuning({0: _GO, 1: _GO_TYPES}, {**_CPP_PROPS, "lexer.cpp.backquoted.strings": "1"}, _CPP_ROLES),
    "csharp": LexerTuning({0: _CSHARP, 1: _CSHARP_TYPES}, _CPP_PROPS, _CPP_ROLES),
    "rust": LexerTuning({0: _RUST, 1: _RUST_TYPES}, {}, _RUST_ROLES),
    "php": LexerTuning({0: _HTML, 1: _JS, 4: _PHP}, {}, _HTML_ROLES),
    "ruby": LexerTuning({0: _RUBY}, {}, _RUBY_ROLES),
    "bash": LexerTuning({0: _BASH}, {}, _BASH_ROLES),
    "sql": LexerTuning({0: _SQL, 1: _SQL_TYPES}, {}, _SQL_ROLES),
    "html": LexerTuning({0: _HTML, 1: _JS, 4: _PHP}, {}, _HTML_ROLES),
    "css": LexerTuning({}, {}, _CSS_ROLES),
    "json": LexerTuning({0: "true false null"}, {"lexer.json.allow.comments": "1"}, _JSON_ROLES),
    "yaml": LexerTuning({0: "true false yes no null on off"}, {}, _YAML_ROLES),
    "markdown": LexerTuning({}, {}, _MARKDOWN_ROLES),
}
PLAIN = LexerSpec("")

# Lexilla tags (see Lexer.tags_of_style) to roles; the first tag set contained in a
# style's tags wins, so the more specific ones come first.
_TAG_ROLES: tuple[tuple[frozenset[str], str], ...] = tuple(
    (frozenset(tags.split()), role)
    for tags, role in (
        ("error", "error"),
        ("comment documentation", "doc_comment"),
        ("comment", "comment"),
        ("preprocessor", "preprocessor"),
        ("annotation", "preprocessor"),
        ("literal regex", "regex"),
        ("escapesequence", "escape"),
        ("literal numeric", "number"),
        ("literal string", "string"),
        ("here-doc", "string"),
        ("literal", "constant"),
        ("keyword", "keyword"),
        ("operator", "operator"),
        ("tag", "tag"),
        ("attribute", "attribute"),
    )
)


def spec_for(language_id: str) -> LexerSpec:
    """The lexer for a language id: app.languages names it, _TUNING configures it."""
    lexer = languages.language(language_id).lexilla
    if not lexer:
        return PLAIN
    return LexerSpec(lexer, _TUNING.get(language_id, LexerTuning()))


def create_lexer(spec: LexerSpec) -> lexilla.Lexer | None:
    """A configured Lexilla lexer for the spec, or None for plain text."""
    if not spec.lexer:
        return None
    lexer = lexilla.create_lexer(spec.lexer)
    if lexer is None:  # a Lexilla build without this lexer: show plain text
        return None
    for slot, words in spec.tuning.keywords.items():
        lexer.word_list_set(slot, words)
    for key, value in spec.tuning.properties.items():
        lexer.property_set(key, value)
    return lexer


def style_roles(lexer: lexilla.Lexer, spec: LexerSpec) -> dict[int, str]:
    """Every style the lexer uses, mapped to a palette role."""
    roles: dict[int, str] = {}
    for style in range(lexer.named_styles()):
        tags = set(lexer.tags_of_style(style).split())
        for wanted, role in _TAG_ROLES:
            if wanted <= tags:
                roles[style] = role
                break
    roles.update(spec.tuning.roles)
    return roles
