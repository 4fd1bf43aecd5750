"""GET /metrics: the Prometheus scrape. Open in dev and test; in prod it takes the staff bearer
token, since the counts (escalations, tool failures, open sockets) describe the business."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header
from fastapi.responses import Response

import metrics
from web.deps import ServicesDep
from console.auth import staff_user

router = APIRouter()


def metrics_reader(
    services: ServicesDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    if services.settings.env == "prod":
        staff_user(services, authorization)


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(metrics_reader)])
async def scrape(services: ServicesDep) -> Response:
    return Response(await metrics.render(services.engine), media_type=metrics.CONTENT_TYPE)
