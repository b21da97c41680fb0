"""Model markdown to safe HTML: one configured renderer, code highlighting and streaming updates.

Everything the page shows of a reply comes from here, so this module is also the XSS boundary:
raw HTML is escaped, only http(s) and mailto links survive, images never load, and the code
language (model-chosen text) is validated before it reaches an attribute. See docs/rendering.md.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml, unescapeAll
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.tasklists import tasklists_plugin

if TYPE_CHECKING:
    from pygments.formatters.html import HtmlFormatter
    from pygments.lexer import Lexer

__all__ = ["RENDER_VERSION", "RenderUpdate", "StreamRenderer", "highlight_css", "render_markdown"]

# Bump when the HTML for the same text changes, so cached message HTML is rendered anew.
RENDER_VERSION = 1

# The scheme and the "//" are both required: "http:foo" would resolve against the app's own
# origin, and anything scheme-less (relative paths, "#x", "//host") has no meaning in a chat.
_ALLOWED_URL_RE = re.compile(r"(?:https?://|mailto:)", re.IGNORECASE)
_LINK_REL = "noopener noreferrer nofollow"
# A fence's language lands in a class attribute and a header: accept only what real language
# names look like (c++, c#, objective-c, python3.12) and treat anything else as no language.
_LANG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+#.-]{0,39}")
_COPY_BUTTON = '<button type="button" class="copy-code" aria-label="Copy code">Copy</button>'
# Render-time flag in the markdown-it env: the streaming tail shows code unhighlighted.
_PLAIN_CODE = "openchat_plain_code"
_ALIGN_CLASSES = {
    "text-align:left": "align-left",
    "text-align:center": "align-center",
    "text-align:right": "align-right",
}
# The only raw HTML the renderer may emit: the tasklists plugin's checkboxes (it inserts them as
# html_inline tokens). Everything else that claims to be HTML is escaped.
_TASK_CHECKBOXES = frozenset(
    {
        '<input class="task-list-item-checkbox" disabled="disabled" type="checkbox">',
        '<input class="task-list-item-checkbox" checked="checked" disabled="disabled" '
        'type="checkbox">',
    }
)
# Scoped so the page switches themes with one attribute on <html>; the styles ship with pygments.
_THEMES = {"dark": "github-dark", "light": "default"}
# After rendering work that took c seconds the stream renderer rests at least c * _COOLDOWN, so
# it never takes more than about a tenth of the feeding thread. Typical tails render in well
# under a millisecond and never notice; one huge block (a 1,000-item list) refreshes its
# preview less often instead of making the stream quadratic.
_COOLDOWN = 9.0


def _is_allowed_url(url: str) -> bool:
    """Allow-list rather than block-list: new dangerous schemes keep being invented."""
    return _ALLOWED_URL_RE.match(url) is not None


class _SafeMarkdownIt(MarkdownIt):
    """MarkdownIt whose parser drops links and images that are not http(s) or mailto."""

    def validateLink(self, url: str) -> bool:
        """Reject at parse time, so a refused link stays visible as its literal text."""
        return _is_allowed_url(url)


@functools.cache
def _known_aliases() -> frozenset[str]:
    """Pygments' built-in aliases, so unknown names never trigger its plugin entry-point scan."""
    from pygments.lexers import get_all_lexers

    return frozenset(
        alias for _, aliases, _, _ in get_all_lexers(plugins=False) for alias in aliases
    )


@functools.lru_cache(maxsize=128)
def _cached_lexer(alias: str) -> Lexer:
    """Lexer instances are stateless between calls, so one per language is reused."""
    from pygments.lexers import get_lexer_by_name

    # stripnl=False: pygments would otherwise drop leading/trailing blank lines of the block.
    return get_lexer_by_name(alias, stripnl=False)


def _lexer(lang: str) -> Lexer | None:
    """The lexer for a fence language, or None: unknown languages are never guessed."""
    alias = lang.lower()
    return _cached_lexer(alias) if alias in _known_aliases() else None


@functools.cache
def _formatter() -> HtmlFormatter:
    """One class-based formatter; nowrap because the code-block wrapper is ours."""
    from pygments.formatters.html import HtmlFormatter

    return HtmlFormatter(nowrap=True)


def _code_block_html(code: str, info: str, plain: bool) -> str:
    """A code block with a language header and a copy button, highlighted unless `plain`."""
    first = info.split(maxsplit=1)[0] if info else ""
    lang = first if _LANG_RE.fullmatch(first) else ""
    lexer = _lexer(lang) if lang and code and not plain else None
    if lexer is not None:
        from pygments import highlight

        body = highlight(code, lexer, _formatter())
    else:
        body = escapeHtml(code)
    code_class = f' class="language-{escapeHtml(lang.lower())}"' if lang else ""
    label = escapeHtml(lang) if lang else "text"
    return (
        '<div class="code-block"><div class="code-header">'
        f'<span class="code-lang">{label}</span>{_COPY_BUTTON}</div>'
        f"<pre><code{code_class}>{body}</code></pre></div>\n"
    )


def _inside_link(tokens: Sequence[Token], idx: int) -> bool:
    """Whether inline token `idx` sits inside a link (an <a> must not contain another)."""
    depth = 0
    for token in reversed(tokens[:idx]):
        if token.type == "link_close":
            depth += 1
        elif token.type == "link_open":
            if depth == 0:
                return True
            depth -= 1
    return False


def _link_attrs(href: str, title: str) -> str:
    """Attributes of every rendered link: the page opens them in the system browser."""
    title_attr = f' title="{escapeHtml(title)}"' if title else ""
    return f'href="{escapeHtml(href)}"{title_attr} target="_blank" rel="{_LINK_REL}"'


class _SafeRenderer(RendererHTML):
    """markdown-it's HTML renderer with the app's rules for links, images, code and tables."""

    def link_open(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        token = tokens[idx]
        href = str(token.attrGet("href") or "")
        return f"<a {_link_attrs(href, str(token.attrGet('title') or ''))}>"

    def image(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        # Loading a remote image would let an injected prompt leak the chat through its URL.
        token = tokens[idx]
        alt = self.renderInlineAsText(token.children, options, env)
        src = str(token.attrGet("src") or "")
        if not _is_allowed_url(src) or _inside_link(tokens, idx):
            return escapeHtml(alt)
        attrs = _link_attrs(src, str(token.attrGet("title") or ""))
        return f'<a class="image-link" {attrs}>{escapeHtml(alt or src)}</a>'

    def fence(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        info = unescapeAll(token.info).strip() if token.info else ""
        return _code_block_html(token.content, info, bool(env.get(_PLAIN_CODE)))

    def code_block(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return _code_block_html(tokens[idx].content, "", True)

    def table_open(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return '<div class="table-wrap">\n' + self.renderToken(tokens, idx, options, env)

    def table_close(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return self.renderToken(tokens, idx, options, env) + "</div>\n"

    def th_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return self._cell_open(tokens[idx])

    def td_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return self._cell_open(tokens[idx])

    @staticmethod
    def _cell_open(token: Token) -> str:
        """Alignment as a class: the page's CSP forbids inline style attributes."""
        align = _ALIGN_CLASSES.get(str(token.attrGet("style") or ""))
        return f'<{token.tag} class="{align}">' if align else f"<{token.tag}>"

    def html_inline(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        # With html=False the parser never emits raw HTML; this guards against plugins.
        content = tokens[idx].content
        return content if content in _TASK_CHECKBOXES else escapeHtml(content)

    def html_block(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return escapeHtml(tokens[idx].content)


_md = (
    _SafeMarkdownIt(
        "commonmark",
        {"html": False, "linkify": False, "typographer": False},
        renderer_cls=_SafeRenderer,
    )
    .enable(["table", "strikethrough"])
    .use(tasklists_plugin)
)


def _split_blocks(tokens: list[Token]) -> list[list[Token]]:
    """Group a token stream into its top-level blocks (a paragraph, a whole list, a fence…)."""
    blocks: list[list[Token]] = []
    start = 0
    for i, token in enumerate(tokens):
        # At level 0 a block is one self-contained token or ends with its closing token.
        if token.level == 0 and token.nesting <= 0:
            blocks.append(tokens[start : i + 1])
            start = i + 1
    return blocks


def _render(tokens: Sequence[Token], env: EnvType) -> str:
    return _md.renderer.render(tokens, _md.options, env)


def _render_blocks(text: str) -> list[str]:
    """The HTML of each top-level block of `text`, highlighted: the unit streaming sends."""
    env: dict[str, Any] = {}
    return [_render(block, env) for block in _split_blocks(_md.parse(text, env))]


def render_markdown(text: str) -> str:
    """Render model markdown to safe HTML; the source of truth for a message's final HTML."""
    return "".join(_render_blocks(text))


@functools.cache
def warm_up() -> None:
    """Load pygments and a common lexer ahead of the first reply that needs them."""
    render_markdown("```python\npass\n```")


def highlight_css(theme: str) -> str:
    """The pygments stylesheet for "dark" or "light", scoped under [data-theme] .code-block."""
    if theme not in _THEMES:
        raise ValueError(f"unknown theme {theme!r}; expected one of {sorted(_THEMES)}")
    from pygments.formatters.html import HtmlFormatter

    scope = f'[data-theme="{theme}"] .code-block'
    formatter = HtmlFormatter(style=_THEMES[theme])
    # Not get_style_defs(): it adds unscoped rules (pre, line numbers) that would leak page-wide.
    rules = formatter.get_background_style_defs(scope) + formatter.get_token_style_defs(scope)
    return "\n".join(rules) + "\n"


@dataclass(frozen=True, slots=True)
class RenderUpdate:
    """A patch to a streaming message: replace blocks from `start` on, then replace the tail."""

    start: int
    blocks: tuple[str, ...]
    tail: str

    def merge(self, later: RenderUpdate) -> RenderUpdate:
        """One update with the effect of applying `self` and then `later`."""
        end = self.start + len(self.blocks)
        if later.start > end:
            raise ValueError(
                f"cannot merge: update starts at {later.start}, previous ends at {end}"
            )
        if later.start <= self.start:
            return later
        return RenderUpdate(
            self.start, self.blocks[: later.start - self.start] + later.blocks, later.tail
        )

    def apply_to(self, blocks: Sequence[str]) -> list[str]:
        """The block list after this update, exactly as the page applies it."""
        if self.start > len(blocks):
            raise ValueError(f"update starts at {self.start} but only {len(blocks)} blocks exist")
        return [*blocks[: self.start], *self.blocks]

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "blocks": list(self.blocks), "tail": self.tail}


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


def _final_when_last(block: list[Token], text: str, starts: list[int]) -> bool:
    """Whether the last block of `text` (complete lines only) can no longer change."""
    token = block[0]
    if token.type in ("heading_open", "hr"):  # one line, or a setext underline: done
        return True
    if token.map is None:
        return False
    first, end = token.map
    lines = len(starts) - 1
    if token.type == "fence":
        # Closed iff its last line is a closing fence: same character, at least as many.
        if end - first < 2:
            return False
        closing = re.escape(token.markup[0]) + "{" + str(len(token.markup)) + ",}"
        last_line = text[starts[end - 1] : starts[end]]
        return re.fullmatch(r" {0,3}" + closing + r"[ \t]*\n", last_line) is not None
    # A blank line ends these for good; it does not end a list or an indented code block.
    if token.type in ("paragraph_open", "blockquote_open", "table_open"):
        return text[starts[lines - 1] :].strip(" \t\n") == ""
    return False


class StreamRenderer:
    """Renders a reply as it streams, in time linear in its length; one instance per reply.

    Finished top-level blocks are rendered (and highlighted) once; only the unfinished tail is
    re-rendered, at most every `min_interval` seconds and less often when that is expensive.
    `clock` measures both. `sharing()` says how many renderers stream at once: they share one
    interpreter, so each previews its tail that many times less often, and all the previews
    together take what one stream's would. Not thread-safe: feed it from one thread.
    """

    def __init__(
        self,
        min_interval: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sharing: Callable[[], int] = lambda: 1,
    ) -> None:
        self._min_interval = min_interval
        self._clock = clock
        self._sharing = sharing
        self._raw: list[str] = []
        self._after_cr = False
        self._incoming: list[str] = []  # normalized deltas not yet joined into _pending
        self._pending = ""  # normalized text after the last finished block
        self._checked = 0  # length of the _pending prefix already searched for finished blocks
        self._references: dict[str, Any] = {}  # link reference definitions in finished blocks
        self._blocks: list[str] = []
        self._tail = ""
        self._next_render = -math.inf  # the first delta is shown at once
        self._next_check = -math.inf
        self._final: RenderUpdate | None = None

    @property
    def text(self) -> str:
        """Everything fed so far, unchanged."""
        if len(self._raw) > 1:
            self._raw = ["".join(self._raw)]
        return self._raw[0] if self._raw else ""

    @property
    def html(self) -> str:
        """The HTML the page shows now; after finish() it equals render_markdown(self.text)."""
        return "".join(self._blocks) + self._tail

    def seed(self, text: str) -> RenderUpdate:
        """Start from `text` already written (a reply being continued) before any feed():
        returns the whole of it as one update; later updates follow on from it as if it had
        been fed, and finish() still equals render_markdown(text + what came after)."""
        if self._raw or self._final is not None:
            raise RuntimeError("seed() must come before feed()")
        update = self.feed(text)
        self._next_render = self._next_check = -math.inf  # the first new text shows at once
        return update or RenderUpdate(0, tuple(self._blocks), self._tail)

    def feed(self, delta: str) -> RenderUpdate | None:
        """Add text; return an update when `min_interval` has passed or a block finished."""
        if self._final is not None:
            raise RuntimeError("feed() after finish()")
        if not delta:
            return None
        self._raw.append(delta)
        # markdown-it turns \r\n and \r into \n; doing it here keeps our line arithmetic in step
        # with its line numbers, even when a \r\n pair is split across two deltas.
        if self._after_cr and delta.startswith("\n"):
            delta = delta[1:]
        self._after_cr = delta.endswith("\r")
        delta = delta.replace("\r\n", "\n").replace("\r", "\n")
        if not delta:
            return None
        self._incoming.append(delta)

        now = self._clock()
        due = now >= self._next_render
        # Blocks only finish when a line completes, so only a newline warrants an early look.
        check = "\n" in delta and now >= self._next_check
        if not (due or check):
            return None
        self._absorb()
        start = len(self._blocks)
        finished = self._commit_finished()
        if due or finished:
            self._tail = self._render_tail()
        end = self._clock()
        cooldown = (end - now) * _COOLDOWN
        self._next_check = end + cooldown
        if not (due or finished):
            return None
        # Finished blocks are rendered once whatever the pace; the preview of the tail, which
        # is rendered again and again, is what streams at once share.
        self._next_render = max(now + self._min_interval, end + cooldown * max(1, self._sharing()))
        return RenderUpdate(start, tuple(finished), self._tail)

    def finish(self) -> RenderUpdate:
        """The last update: applied, the page shows exactly render_markdown(self.text).

        It sits between a reply's last token and its end, so it renders only the unfinished
        tail: the blocks sent are final, and without link reference definitions nothing
        else in the text can change them. With any definition, the whole text is rendered
        again and compared."""
        if self._final is not None:
            return self._final
        self._absorb()
        sent = len(self._blocks)
        if not self._references:
            env: dict[str, Any] = {}
            rest = [_render(block, env) for block in _split_blocks(_md.parse(self._pending, env))]
            if not env.get("references"):
                self._final = RenderUpdate(sent, tuple(rest), "")
                self._blocks.extend(rest)
                self._tail = ""
                return self._final
        full = _render_blocks(self.text)
        # Normally the streamed blocks are a prefix of the full render; when they are not
        # (a link reference defined after its use, say), resend everything.
        start = sent if full[:sent] == self._blocks else 0
        self._final = RenderUpdate(start, tuple(full[start:]), "")
        self._blocks = full
        self._tail = ""
        return self._final

    def _absorb(self) -> None:
        if self._incoming:
            self._pending += "".join(self._incoming)
            self._incoming.clear()

    def _commit_finished(self) -> list[str]:
        """Move blocks that later text can no longer change out of the tail; return their HTML."""
        # Only complete lines decide: a partial "#" is a heading that "#x" turns back into text.
        stable_end = self._pending.rfind("\n") + 1
        if stable_end <= self._checked:
            return []
        self._checked = stable_end
        stable = self._pending[:stable_end]
        env: dict[str, Any] = {"references": dict(self._references)}
        blocks = _split_blocks(_md.parse(stable, env))
        if not blocks:
            return []
        starts = _line_starts(stable)
        # A block is finished once another has started after it (CommonMark never reopens a
        # closed block); some are finished sooner, such as a fence by its closing line.
        done = len(blocks) - 1
        if _final_when_last(blocks[-1], stable, starts):
            done = len(blocks)
        if done == 0:
            return []
        end_map = blocks[done - 1][0].map
        assert end_map is not None, "top-level block tokens always carry a line map"
        offset = starts[end_map[1]]
        html = [_render(block, env) for block in blocks[:done]]
        if len(env["references"]) > len(self._references):
            # Keep only definitions inside the committed text: later ones may still change.
            committed_env: dict[str, Any] = {"references": dict(self._references)}
            _md.parse(stable[:offset], committed_env)
            self._references = committed_env["references"]
        self._pending = self._pending[offset:]
        self._checked -= offset
        self._blocks.extend(html)
        return html

    def _render_tail(self) -> str:
        if not self._pending:
            return ""
        env: dict[str, Any] = {"references": dict(self._references), _PLAIN_CODE: True}
        return _render(_md.parse(self._pending, env), env)
