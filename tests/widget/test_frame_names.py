"""The widget mirrors the protocol's frame type names (STYLE.md rule 12)."""

from __future__ import annotations

import re

import widget
from channels import protocol

WIDGET_JS = widget.bundle().decode()


def js_string_list(name: str) -> set[str]:
    match = re.search(rf"const {name} = \[(.*?)\];", WIDGET_JS, re.S)
    assert match, f"widget.js has no `const {name} = [...]`"
    return set(re.findall(r'"([^"]+)"', match.group(1)))


def test_server_frame_types_match_protocol() -> None:
    assert js_string_list("SERVER_FRAME_TYPES") == set(protocol.SERVER_FRAME_TYPES)


def test_client_frame_types_match_protocol() -> None:
    assert js_string_list("CLIENT_FRAME_TYPES") == set(protocol.CLIENT_FRAME_TYPES)


def test_every_server_frame_type_has_a_handler() -> None:
    block = re.search(r"^const HANDLERS = \{\n(.*?)\n\};", WIDGET_JS, re.S | re.M)
    assert block, "widget.js has no `const HANDLERS = {...}`"
    handlers = re.findall(r"^  (\w+)\(", block.group(1), re.M)
    assert sorted(handlers) == sorted(protocol.SERVER_FRAME_TYPES)


def test_widget_sends_only_client_frame_types() -> None:
    sent = set(re.findall(r'send\(\{ type: "(\w+)"', WIDGET_JS))
    assert sent == set(protocol.CLIENT_FRAME_TYPES)
