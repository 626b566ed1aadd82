"""A faster renderer for the Django template language, equal to Django's by construction.

`compile_template(template)` turns a parsed Django `Template` (its parents found once) into
closures; `FastTemplate.render(template, context)` then renders as `template.render(context)`
does, in the same real Context, and leaves to Django every node it does not know.
tests/proxy/test_fast_render_differential.py holds the proof of equality.
"""

from ._template import FastTemplate, compile_template

__all__ = ["FastTemplate", "compile_template"]
