"""Rendering: exact HTML for known inputs, an XSS corpus, and the streaming update contract."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from markdown_it.token import Token

from openchat_desktop import rendering
from openchat_desktop.rendering import RenderUpdate, StreamRenderer, highlight_css, render_markdown

LINK = 'target="_blank" rel="noopener noreferrer nofollow"'
COPY = '<button type="button" class="copy-code" aria-label="Copy code">Copy</button>'


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# --- exact HTML ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("Hello *world*", "<p>Hello <em>world</em></p>\n"),
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"),
        ("# Title\n\nSub\n---", "<h1>Title</h1>\n<h2>Sub</h2>\n"),
        ("~~old~~ new", "<p><s>old</s> new</p>\n"),
        (
            "[docs](https://example.com/a?b=1&c=2)",
            f'<p><a href="https://example.com/a?b=1&amp;c=2" {LINK}>docs</a></p>\n',
        ),
        ("<me@example.com>", f'<p><a href="mailto:me@example.com" {LINK}>me@example.com</a></p>\n'),
        # Refused links stay visible as what the model wrote.
        ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>\n"),
        ("[x](http:foo)", "<p>[x](http:foo)</p>\n"),
        (
            '![chart](https://evil.example/leak?q=secret "Chart")',
            '<p><a class="image-link" href="https://evil.example/leak?q=secret" title="Chart" '
            f"{LINK}>chart</a></p>\n",
        ),
        (
            "[![alt](https://img.example/i.png)](https://example.com)",
            f'<p><a href="https://example.com" {LINK}>alt</a></p>\n',
        ),
        (
            "```foobar\nx <b> & y\n```",
            '<div class="code-block"><div class="code-header"><span class="code-lang">foobar</span>'
            f'{COPY}</div><pre><code class="language-foobar">x &lt;b&gt; &amp; y\n'
            "</code></pre></div>\n",
        ),
        (
            "```\nplain\n```",
            '<div class="code-block"><div class="code-header"><span class="code-lang">text</span>'
            f"{COPY}</div><pre><code>plain\n</code></pre></div>\n",
        ),
        (
            "    indented <b>\n",
            '<div class="code-block"><div class="code-header"><span class="code-lang">text</span>'
            f"{COPY}</div><pre><code>indented &lt;b&gt;\n</code></pre></div>\n",
        ),
        (
            '```"><script>\nx\n```',
            '<div class="code-block"><div class="code-header"><span class="code-lang">text</span>'
            f"{COPY}</div><pre><code>x\n</code></pre></div>\n",
        ),
        (
            "| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |",
            '<div class="table-wrap">\n<table>\n<thead>\n<tr>\n<th class="align-left">a</th>\n'
            '<th class="align-center">b</th>\n<th class="align-right">c</th>\n</tr>\n</thead>\n'
            '<tbody>\n<tr>\n<td class="align-left">1</td>\n<td class="align-center">2</td>\n'
            '<td class="align-right">3</td>\n</tr>\n</tbody>\n</table>\n</div>\n',
        ),
        (
            "- [ ] todo\n- [x] done",
            '<ul class="contains-task-list">\n<li class="task-list-item">'
            '<input class="task-list-item-checkbox" disabled="disabled" type="checkbox">'
            " todo</li>\n"
            '<li class="task-list-item"><input class="task-list-item-checkbox" checked="checked" '
            'disabled="disabled" type="checkbox"> done</li>\n</ul>\n',
        ),
    ],
)
def test_exact_html(markdown: str, html: str) -> None:
    assert render_markdown(markdown) == html


def test_known_language_is_highlighted_with_classes() -> None:
    html = render_markdown("```python\ndef f(x):\n    return 1\n```")
    assert '<span class="code-lang">python</span>' in html
    assert '<code class="language-python"><span class="k">def</span>' in html
    assert '<span class="nf">f</span>' in html
    assert "style=" not in html


def test_language_lookup_is_case_insensitive_and_keeps_the_written_name() -> None:
    html = render_markdown("```Python\npass\n```")
    assert '<span class="code-lang">Python</span>' in html
    assert '<code class="language-python"><span class="k">pass</span>' in html


def test_language_names_with_symbols_survive() -> None:
    html = render_markdown("```c++\nint x;\n```")
    assert '<span class="code-lang">c++</span>' in html
    assert '<code class="language-c++"><span class="kt">int</span>' in html


def test_code_keeps_leading_and_trailing_blank_lines() -> None:
    html = render_markdown("```python\n\nx = 1\n\n```")
    assert '<code class="language-python">\n<span class="n">x</span>' in html
    assert "</span>\n\n</code>" in html


def test_unknown_language_never_scans_pygments_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    import pygments.lexers

    def scan() -> None:
        raise AssertionError("plugin entry points scanned")

    monkeypatch.setattr(pygments.lexers, "find_plugin_lexers", scan)
    rendering._known_aliases.cache_clear()
    html = render_markdown("```nosuchlanguage\nx\n```\n```python\ny\n```")
    assert '<code class="language-nosuchlanguage">x\n</code>' in html
    assert '<span class="n">y</span>' in html


def test_import_does_not_load_pygments() -> None:
    code = (
        "import sys, openchat_desktop.rendering; "
        "print(any(m.startswith('pygments') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_highlight_css_is_scoped_to_its_theme(theme: str) -> None:
    css = highlight_css(theme)
    rules = css.strip().splitlines()
    assert len(rules) > 20
    assert all(rule.startswith(f'[data-theme="{theme}"] .code-block') for rule in rules)
    assert f'[data-theme="{theme}"] .code-block .k {{' in css
    assert f'[data-theme="{theme}"] .code-block {{ background:' in css


def test_highlight_css_themes_differ_and_unknown_theme_fails() -> None:
    assert highlight_css("dark") != highlight_css("light").replace("light", "dark")
    with pytest.raises(ValueError, match="unknown theme"):
        highlight_css("solarized")


# --- security ------------------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "<style>body{display:none}</style>",
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](java&#x3A;alert(1))",
    "[x](  javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](file:///etc/passwd)",
    "[x](//evil.example/x)",
    "[x](/relative/path)",
    "[x](#fragment)",
    "[x](\uff4a\uff41\uff56\uff41\uff53\uff43\uff52\uff49\uff50\uff54:alert(1))",
    "[x](java\u200bscript:alert(1))",
    "[x](\u202ejavascript:alert(1))",
    "[x][r]\n\n[r]: javascript:alert(1)",
    '[x](https://ok.example "\\" onmouseover=\\"alert(1)")',
    '[x](https://ok.example/"onmouseover="alert(1))',
    '<https://ok.example/"onmouseover="alert(1)>',
    "<javascript:alert(1)>",
    "<JavaScript:alert(1)>",
    "![x](https://evil.example/leak?q=secret)",
    "![x](javascript:alert(1))",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "![<script>alert(1)</script>](https://evil.example/i.png)",
    "[<img src=x onerror=alert(1)>](https://ok.example)",
    '```"><script>alert(1)</script>\ncode\n```',
    "```python onload=alert(1)\ncode\n```",
    "```js\n</code></pre><script>alert(1)</script>\n```",
    "`<script>alert(1)</script>`",
    "&lt;script&gt;alert(1)&lt;/script&gt; &#60;script&#62; &#x3C;img src=x onerror=alert(1)&#x3E;",
    "- [ ] <script>alert(1)</script>\n- [x] <img src=x onerror=alert(1)>",
    "| <script> | ![i](https://evil.example/t.png) |\n|---|---|\n| [j](javascript:alert(1)) | x |",
    "> <iframe src=javascript:alert(1)>",
    "\u202e<script>alert(1)</script>",
]

# Everything the renderer may emit; anything else means markup leaked through.
ALLOWED_ATTRS: dict[str, set[str]] = {
    "a": {"href", "title", "target", "rel", "class"},
    "button": {"type", "class", "aria-label"},
    "code": {"class"},
    "div": {"class"},
    "span": {"class"},
    "ul": {"class"},
    "ol": {"start"},
    "li": {"class"},
    "input": {"class", "type", "disabled", "checked"},
    "th": {"class"},
    "td": {"class"},
    **{
        tag: set()
        for tag in (
            "p em strong s pre table thead tbody tr blockquote h1 h2 h3 h4 h5 h6 hr br".split()
        )
    },
}
SAFE_HREF = re.compile(r"(?:https?://|mailto:)", re.IGNORECASE)


class _Audit(HTMLParser):
    """Collects every tag and attribute in rendered HTML, entities decoded as a browser would."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_ATTRS:
            self.problems.append(f"tag <{tag}>")
            return
        for name, value in attrs:
            if name not in ALLOWED_ATTRS[tag]:
                self.problems.append(f"attribute {name} on <{tag}>")
            if name == "href" and not SAFE_HREF.match(value or ""):
                self.problems.append(f"href {value!r}")
        if tag == "input" and dict(attrs).get("type") != "checkbox":
            self.problems.append("input that is not a checkbox")

    handle_startendtag = handle_starttag


def assert_safe(html: str) -> None:
    audit = _Audit()
    audit.feed(html)
    audit.close()
    assert audit.problems == [], html
    assert not re.search(r"<script", html, re.IGNORECASE), html
    assert not re.search(r"<img", html, re.IGNORECASE), html
    # Attribute values are always double-quoted with quotes escaped, so blank them out first:
    # an "onerror=" inside a title is text, one between attributes is a handler.
    outside_values = re.sub(r'"[^"]*"', '""', html)
    assert not re.search(r"<[a-z][^>]*\son\w+\s*=", outside_values, re.IGNORECASE), html
    assert not re.search(r"href\s*=\s*[\"']?\s*(?:javascript|vbscript|data|file):", html, re.I), (
        html
    )


@pytest.mark.parametrize("markdown", XSS)
def test_xss_corpus_renders_safely(markdown: str) -> None:
    assert_safe(render_markdown(markdown))


@pytest.mark.parametrize("markdown", XSS)
def test_xss_corpus_streams_safely_character_by_character(markdown: str) -> None:
    renderer = StreamRenderer(min_interval=0, clock=FakeClock())
    for char in markdown:
        update = renderer.feed(char)
        if update is not None:
            for html in (*update.blocks, update.tail):
                assert_safe(html)
    final = renderer.finish()
    for html in final.blocks:
        assert_safe(html)


def test_the_audit_catches_what_it_looks_for() -> None:
    for leaked in (
        "<script>x</script>",
        '<img src="https://evil.example/x">',
        '<a href="javascript:alert(1)">x</a>',
        '<p onclick="x">y</p>',
        '<a href=" JavaScript:alert(1)">x</a>',
    ):
        with pytest.raises(AssertionError):
            assert_safe(leaked)


def test_renderer_escapes_markup_the_parser_never_makes() -> None:
    # html=False and validateLink stop these at parse time; the renderer holds the line too,
    # in case a plugin ever builds such tokens.
    image = Token("image", "img", 0, attrs={"src": "javascript:alert(1)"}, content="x")
    image.children = [Token("text", "", 0, content="x")]
    tokens = [
        Token("html_inline", "", 0, content="<img src=x onerror=alert(1)>"),
        Token("html_block", "", 0, content="<script>alert(1)</script>\n"),
        image,
    ]
    html = rendering._md.renderer.render(tokens, rendering._md.options, {})
    assert html == "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(1)&lt;/script&gt;\nx"


def test_refused_links_stay_as_text_and_images_never_load() -> None:
    html = render_markdown("[a](file:///etc/passwd) ![b](https://evil.example/p.png) ![c](/x.png)")
    assert "<p>[a](file:///etc/passwd) " in html
    assert f'<a class="image-link" href="https://evil.example/p.png" {LINK}>b</a>' in html
    assert "![c](/x.png)" in html
    assert "<img" not in html


def test_every_link_opens_outside_the_app() -> None:
    html = render_markdown(
        "[a](https://a.example) <https://b.example> <c@example.com> [d][r] "
        "![e](http://e.example/e.png)\n\n[r]: https://r.example"
    )
    assert html.count("<a ") == 5
    assert html.count(LINK) == 5


# --- streaming -----------------------------------------------------------------------------

REALISTIC = [
    """# Setting up the worker

The worker reads its settings **once** at start-up, so a reload never races with a job.
See [the docs](https://example.com/docs) for the details.

1. Install the package:
   - on Linux, use the system Python
   - on macOS, `brew install python`

     then open a new terminal
2. Create the config file.
3. Restart the service.

```python
def handle(job, retries=3):
    for attempt in range(retries):
        try:
            return job.run()
        except TransientError:
            time.sleep(2 ** attempt)
```

| option  | default | meaning       |
|---------|--------:|---------------|
| workers |       4 | parallel jobs |
| timeout |      30 | seconds       |

> **Note:** a timeout of 0 disables the limit,
> which is rarely what you want.

Setext heading
--------------

- [ ] write tests
- [x] write code

***

~~~js
console.log("done")
~~~
That is all.
""",
    """Short answer: yes.

* one
* two

  still two

* three

    indented code
    more code

Closing paragraph with `inline code` and a ~~mistake~~ fix.
```bash
echo unterminated fence at the end
""",
    "Line one\r\nLine two\r\n\r\n- item\r\n- item\r\n\r\n```py\r\nx = 1\r\n```\r\nend\r\n",
]


def chunks(text: str, sizes: list[int]) -> list[str]:
    """Split `text` into pieces cycling through `sizes`, the way tokens arrive."""
    pieces = []
    position = 0
    index = 0
    while position < len(text):
        size = sizes[index % len(sizes)]
        pieces.append(text[position : position + size])
        position += size
        index += 1
    return pieces


def stream(
    pieces: list[str], min_interval: float = 0.0
) -> tuple[list[RenderUpdate], RenderUpdate, list[str]]:
    """Feed `pieces`; return the updates, the final update, and the client's blocks before it."""
    renderer = StreamRenderer(min_interval=min_interval, clock=FakeClock())
    updates = [u for u in map(renderer.feed, pieces) if u is not None]
    blocks: list[str] = []
    for update in updates:
        blocks = update.apply_to(blocks)
    return updates, renderer.finish(), blocks


@pytest.mark.parametrize("text", REALISTIC)
@pytest.mark.parametrize("sizes", [[1], [4], [3, 7, 1, 12], [1000]])
def test_streamed_blocks_are_final_and_finish_completes_them(text: str, sizes: list[int]) -> None:
    updates, final, blocks = stream(chunks(text, sizes))
    full = rendering._render_blocks(text)
    # Every block sent while streaming is already the final one: finish() adds, never resends.
    assert blocks == full[: len(blocks)]
    assert final.start == len(blocks)
    assert final.tail == ""
    assert "".join(final.apply_to(blocks)) == render_markdown(text)


# Lines chosen to sit on block boundaries: partial headings and fences, lazy continuations,
# setext underlines, tables without bodies, indentation at every depth.
AWKWARD_LINES = [
    "para text", "# head", "#", "#x", "- item", "-", "--", "---", "* star", "1. one", "2. two",
    "  indented cont", "    code", "```", "```py", "~~~", "> quote", ">", "| a | b |",
    "|---|---|", "|-|", "| 1 | 2 |", "", "", "", "   ", "\t", "===", "  - nested", "\tTab", "***",
    "foo ```", "- [ ] t", "```x`", "1)", "  ```", "   > q", "a | b", "     code5", "  1. x",
    "> - li", ">     code", "  > q2", "- ```", "+ plus", "10. ten", "> ```", "|x|",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_random_awkward_documents_stream_final_blocks(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(60):
        lines = rnd.choices(AWKWARD_LINES, k=rnd.randint(1, 16))
        text = "\n".join(lines) + rnd.choice(["", "\n"])
        _, final, blocks = stream(chunks(text, rnd.choice([[1], [2, 1, 5], [9, 3]])))
        assert (final.start, blocks) == (len(blocks), rendering._render_blocks(text)[: len(blocks)])
        assert "".join(final.apply_to(blocks)) == render_markdown(text)


def test_realistic_reply_streams_most_blocks_before_the_end() -> None:
    _, final, blocks = stream(chunks(REALISTIC[0], [4]))
    assert len(blocks) >= 9
    assert len(final.blocks) == 1


def test_finish_resends_everything_when_a_reference_comes_after_its_use() -> None:
    text = "See [the docs][d].\n\nMore text.\n\n[d]: https://example.com/docs\n"
    _, final, blocks = stream(chunks(text, [1]))
    assert blocks == ["<p>See [the docs][d].</p>\n", "<p>More text.</p>\n"]
    assert final.start == 0
    assert "".join(final.apply_to(blocks)) == render_markdown(text)
    assert f'<a href="https://example.com/docs" {LINK}>the docs</a>' in render_markdown(text)


def test_reference_defined_in_a_finished_block_serves_the_tail() -> None:
    text = "[d]: https://example.com/d\n\nIntro.\n\nThen [the docs][d] and more"
    renderer = StreamRenderer(min_interval=0, clock=FakeClock())
    tails = [u.tail for u in map(renderer.feed, chunks(text, [3])) if u is not None]
    assert (
        tails[-1] == f'<p>Then <a href="https://example.com/d" {LINK}>the docs</a> and more</p>\n'
    )
    assert renderer.finish().start == 1


def test_a_partial_line_never_finishes_a_block() -> None:
    # "#" alone is an empty heading that would end the paragraph; "#x" is paragraph text.
    renderer = StreamRenderer(min_interval=0, clock=FakeClock())
    for piece in ("para\n", "#"):
        update = renderer.feed(piece)
        assert update is not None and update.blocks == ()
    update = renderer.feed("x\n")
    assert update is not None and update.blocks == ()
    assert update.tail == "<p>para\n#x</p>\n"


def test_code_is_plain_while_the_fence_is_open_and_highlighted_once_it_closes() -> None:
    clock = FakeClock()
    renderer = StreamRenderer(min_interval=10, clock=clock)
    first = renderer.feed("```python\ndef f():\n")
    assert first is not None
    assert first.tail == (
        '<div class="code-block"><div class="code-header"><span class="code-lang">python</span>'
        f'{COPY}</div><pre><code class="language-python">def f():\n</code></pre></div>\n'
    )
    assert renderer.feed("    return 1\n") is None  # throttled, and nothing finished
    closed = renderer.feed("```\n")  # still within min_interval, but the fence is done
    assert closed is not None
    assert closed.start == 0
    assert '<span class="k">def</span>' in closed.blocks[0]
    assert closed.tail == ""


def test_a_shorter_fence_inside_a_longer_one_does_not_close_it() -> None:
    text = "````markdown\n```python\nx = 1\n```\n````\n\nAfter.\n"
    renderer = StreamRenderer(min_interval=0, clock=FakeClock())
    sent = []
    for line in text.splitlines(keepends=True):
        update = renderer.feed(line)
        assert update is not None
        sent.append(len(update.blocks))
    assert sent == [0, 0, 0, 0, 1, 0, 0]  # the outer fence finishes on its own closing line
    final = renderer.finish()
    assert (final.start, final.blocks) == (1, ("<p>After.</p>\n",))


@pytest.mark.parametrize(
    ("block", "html"),
    [
        ("> quoted\n> more\n", "<blockquote>\n<p>quoted\nmore</p>\n</blockquote>\n"),
        ("| a |\n|---|\n| 1 |\n", render_markdown("| a |\n|---|\n| 1 |")),
    ],
)
def test_a_blank_line_finishes_quotes_and_tables(block: str, html: str) -> None:
    renderer = StreamRenderer(min_interval=0, clock=FakeClock())
    first = renderer.feed(block)
    assert first is not None and first.blocks == ()
    assert renderer.feed("\n") == RenderUpdate(0, (html,), "")


def test_throttle_respects_min_interval() -> None:
    clock = FakeClock()
    renderer = StreamRenderer(min_interval=0.05, clock=clock)
    assert renderer.feed("Hello") is not None  # the first text shows at once
    clock.now = 0.03
    assert renderer.feed(" wor") is None
    clock.now = 0.049
    assert renderer.feed("ld") is None
    clock.now = 0.05
    update = renderer.feed("!")
    assert update == RenderUpdate(0, (), "<p>Hello world!</p>\n")
    clock.now = 0.08
    assert renderer.feed(" Bye") is None
    assert renderer.text == "Hello world! Bye"


def test_a_finished_block_is_sent_without_waiting_for_the_interval() -> None:
    clock = FakeClock()
    renderer = StreamRenderer(min_interval=1.0, clock=clock)
    assert renderer.feed("First paragraph.") is not None
    clock.now = 0.1
    assert renderer.feed("\n") is None  # the paragraph may still go on
    update = renderer.feed("\n")  # a blank line ends it for good
    assert update == RenderUpdate(0, ("<p>First paragraph.</p>\n",), "")
    assert renderer.feed("- item\n\n") is None  # a blank line does not end a list
    update = renderer.feed("Next\n")
    assert update == RenderUpdate(1, ("<ul>\n<li>item</li>\n</ul>\n",), "<p>Next</p>\n")


class SlowClock:
    """Each reading is 10 ms later, as if every render took that long."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.01
        return self.now


def test_expensive_renders_back_off() -> None:
    renderer = StreamRenderer(min_interval=0, clock=SlowClock())
    emitted = sum(renderer.feed("word ") is not None for _ in range(100))
    # Each update seems to take 10 ms, so the renderer rests 90 ms: one update per ten feeds.
    assert 9 <= emitted <= 12


def test_finished_text_is_never_rendered_again() -> None:
    text = "".join(f"Paragraph {i} has a few words in it.\n\n" for i in range(300))
    updates, final, blocks = stream(chunks(text, [4]))
    assert max(len(u.tail) for u in updates) < 60
    assert len(blocks) == 300
    assert final == RenderUpdate(300, (), "")
    assert "".join(final.apply_to(blocks)) == render_markdown(text)


def test_carriage_returns_split_across_deltas() -> None:
    text = "a\r\n\r\nb\rc\r\n\r\n- x\r\n"
    _, final, blocks = stream(list(text))
    assert "".join(final.apply_to(blocks)) == render_markdown(text)
    assert final.start == len(blocks) == 2


def test_finish_is_final() -> None:
    renderer = StreamRenderer(min_interval=0, clock=FakeClock())
    renderer.feed("# Hi\n\nthere")
    final = renderer.finish()
    assert renderer.finish() is final
    assert renderer.html == render_markdown("# Hi\n\nthere")
    with pytest.raises(RuntimeError):
        renderer.feed("more")


def test_empty_reply() -> None:
    renderer = StreamRenderer(clock=FakeClock())
    assert renderer.feed("") is None
    assert renderer.finish() == RenderUpdate(0, (), "")
    assert renderer.html == "" and renderer.text == ""


# --- the update protocol -------------------------------------------------------------------


def test_merging_all_updates_equals_applying_them_in_turn() -> None:
    pieces = chunks(REALISTIC[0], [5])
    renderer = StreamRenderer(min_interval=0, clock=FakeClock())
    updates = [u for u in map(renderer.feed, pieces) if u is not None]
    updates.append(renderer.finish())
    blocks: list[str] = []
    merged = updates[0]
    for index, update in enumerate(updates):
        blocks = update.apply_to(blocks)
        if index:
            merged = merged.merge(update)
        # Any prefix of the log, folded, lands the client in the same state.
        assert merged.apply_to([]) == blocks
        assert merged.tail == update.tail
    assert "".join(blocks) == render_markdown(REALISTIC[0])


def test_merge_and_apply_semantics() -> None:
    a = RenderUpdate(0, ("<p>1</p>", "<p>2</p>"), "t1")
    b = RenderUpdate(2, ("<p>3</p>",), "t2")
    c = RenderUpdate(1, ("<p>2b</p>",), "t3")
    assert a.merge(b) == RenderUpdate(0, ("<p>1</p>", "<p>2</p>", "<p>3</p>"), "t2")
    assert a.merge(b).merge(c) == RenderUpdate(0, ("<p>1</p>", "<p>2b</p>"), "t3")
    # Blocks after the ones an update sends are dropped: that is how a resend shortens the list.
    assert c.apply_to(["x", "y", "z"]) == ["x", "<p>2b</p>"]
    assert b.merge(RenderUpdate(0, ("all",), "")) == RenderUpdate(0, ("all",), "")
    with pytest.raises(ValueError):
        a.merge(RenderUpdate(3, (), ""))
    with pytest.raises(ValueError):
        b.apply_to(["only one"])


def test_to_json() -> None:
    update = RenderUpdate(3, ("<p>a</p>\n",), "<p>b</p>\n")
    assert update.to_json() == {"start": 3, "blocks": ["<p>a</p>\n"], "tail": "<p>b</p>\n"}


def seeded_stream(old: str, pieces: list[str]) -> tuple[RenderUpdate, list[str], RenderUpdate]:
    """A renderer seeded with `old` and fed `pieces`: the seed's update, the client's blocks
    (starting from nothing, as a page shows the seed) before the end, and the final update."""
    renderer = StreamRenderer(min_interval=0.0, clock=FakeClock())
    first = renderer.seed(old)
    blocks = first.apply_to([])
    for update in filter(None, map(renderer.feed, pieces)):
        blocks = update.apply_to(blocks)
    return first, blocks, renderer.finish()


@pytest.mark.parametrize("text", REALISTIC)
@pytest.mark.parametrize("cut", [0.0, 0.3, 0.5, 0.77, 1.0])
def test_a_seeded_stream_equals_a_full_render_of_the_whole_text(text: str, cut: float) -> None:
    """A reply continued from its saved text: the seed shows the old text, the new text
    follows on, and the end is a full render of old + new."""
    split = int(len(text) * cut)
    old, new = text[:split], text[split:]
    first, blocks, final = seeded_stream(old, chunks(new, [3, 1, 7]))
    assert first.start == 0
    assert "".join(final.apply_to(blocks)) == render_markdown(text)
    assert blocks == rendering._render_blocks(text)[: len(blocks)]


def test_a_seed_shows_its_text_at_once_and_the_next_delta_too() -> None:
    renderer = StreamRenderer(min_interval=10.0, clock=FakeClock())
    first = renderer.seed("# Title\n\nHalf a sen")
    assert "".join(first.blocks) + first.tail == render_markdown("# Title\n\nHalf a sen")
    update = renderer.feed("tence")
    assert update is not None and "Half a sentence" in update.tail


@pytest.mark.parametrize("old", ["line\r", "```py\nx = 1\n", ""])
def test_a_seed_ending_mid_construct_continues_exactly(old: str) -> None:
    new = "\nmore\n```\nafter"
    _, blocks, final = seeded_stream(old, list(new))
    assert "".join(final.apply_to(blocks)) == render_markdown(old + new)


def test_seed_comes_first() -> None:
    renderer = StreamRenderer()
    renderer.feed("text")
    with pytest.raises(RuntimeError):
        renderer.seed("old")


def test_renderers_streaming_at_once_share_the_rendering_time() -> None:
    def emitted(sharing: int) -> int:
        renderer = StreamRenderer(min_interval=0, clock=SlowClock(), sharing=lambda: sharing)
        return sum(renderer.feed("word ") is not None for _ in range(400))

    # Alone a renderer rests 90 ms after a 10 ms render; with 4 streaming at once, 360 ms.
    alone, shared = emitted(1), emitted(4)
    assert 36 <= alone <= 48 and 8 <= shared <= 12
