"""Markdown-lite for the framework's text columns: paragraphs, lists, bold/italic, links. Never raw HTML."""
from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_ALLOWED_TAGS = {"p", "ul", "ol", "li", "strong", "em", "a", "br", "blockquote", "code"}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # HTML is off, so typed tags come out as text; headings, images, tables and code blocks are not
    # part of Markdown-lite (they would break the page's heading order and load outside resources).
    return (
        MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
        .disable(["heading", "lheading", "image", "code", "fence", "html_block", "html_inline", "hr", "reference"])
    )


# German gender stars (Neuzuwander*innen, Partner*innen) are letters on both sides of a '*'; CommonMark
# would read two of them in one paragraph as emphasis. Escaping them keeps the star and **bold** works.
_GENDER_STAR = re.compile(r"(?<=\w)\*(?=\w)")


@lru_cache(maxsize=4096)
def _render(text: str) -> str:
    html = _parser().render(_GENDER_STAR.sub(r"\\*", text))
    # Second line of defence: whatever the parser emits is sanitised again.
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def render_markdown(text: str | None) -> Markup:
    if not text or not text.strip():
        return Markup("")
    return Markup(_render(text))


def plain_excerpt(text: str | None, limit: int = 180) -> str:
    """A short plain-text excerpt on a word boundary, for overviews."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.–-")
    return cut + " …"
