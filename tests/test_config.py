"""Settings: defaults, .env file, environment precedence, refusing dev keys off the dev chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from giftcert.config import (
    ANVIL_DEV_KEYS,
    PROJECT_ROOT,
    ConfigError,
    Settings,
    load_settings,
)

OWN_KEY = "0x" + "11" * 32


def settings(tmp_path: Path, **env: str) -> Settings:
    """Settings from `env` only: no .env file, nothing from the real environment."""
    return load_settings(env_file=tmp_path / "missing.env", environ=env)


def test_defaults_are_the_local_dev_chain(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert s.rpc_url == "http://127.0.0.1:8545"
    assert s.chain_id == 31337
    assert s.deployer_key == ANVIL_DEV_KEYS[0]
    assert s.web_url == "http://127.0.0.1:5000"
    assert s.anvil_port == 8545
    assert s.state_dir == PROJECT_ROOT / ".giftcert"
    assert s.database_url == f"sqlite:///{PROJECT_ROOT / '.giftcert' / 'giftcert.db'}"


def test_ten_dev_keys_match_anvil_accounts() -> None:
    from eth_account import Account

    assert len(set(ANVIL_DEV_KEYS)) == 10
    first = Account.from_key(ANVIL_DEV_KEYS[0]).address
    assert first == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_missing_key_refused_on_mainnet(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GIFTCERT_DEPLOYER_KEY"):
        settings(tmp_path, GIFTCERT_CHAIN_ID="1")


@pytest.mark.parametrize("key", [ANVIL_DEV_KEYS[0], ANVIL_DEV_KEYS[9][2:].upper()])
def test_dev_key_refused_on_mainnet(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match="dev keys") as info:
        settings(tmp_path, GIFTCERT_CHAIN_ID="1", GIFTCERT_DEPLOYER_KEY=key)
    assert key.lower().removeprefix("0x") not in str(info.value).lower()


def test_own_key_accepted_on_mainnet(tmp_path: Path) -> None:
    s = settings(tmp_path, GIFTCERT_CHAIN_ID="1", GIFTCERT_DEPLOYER_KEY=OWN_KEY[2:])
    assert s.deployer_key == OWN_KEY
    assert not s.is_dev_chain


def test_malformed_key_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        settings(tmp_path, GIFTCERT_DEPLOYER_KEY="0x1234secret")
    assert "secret" not in str(info.value)


def test_repr_hides_the_key(tmp_path: Path) -> None:
    s = settings(tmp_path, GIFTCERT_CHAIN_ID="5", GIFTCERT_DEPLOYER_KEY=OWN_KEY)
    assert "11" * 32 not in repr(s)
    assert "11" * 32 not in str(s)
    assert "<hidden>" in repr(s)


def test_env_file_read_and_environment_wins(tmp_path: Path, monkeypatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "GIFTCERT_RPC_URL=https://rpc.example.org\n"
        "GIFTCERT_CHAIN_ID=11155111\n"
        f"GIFTCERT_DEPLOYER_KEY={OWN_KEY}\n"
        "GIFTCERT_WEB_PORT=8080\n"
        "GIFTCERT_STATE_DIR=/var/lib/giftcert\n"
        "GIFTCERT_DATABASE_URL=postgresql://db/giftcert\n"
    )
    monkeypatch.setenv("GIFTCERT_WEB_PORT", "9090")
    s = load_settings(env_file)
    assert s.rpc_url == "https://rpc.example.org"
    assert s.chain_id == 11155111
    assert s.deployer_key == OWN_KEY
    assert s.web_port == 9090  # environment beats the file
    assert s.state_dir == Path("/var/lib/giftcert")
    assert s.database_url == "postgresql://db/giftcert"


def test_rpc_url_follows_anvil_port(tmp_path: Path) -> None:
    assert settings(tmp_path, GIFTCERT_ANVIL_PORT="9545").rpc_url == "http://127.0.0.1:9545"


def test_bad_integer_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GIFTCERT_WEB_PORT"):
        settings(tmp_path, GIFTCERT_WEB_PORT="eighty")


def test_signer_key_and_deployments_dir_from_settings(tmp_path: Path) -> None:
    signer = "0x" + "22" * 32
    s = settings(tmp_path, GIFTCERT_SIGNER_KEY=signer, GIFTCERT_DEPLOYMENTS_DIR=str(tmp_path / "d"))
    assert s.signer_key == signer and s.deployments_dir == tmp_path / "d"
    assert "22" * 32 not in repr(s)
    assert settings(tmp_path).signer_key is None


def test_trusted_proxies_default_to_none_and_refuse_a_negative_count(tmp_path: Path) -> None:
    assert settings(tmp_path).trusted_proxies == 0
    assert settings(tmp_path, GIFTCERT_TRUSTED_PROXIES="2").trusted_proxies == 2
    with pytest.raises(ConfigError, match="GIFTCERT_TRUSTED_PROXIES must not be negative"):
        settings(tmp_path, GIFTCERT_TRUSTED_PROXIES="-1")
