"""The offline engine binds each tool set once (agent/local/engine.py `bind_tools`): the agent
binds its tools on every model step, and a fresh model copy per step was serialised again for
LangChain's callbacks each time."""

from __future__ import annotations

from typing import Any

from agent.local.engine import LocalChatModel
from agent.local.intents import IntentClassifier
from agent.local.state import Persona
from tests.agent.test_local_engine import Chat, tools


def test_one_bound_model_per_tool_set(embedder: Any) -> None:
    model = LocalChatModel(
        intents=IntentClassifier(embedder), persona=Persona("Northwind", "s@example.com")
    )
    a = model.bind_tools([{"name": "get_order"}, {"name": "verify_customer"}])
    again = model.bind_tools([{"name": "verify_customer"}, {"name": "get_order"}])
    other = model.bind_tools([{"name": "get_order"}])
    assert a is again  # the same set in another order is the same model
    assert a.tool_names == frozenset({"get_order", "verify_customer"})
    assert other is not a and other.tool_names == frozenset({"get_order"})
    assert model.tool_names == frozenset()  # the unbound model is left as it was
    assert a.bind_tools([{"name": "get_order"}]) is other  # copies share the cache


async def test_turns_reuse_the_bound_model(make_services: Any) -> None:
    services = await make_services()
    chat = Chat(services)
    await chat.say("hello")
    result = await chat.say("ada@example.com, order 1002")
    assert tools(result) == [("verify_customer", True), ("get_order", True)]
    bound = services.model._bound  # three model steps over two turns, one tool set
    assert len(bound) == 1
    (model,) = bound.values()
    assert model.tool_names == frozenset(t.name for t in services.tools)
