"""Sphinx configuration for the SiPyCo documentation.

The API pages are generated from the docstrings of the modules under
``packages/*/src/sipyco``; the command-line page from the argparse parser
of ``sipyco_rpctool``.  Build with ``hatch run docs`` (warnings are errors).
"""

import inspect
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Every distribution's source tree, so the build reads the working tree even
# where the distributions are not installed ("sipyco" is a PEP 420 namespace
# package: each of these directories adds its modules to it).
for src in sorted(ROOT.glob("packages/*/src")):
    if str(src) not in sys.path:
        sys.path.insert(0, str(src))

project = "SiPyCo"
author = "the SiPyCo contributors"
copyright = "the SiPyCo contributors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinxarg.ext",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
# architecture.md is Markdown, which this build does not read (that would
# take another dependency); it stays a file to read on GitHub.
exclude_patterns = ["_build", "architecture.md"]

# A page's cross-references must all resolve: a broken one fails the build.
nitpicky = True

autodoc_default_options = {
    # Every name in the module's __all__ (autodoc follows __all__ when the
    # module has one), documented or not, classes with their methods.
    "members": True,
    "undoc-members": True,
    "show-inheritance": True,
}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"

# Option names and quotes in help texts must read exactly as typed: no
# "--timeout" turned into an en dash, no curly quotes.
smartquotes = False

html_theme = "alabaster"
html_title = "SiPyCo documentation"

# The build runs offline, so references into Python's own documentation
# (intersphinx) cannot resolve; they are left as plain text rather than
# reported.  References to SiPyCo's own objects must all resolve.
_STDLIB = sorted(name for name in sys.stdlib_module_names if not name.startswith("_"))
nitpick_ignore_regex = [
    (r"py:.*", rf"_?({'|'.join(_STDLIB)})(\..*)?"),
    # SiPyCo's private modules and classes (a base class, a type hint)
    # are not documented: they show as plain text.
    (r"py:.*", r"sipyco(\.\w+)*\._\w*(\..*)?"),
]


def _public_home_only(directive_class):
    """A Python-domain directive that drops a ``:canonical:`` name inside a
    private module (autodoc adds one when a public module re-exports an
    object defined in, say, ``sipyco._logfmt``): the public module is the
    object's documented home, and two public modules re-exporting the same
    object would otherwise both claim the private name."""

    class PublicHomeOnly(directive_class):
        def run(self):
            canonical = self.options.get("canonical", "")
            if any(part.startswith("_") for part in canonical.split(".")):
                del self.options["canonical"]
            return super().run()

    PublicHomeOnly.__name__ = directive_class.__name__
    return PublicHomeOnly


def _attr_docs(modname):
    """The ``#:`` comments of a module's top-level names."""
    from sphinx.errors import PycodeError
    from sphinx.pycode import ModuleAnalyzer

    try:
        docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
    except PycodeError:
        return {}
    return {attr: lines for (scope, attr), lines in docs.items() if scope == ""}


def _values_autodoc_skips(module):
    """Names in ``module.__all__`` that automodule leaves out: plain values
    (not classes, functions or modules) that have no ``#:`` comment in the
    module's own source, typically constants it imports from a private
    module."""
    own = _attr_docs(module.__name__)
    for name in getattr(module, "__all__", ()):
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isroutine(value) or inspect.ismodule(value):
            continue
        if name not in own:
            yield name, value


def _comment_where_defined(name, value):
    """The ``#:`` comment of the SiPyCo module that defines ``name``."""
    for modname, module in sorted(sys.modules.items()):
        if modname.startswith("sipyco.") and getattr(module, name, None) is value:
            lines = _attr_docs(modname).get(name)
            if lines:
                return lines
    return []


def _document_imported_values(app, what, name, obj, options, lines):
    """Append, after a module's docstring, a ``py:data`` entry for each
    value of its ``__all__`` that automodule would skip, with the comment
    written where the value is defined: every name in ``__all__`` is then
    documented under the module that exports it."""
    if what != "module":
        return
    for attr, value in _values_autodoc_skips(obj):
        lines.extend(["", f".. py:data:: {attr}", f"   :value: {value!r}", ""])
        lines.extend(f"   {line}" if line else "" for line in _comment_where_defined(attr, value))


def setup(app):
    from sphinx.domains.python import PythonDomain

    app.connect("autodoc-process-docstring", _document_imported_values)

    for name, directive_class in PythonDomain.directives.items():
        if "canonical" in (getattr(directive_class, "option_spec", None) or {}):
            app.add_directive_to_domain("py", name, _public_home_only(directive_class),
                                        override=True)
    return {"parallel_read_safe": True}
