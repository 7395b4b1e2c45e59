"""For teachers: exercise variants with answer keys (``generate``) and a class's answers graded
with feedback on the first slip (``grade``)."""

from __future__ import annotations

from .template import Template, load_template, template_from_dict
from .variants import Variant, build_variant, generate_variants

__all__ = [
    "Template",
    "Variant",
    "build_variant",
    "generate_variants",
    "load_template",
    "template_from_dict",
]
