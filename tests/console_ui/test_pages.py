"""console/pages.py without a browser: the shell, its Content-Security-Policy, the static files
and the names that must not reach outside console/static/."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from console.pages import CONSOLE_POLICY, router, static_file


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


def test_the_shell_has_the_strict_policy(client: TestClient) -> None:
    page = client.get("/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CONSOLE_POLICY
    assert page.headers["cache-control"] == "no-store"
    directives = dict(d.strip().split(" ", 1) for d in CONSOLE_POLICY.split(";"))
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'self'"
    assert "unsafe" not in CONSOLE_POLICY
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    # no inline script or style in the shell: everything comes from files
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    assert "<style" not in page.text and " style=" not in page.text
    assert client.get("/console/", follow_redirects=False).headers["location"] == "/console"


def test_every_module_the_shell_needs_is_served(client: TestClient) -> None:
    folder = resources.files("console").joinpath("static")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith((".js", ".css")))
    assert "app.js" in names and "console.css" in names
    for name in names:
        answer = client.get(f"/console/static/{name}")
        assert answer.status_code == 200, name
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        assert answer.headers["content-type"].startswith(kind)
        assert answer.headers["etag"]
    # every relative import between modules names a file that exists
    for name in names:
        text = folder.joinpath(name).read_text(encoding="utf-8")
        for target in re.findall(r'from "\./([\w.-]+)"', text):
            assert target in names, f"{name} imports {target}"


def test_no_module_writes_html_from_strings() -> None:
    folder = resources.files("console").joinpath("static")
    for item in folder.iterdir():
        if item.name.endswith(".js"):
            text = item.read_text(encoding="utf-8")
            for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                         "eval(", "new Function"):
                assert sink not in text, f"{item.name} uses {sink}"


@pytest.mark.parametrize(
    "name", ["../pages.py", "..%2Fpages.py", ".hidden.js", "index.html", "missing.js", "x.py"]
)
def test_other_names_are_not_found(client: TestClient, name: str) -> None:
    assert client.get(f"/console/static/{name}").status_code == 404


def test_static_file_refuses_paths() -> None:
    for name in ["", "../__init__.py", "sub/app.js", "..\\\\pages.py", ".x"]:
        with pytest.raises(FileNotFoundError):
            static_file(name)
    assert static_file("app.js").startswith(b"//")
