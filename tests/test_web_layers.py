"""The shape of the API layer, checked on the source: pages and routers call actions, never each
other; the web layers import one way (session/forms → render → pages); role sets live in
api/access.py only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from support.imports import imports_of as _imports

API = Path(__file__).resolve().parents[1] / "api"
ROLE_NAMES = {"admin", "reviewer", "operator", "grid_worker", "department", "deputy"}
ROLE_MEMBERS = {"ADMIN", "REVIEWER", "OPERATOR", "GRID_WORKER", "DEPARTMENT", "DEPUTY"}


def _modules(folder: str) -> list[Path]:
    return sorted(p for p in (API / folder).glob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("name", ["session.py", "forms.py"])
def test_session_and_forms_import_nothing_from_the_web_layer(name: str) -> None:
    web = {m for m in _imports(API / "web" / name) if m.startswith("api.web")}
    assert not web, f"api/web/{name} imports {sorted(web)}"


def test_render_imports_only_the_layers_below_it() -> None:
    allowed = ("api.web.session", "api.web.forms", "api.web.labels")
    web = [m for m in _imports(API / "web" / "render.py") if m.startswith("api.web.")]
    above = [m for m in web if not any(m == a or m.startswith(a + ".") for a in allowed)]
    assert not above, f"api/web/render.py imports pages: {above}"


@pytest.mark.parametrize(
    "path", _modules("web") + _modules("actions"), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_pages_and_actions_never_import_routers(path: Path) -> None:
    routers = {m for m in _imports(path) if m.startswith("api.routers")}
    assert not routers, f"{path.name} imports route modules {sorted(routers)}: call api.actions instead"


@pytest.mark.parametrize("path", _modules("actions"), ids=lambda p: p.name)
def test_actions_import_no_web_code(path: Path) -> None:
    web = {m for m in _imports(path) if m.startswith(("api.web", "fastapi", "starlette.responses"))}
    assert not web, f"actions/{path.name} imports {sorted(web)}"


def _role_sets(path: Path) -> list[int]:
    """Lines of set/frozenset literals made of role names or Role members."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Set):
            continue
        names = set()
        for element in node.elts:
            if isinstance(element, ast.Constant) and isinstance(element.value, str):
                names.add(element.value)
            elif isinstance(element, ast.Attribute):
                names.add(element.attr)
        if names and (names <= ROLE_NAMES or names <= ROLE_MEMBERS):
            lines.append(node.lineno)
    return lines


def test_role_sets_live_in_access_only() -> None:
    found = {
        str(p.relative_to(API)): lines
        for p in API.rglob("*.py")
        if p.name != "access.py" and (lines := _role_sets(p))
    }
    assert not found, f"role sets outside api/access.py: {found}"
