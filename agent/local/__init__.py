"""The offline conversation engine: a chat model that runs with no network and no API key.

It reads the conversation like an LLM would and answers with the same tool calls, so every
graph, tool and guard test covers it too."""
