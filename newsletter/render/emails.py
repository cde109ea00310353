"""Every email the service sends is rendered here: one path, one template set per email.

An email called NAME is three templates under email/ (see templates/email/README.md):
NAME_subject.txt (one line), NAME.txt (the plain-text part) and NAME.html (the HTML
part; optional: without it the email is text only). They are looked up for the
publication first (templates.environment), and the HTML has its CSS inlined once
here. Nothing in this module knows about subscribers: per-reader values are
placeholders, filled in per message (render/personal.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, TemplateNotFound

from newsletter.errors import ConfigurationError
from newsletter.render.inline import inline_css
from newsletter.render.templates import environment
from newsletter.text import one_line

SUBJECT_LIMIT = 250  # characters; a header is folded, but a subject this long is a mistake


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str | None  # None: a text-only email
    text: str


def render_email(name: str, context: dict[str, Any], publication, settings) -> RenderedEmail:
    """`publication` (or None for emails about no publication) picks the template folder
    and is in the context as `publication`; `settings` gives the operator's templates_dir."""
    env = environment(settings.templates_dir, publication.slug if publication is not None else "")
    return render_with(env, name, {"publication": publication, **context})


def render_with(env: Environment, name: str, context: dict[str, Any]) -> RenderedEmail:
    subject = one_line(_template(env, f"email/{name}_subject.txt").render(context))
    text = _template(env, f"email/{name}.txt").render(context)
    try:
        html_template = env.get_template(f"email/{name}.html")
    except TemplateNotFound:
        markup = None
    else:
        markup = inline_css(html_template.render(context))
    return RenderedEmail(subject=subject[:SUBJECT_LIMIT], html=markup, text=text)


def _template(env: Environment, path: str):
    try:
        return env.get_template(path)
    except TemplateNotFound:
        raise ConfigurationError(f"the email template {path} is missing (templates/email/README.md "
                                 "lists the templates each email needs)") from None
