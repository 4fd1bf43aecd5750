"""Production settings: a staff token that is long and generated, strict `Bearer` parsing,
API docs off unless asked for, list settings from plain comma-separated env values."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from settings import Settings
from tests.security.served import STAFF_TOKEN, app_client

GOOD_SECRET = secrets.token_urlsafe(32)


def prod(**values: Any) -> Settings:
    values.setdefault("secret_key", GOOD_SECRET)
    return Settings(env="prod", data_dir=Path("/tmp/unused"), **values)


@pytest.mark.parametrize(
    ("token", "complaint"),
    [
        ("x", "at least 32"),
        ("dev-staff-token", "real secret"),
        ("k3Y9qTz7Lw2Rb8Nf5Hd1Vc6Xm4Pj0G", "at least 32"),  # 30 characters
        ("changeme-changeme-changeme-changeme", "placeholder"),
        ("your-staff-token-goes-here-0123456789", "placeholder"),
        ("a" * 48, "placeholder"),
        ("0123456789" * 4, None),  # ten distinct characters: allowed, if weak
        ("k3Y9qTz7Lw2Rb8Nf 5Hd1Vc6Xm4Pj0GsAeUo", "whitespace"),
    ],
)
def test_prod_refuses_short_or_placeholder_staff_tokens(token: str, complaint: str | None) -> None:
    if complaint is None:
        assert prod(staff_token=token).staff_token.get_secret_value() == token
        return
    with pytest.raises(ValidationError, match=complaint):
        prod(staff_token=token)


def test_prod_accepts_a_generated_token_and_dev_accepts_anything() -> None:
    token = secrets.token_urlsafe(32)
    assert prod(staff_token=token).staff_token.get_secret_value() == token
    assert Settings(env="dev", staff_token="x").staff_token.get_secret_value() == "x"


def test_prod_from_the_environment_refuses_the_default_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUPPORT_ENV", "prod")
    monkeypatch.setenv("SUPPORT_SECRET_KEY", GOOD_SECRET)
    monkeypatch.delenv("SUPPORT_STAFF_TOKEN", raising=False)
    with pytest.raises(ValidationError, match="SUPPORT_STAFF_TOKEN"):
        Settings()


@pytest.mark.parametrize("name", ["allowed_origins", "trusted_proxies", "allowed_link_domains"])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://a.example, https://b.example:8443", ["https://a.example",
                                                      "https://b.example:8443"]),
        ('["https://a.example", "https://b.example:8443"]', ["https://a.example",
                                                             "https://b.example:8443"]),
        ("10.0.0.0/8", ["10.0.0.0/8"]),
        ("", []),
        (" , ", []),
    ],
)
def test_list_settings_take_comma_separated_or_json_env_values(
    monkeypatch: pytest.MonkeyPatch, name: str, raw: str, expected: list[str]
) -> None:
    monkeypatch.setenv(f"SUPPORT_{name.upper()}", raw)
    assert getattr(Settings(), name) == expected


# --- staff auth over HTTP ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(env="test", data_dir=tmp_path_factory.mktemp("prod-settings"), demo=False,
                    staff_token=SecretStr(STAFF_TOKEN))


@pytest.fixture(scope="module")
def client(module_settings: Settings, embedder: Any, triager: Any) -> Any:
    with app_client(module_settings, embedder, triager) as test_client:
        yield test_client


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_scheme_is_case_insensitive(client: Any, scheme: str) -> None:
    headers = {"Authorization": f"{scheme} {STAFF_TOKEN}"}
    response = client.get("/api/staff/actions", headers=headers)
    assert response.status_code == 200 and response.json() == []


@pytest.mark.parametrize(
    "value",
    [
        STAFF_TOKEN,  # no scheme at all (accepted before)
        f"Bearer  {STAFF_TOKEN}",  # two spaces
        f"Bearer\t{STAFF_TOKEN}",
        f"Bearer{STAFF_TOKEN}",
        f"Token {STAFF_TOKEN}",
        f"Basic {STAFF_TOKEN}",
        f"Bearer {STAFF_TOKEN} extra",
        f"Bearer {STAFF_TOKEN}x",
        f"Bearer {STAFF_TOKEN[:-1]}",
        "Bearer ",
        "Bearer",
        "",
    ],
)
def test_anything_but_exactly_bearer_and_the_token_is_401(client: Any, value: str) -> None:
    response = client.get("/api/staff/actions", headers={"Authorization": value})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_missing_authorization_is_401_with_the_challenge(client: Any) -> None:
    response = client.get("/api/staff/kb/documents")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


# --- API docs ---------------------------------------------------------------------------------

DOCS = ["/docs", "/redoc", "/openapi.json"]


def test_api_docs_are_off_by_default(client: Any) -> None:
    assert [client.get(path).status_code for path in DOCS] == [404, 404, 404]


def test_api_docs_on_when_asked(module_settings: Settings, embedder: Any, triager: Any) -> None:
    docs_on = module_settings.model_copy(update={"api_docs": True})
    with app_client(docs_on, embedder, triager) as client:
        responses = [client.get(path) for path in DOCS]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "/api/staff/actions" in responses[2].json()["paths"]
