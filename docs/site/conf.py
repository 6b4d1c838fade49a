"""Sphinx configuration of the documentation site (built by scripts/build-docs-site.sh, `make docs`).

The source directory is assembled under .build/docs-site/src: this directory's index.md, the
user-guide pages of docs/ at their own relative paths, and the module and role reference that
antsibull-docs renders from the collection under collections/.  The build is offline: no
intersphinx inventories, and the theme's analytics, ads and remote search stay switched off.
"""
from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from docutils.transforms import Transform
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

project = "ovirt_ha.core"
copyright = "ovirt_ha.core maintainers"  # pylint: disable=redefined-builtin
title = "ovirt_ha.core documentation"
html_short_title = "ovirt_ha.core"

extensions = ["myst_parser", "sphinx_antsibull_ext"]

root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# docs/README.md is the landing page's text (included by index.md), not a page of its own.
exclude_patterns = ["README.md"]

# Every reference must resolve: the -n (nitpicky) build turns a dangling one into an error.
nitpicky = True
default_role = "any"
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}

# Markdown: "#" headings get anchors so pages can link to page.md#section.
myst_heading_anchors = 3
myst_enable_extensions = ["deflist"]

pygments_style = "ansible"
highlight_language = "YAML+Jinja"

html_theme = "sphinx_ansible_theme"
html_theme_options = {
    "show_extranav": False,
    "show_rtd_ethical_ads": False,
    "display_version": False,
    "documentation_home_url": "index.html",
    "topbar_links": {},  # the Ansible project's blog and forum links, not this collection's
}
html_title = title
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

# Labels of the Ansible documentation that antsibull-docs' pages refer to.  Without intersphinx
# (no network at build time) they become plain links to docs.ansible.com; any other unresolved
# label still fails the build.
ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/latest/"
ANSIBLE_DOCS_LABELS = {
    "common_return_values": "reference_appendices/common_return_values.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
}

# A guide page's link to a role's README (roles/NAME/README.md, outside docs/, generated from the
# role's meta/argument_specs.yml) goes to the role's reference page, rendered from the same file.
ROLE_README = re.compile(r"^(?:\.\./)+roles/(?P<role>\w+)/README\.md$")
ROLE_PAGE = "collections/ovirt_ha/core/{role}_role"

# The guide pages mark anchors that outlive heading rewording (alert rules' runbook_url point at
# them) with a raw <a id="..."></a> line before the heading, which GitHub renders too.
HTML_ANCHOR = re.compile(r'^<a id="(?P<id>[\w-]+)"></a>$')


class HtmlAnchorTargets(Transform):
    """Turn <a id="x"></a> lines into targets, so [text](page.md#x) links resolve and are checked."""

    default_priority = 250  # before docutils' PropagateTargets (260) moves them onto the next section

    def apply(self, **kwargs: Any) -> None:
        # Markdown parses the line as a paragraph of two inline raw nodes: <a id="x"> and </a>.
        for para in list(self.document.findall(nodes.paragraph)):
            if not all(isinstance(child, nodes.raw) and child.get("format") == "html" for child in para.children):
                continue
            match = HTML_ANCHOR.match("".join(child.astext() for child in para.children).strip())
            if match:
                target = nodes.target("", "", ids=[match["id"]], names=[match["id"]])
                self.document.note_explicit_target(target, target)
                para.replace_self(target)


class RoleReadmeLinks(SphinxPostTransform):
    """Point links to roles/NAME/README.md at the role's reference page."""

    default_priority = 8  # before myst-parser resolves Markdown links (9)

    def run(self, **kwargs: Any) -> None:
        for node in self.document.findall(addnodes.pending_xref):
            match = ROLE_README.match(node.get("reftarget", ""))
            if node.get("reftype") == "myst" and match:
                node["refdomain"] = "doc"
                node["reftarget"] = ROLE_PAGE.format(role=match["role"])
                node["reftargetid"] = None


def ansible_docs_link(
    app: Sphinx, env: Any, node: addnodes.pending_xref, contnode: nodes.Element
) -> nodes.reference | None:
    """Resolve the known Ansible documentation labels to external links."""
    page = ANSIBLE_DOCS_LABELS.get(node.get("reftarget", ""))
    if node.get("reftype") != "ref" or page is None:
        return None
    link = nodes.reference("", "", internal=False, refuri=ANSIBLE_DOCS + page)
    link += contnode
    return link


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_transform(HtmlAnchorTargets)
    app.add_post_transform(RoleReadmeLinks)
    app.connect("missing-reference", ansible_docs_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
