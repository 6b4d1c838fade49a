"""`make docs` builds the HTML site: every guide page, the module and role reference, offline.

The site is built once (scripts/build-docs-site.sh, as `make docs` runs it) into a temporary
directory; the build itself fails on any Sphinx warning, so a broken link or a guide page left
out of the index fails here too.  The checks then look for text taken from the sources.
"""
from __future__ import annotations

import ast
import html
import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
REFERENCE = pathlib.Path("collections/ovirt_ha/core")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("docs-site")
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        PATH=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    build = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-docs-site.sh"), str(out)],
        env=env, capture_output=True, text=True, check=False, timeout=600,
    )
    assert build.returncode == 0, f"the site did not build:\n{build.stdout}\n{build.stderr}"
    return out / "html"


SMART_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _plain(markup: str) -> str:
    """Text of an HTML fragment: tags dropped, entities and Sphinx's smart quotes undone, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).translate(SMART_QUOTES).split())


def _text(page: pathlib.Path) -> str:
    return _plain(page.read_text())


def _title(page: pathlib.Path) -> str:
    found = re.search(r"<title>(.*?)</title>", page.read_text(), re.S)
    return _plain(found.group(1)) if found else ""


def _module_doc(name: str) -> dict:
    tree = ast.parse((ROOT / "plugins" / "modules" / f"{name}.py").read_text())
    doc = next(
        node.value.value for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DOCUMENTATION"
    )
    return yaml.safe_load(doc)


def _guide_pages() -> list[str]:
    """docs/*.md and docs/roles/*.md but README.md (the landing page's text), as page names."""
    pages = [*(ROOT / "docs").glob("*.md"), *(ROOT / "docs" / "roles").glob("*.md")]
    return sorted(str(p.relative_to(ROOT / "docs").with_suffix("")) for p in pages if p.name != "README.md")


@pytest.mark.parametrize("page", _guide_pages())
def test_guide_page_is_built_with_its_title(site: pathlib.Path, page: str) -> None:
    title = (ROOT / "docs" / f"{page}.md").read_text().splitlines()[0].lstrip("# ").replace("`", "")
    built = site / f"{page}.html"
    assert built.is_file(), f"docs/{page}.md has no page in the site"
    assert _title(built).startswith(title)


def test_landing_page_is_the_guide_index_and_links_the_reference(site: pathlib.Path) -> None:
    index = (site / "index.html").read_text()
    assert "ovirt_ha.core user guide" in _text(site / "index.html")
    assert f'href="{REFERENCE}/index.html"' in index
    assert 'href="runbooks.html"' in index


def test_module_page_shows_the_module_documentation(site: pathlib.Path) -> None:
    doc = _module_doc("vm_ha")
    text = _text(site / REFERENCE / "vm_ha_module.html")
    assert doc["short_description"] in text
    for option in doc["options"]:
        assert option in text, f"vm_ha option {option} missing from its reference page"


def test_role_page_shows_the_argument_spec(site: pathlib.Path) -> None:
    spec = yaml.safe_load((ROOT / "roles" / "fencing" / "meta" / "argument_specs.yml").read_text())
    main = spec["argument_specs"]["main"]
    text = _text(site / REFERENCE / "fencing_role.html")
    assert main["short_description"] in text
    for option in main["options"]:
        assert option in text, f"fencing option {option} missing from its reference page"


def test_runbook_anchors_survive(site: pathlib.Path) -> None:
    # The Prometheus alert rules link to docs/runbooks.md#<anchor>; the site keeps those anchors.
    rules = (ROOT / "extensions" / "monitoring" / "prometheus-alerts.yml").read_text()
    anchors = set(re.findall(r"runbooks\.md#([\w-]+)", rules))
    assert anchors
    page = (site / "runbooks.html").read_text()
    for anchor in anchors:
        assert f'id="{anchor}"' in page


def test_role_readme_links_point_at_the_role_reference(site: pathlib.Path) -> None:
    assert f'href="../{REFERENCE}/fencing_role.html"' in (site / "roles" / "fencing.html").read_text()


def test_no_page_loads_anything_from_the_network(site: pathlib.Path) -> None:
    remote = re.compile(r'<(?:script|img|iframe)\b[^>]*\bsrc="(?:https?:)?//|<link\b[^>]*\bhref="(?:https?:)?//')
    offenders = [str(p.relative_to(site)) for p in site.rglob("*.html") if remote.search(p.read_text())]
    assert not offenders
