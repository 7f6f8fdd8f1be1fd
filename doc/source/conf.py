"""Sphinx configuration of the reqspec devref."""

project = "reqspec"
copyright = "2026, the reqspec developers"
author = "the reqspec developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "oslo_config.sphinxext",
]

exclude_patterns: list[str] = []
html_theme = "alabaster"
nitpicky = False
autodoc_member_order = "bysource"
