"""The demo's first start makes the console usable at once: an admin account with a random
password kept in the data dir, made only when no account exists, and the password signs in."""

from __future__ import annotations

import stat
from typing import Any

import pytest
from sqlalchemy import func, select

from settings import Settings
from storage.tables_console import StaffMember
from tests.conftest import count_rows, fetch_rows, run_sync
from tests.console.auth_client import add_member, fast_settings, login, staff_client

pytestmark = pytest.mark.db


def test_first_demo_start_makes_one_admin_and_its_password_signs_in(
    settings: Settings, embedder: Any, triager: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import serving
    from console.accounts import DEMO_ADMIN_EMAIL, DEMO_ADMIN_FILE

    app_settings = fast_settings(settings)
    with staff_client(app_settings, embedder, triager) as client:  # migrates the database
        run_sync(serving._demo_console_account(app_settings))
        path = app_settings.data_dir / DEMO_ADMIN_FILE
        email, password = path.read_text(encoding="utf-8").split()
        assert email == DEMO_ADMIN_EMAIL
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert password in capsys.readouterr().err  # shown once on the first start
        rows = fetch_rows(app_settings, select(StaffMember.email, StaffMember.role))
        assert [tuple(r) for r in rows] == [(DEMO_ADMIN_EMAIL, "admin")]
        signed = login(client, DEMO_ADMIN_EMAIL, password)
        assert signed.staff["role"] == "admin"

        # a second start changes nothing and shows no password
        run_sync(serving._demo_console_account(app_settings))
        assert path.read_text(encoding="utf-8").split() == [email, password]
        assert password not in capsys.readouterr().err
        assert count_rows(app_settings, select(func.count()).select_from(StaffMember)) == 1


def test_a_store_with_accounts_gets_no_demo_admin(
    settings: Settings, embedder: Any, triager: Any
) -> None:
    import serving
    from console.accounts import DEMO_ADMIN_FILE

    app_settings = fast_settings(settings)
    with staff_client(app_settings, embedder, triager) as client:
        add_member(client, "ada@store.example", "admin")
        run_sync(serving._demo_console_account(app_settings))
    assert not (app_settings.data_dir / DEMO_ADMIN_FILE).exists()
    rows = fetch_rows(app_settings, select(StaffMember.email))
    assert [r[0] for r in rows] == ["ada@store.example"]
