"""CSS inlining, once per rendered email: premailer, then a lossless clean-up.

Every rule of the template's <style> block is copied into the style attributes
of the elements it applies to: inline styles are the one thing every mail client
honours. What premailer cannot inline (@media rules for phones) stays in one
<style> block, and so does any <style data-premailer="ignore"> block a template
keeps on purpose. Then, on the same lxml tree, nothing that changes rendering:

- class attributes that no remaining <style> rule refers to are dropped;
- style values lose the white space around ':', ';' and ',' (not inside quotes);
- indentation goes (a run of white space with a line break becomes one line break:
  both render as one space, and a hard line break is cheaper than the soft breaks
  quoted-printable adds to long lines);
- the remaining <style> text is minified the same way.
"""
from __future__ import annotations

import logging
import re

from lxml import etree
from premailer import Premailer

_KEEP_WHITESPACE = {"pre", "textarea", "script", "style"}
_INDENT = re.compile(r"[ \t]*\n[ \t\n]*")
_CLASS_IN_CSS = re.compile(r"\.(-?[A-Za-z_][\w-]*)")
# CSS punctuation around which white space means nothing (outside quoted strings). Only
# the space after a colon: the space before one is a descendant combinator (".a :hover").
_CSS_TOKENS = re.compile(r"""("[^"]*"|'[^']*')|\s*;\s*(?=})|\s*([{};,>])\s*|(:)\s*|(\s+)""")
# In a style attribute (declarations only) the space before a colon goes too.
_DECLARATION_TOKENS = re.compile(r"""("[^"]*"|'[^']*')|\s*([;:,])\s*|(\s+)""")


def inline_css(markup: str, clean_up: bool = True) -> str:
    """`clean_up=False`: premailer alone, as the service did before (the browser tests
    compare the two pixel by pixel)."""
    markup = markup.strip()
    tree = etree.fromstring(markup, etree.HTMLParser()).getroottree()
    # lxml invents a DOCTYPE where there was none; serialise the element then, as premailer does.
    document = tree if markup[:9].lower() == "<!doctype" else tree.getroot()
    Premailer(
        allow_network=False, keep_style_tags=False, strip_important=False,
        disable_validation=True, cssutils_logging_level=logging.CRITICAL,
        remove_classes=False, base_url=None,
    ).transform(tree.getroot())
    if not clean_up:
        return etree.tostring(document, method="html", encoding="unicode")
    compact(tree.getroot())
    out = etree.tostring(document, method="html", encoding="unicode")
    # The invisible padding after the preheader: an entity is 6 bytes in the
    # quoted-printable body, the raw character 9.
    return out.replace("\u200c", "&zwnj;")


def compact(root: etree._Element) -> None:
    """The lossless clean-up described above, in place."""
    styles = [el for el in root.iter("style")]
    for el in styles:
        el.text = minify_css(el.text or "")
    used = {name for el in styles for name in _CLASS_IN_CSS.findall(el.text)}
    for el in root.iter(etree.Element):
        if (style := el.get("style")) is not None:
            el.set("style", minify_css(style, _DECLARATION_TOKENS).rstrip(";"))
        if (classes := el.get("class")) is not None:
            kept = [c for c in classes.split() if c in used]
            if kept:
                el.set("class", " ".join(kept))
            else:
                del el.attrib["class"]
        if el.tag not in _KEEP_WHITESPACE and el.text and "\n" in el.text:
            el.text = _INDENT.sub("\n", el.text)
        parent = el.getparent()
        if el.tail and "\n" in el.tail and (parent is None or parent.tag not in _KEEP_WHITESPACE):
            el.tail = _INDENT.sub("\n", el.tail)


def minify_css(css: str, tokens: re.Pattern = _CSS_TOKENS) -> str:
    """White space around punctuation removed, other runs made one space; strings kept."""
    def token(m: re.Match) -> str:
        if m.lastindex is None:
            return ""  # the last ';' of a rule
        kept = m.group(m.lastindex)  # a quoted string, a punctuation mark, or white space
        return " " if kept.isspace() else kept
    return tokens.sub(token, css).strip()
