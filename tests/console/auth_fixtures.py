"""The app the staff sign-in tests drive: throttle limits of 3 per account and 6 per IP, a
10-minute idle and 1-hour absolute session (`app_settings`), and a TestClient over it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from settings import Settings
from tests.console.auth_client import fast_settings, staff_client


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return fast_settings(
        settings,
        staff_login_account_limit=3,
        staff_login_ip_limit=6,
        staff_session_idle_s=600,
        staff_session_max_s=3600,
    )


@pytest.fixture
def client(app_settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    with staff_client(app_settings, embedder, triager) as made:
        yield made

