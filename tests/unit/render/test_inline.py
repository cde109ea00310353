"""The clean-up after inlining changes bytes, never what is shown (the browser tests
compare pixels); here: what it removes and what it must leave alone."""
from __future__ import annotations

from newsletter.render.inline import _DECLARATION_TOKENS, inline_css, minify_css

PAGE = """<!DOCTYPE html>
<html><head><style>
  .a { font-family: Georgia, 'Times New Roman', serif;  color : #123456; }
  .b  .c { margin: 0 0 6px; }
  .unused { color: red; }
  @media only screen and (max-width: 480px) { .keep, .b { padding: 1px !important; } }
</style></head>
<body>
    <div class="a keep other b">
        <span class="c">one</span>  <span>two</span>
        <pre class="a">  keep
      this   </pre>
    </div>
</body></html>
"""


def test_minify_keeps_strings_and_combinators():
    assert minify_css(" font-family : Georgia, 'Times  New Roman' , serif ; ", _DECLARATION_TOKENS) == \
        "font-family:Georgia,'Times  New Roman',serif;"
    assert minify_css(".b  .c >  .d , .e :hover { margin: 0  0 6px }") == ".b .c>.d,.e :hover{margin:0 0 6px}"
    assert minify_css('.x { content: " ;} " ; }') == '.x{content:" ;} "}'
    assert minify_css("@media only screen and (max-width: 480px) { .x { a: b } }") == \
        "@media only screen and (max-width:480px){.x{a:b}}"


def test_inline_css_compacts_losslessly():
    out = inline_css(PAGE)
    assert """style='font-family:Georgia,"Times New Roman",serif;color:#123456'""" in out
    assert 'class="keep b"' in out  # named by the phone rules
    assert "other" not in out and "unused" not in out and 'class="c"' not in out
    assert '<span style="margin:0 0 6px">one</span>  <span>two</span>' in out  # inline spacing kept
    assert "<pre" in out and "  keep\n      this   </pre>" in out  # preformatted text untouched
    assert "\n    " not in out.replace("\n      this", "")  # indentation gone
    assert "@media only screen and (max-width:480px){.keep,.b{padding:1px !important}}" in out


def test_rules_a_template_keeps_out_of_inlining_stay_in_a_style_block():
    page = ('<html><head><style data-premailer="ignore">.t { font-size: 15px; }</style>'
            '<style>.m { margin: 0; }</style></head>'
            '<body><p class="t m other">x</p></body></html>')
    out = inline_css(page)
    assert "<style>.t{font-size:15px}</style>" in out
    assert '<p class="t" style="margin:0">x</p>' in out
