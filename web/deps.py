"""Request dependencies taken from the app's composition root (`app.state.services`, built by
`services.py`). Both `channels/` and `console/` take them from here, so neither imports the
other."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request


def get_services(request: Request) -> Any:
    return request.app.state.services


ServicesDep = Annotated[Any, Depends(get_services)]
