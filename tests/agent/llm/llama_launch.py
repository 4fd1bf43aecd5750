"""Starts llama-cpp-python's server with the CPU's extra weight buffers (AMX repacking) off.

On these machines the CPU reports AMX, llama.cpp repacks the weights for it, and the first
completion dies with SIGILL (the process is not granted AMX tile state). The server has no
option for it, so this sets `use_extra_bufts=False` in the model's default parameters and runs
the server's own entry point with the same arguments: python -m tests.agent.llm.llama_launch
--model F --host 127.0.0.1 --port P ...
"""

from __future__ import annotations

import sys
from typing import Any

from llama_cpp import llama as llama_module
from llama_cpp import llama_cpp as native

_default_params = native.llama_model_default_params


def _no_extra_buffers() -> Any:
    params = _default_params()
    params.use_extra_bufts = False
    return params


llama_module.llama_cpp.llama_model_default_params = _no_extra_buffers  # type: ignore[attr-defined]

if __name__ == "__main__":
    from llama_cpp.server.__main__ import main

    sys.exit(main())
