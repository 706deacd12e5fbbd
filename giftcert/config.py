"""Settings from the environment and `.env` (the environment wins over the file).

The same code talks to the local anvil chain or any EVM network; only these settings change.
The deployer key defaults to anvil's first dev key on the dev chain (31337) and nowhere else:
a well-known key on a real chain is an invitation to lose funds, so it is refused outright.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from giftcert.errors import GiftCertError

PROJECT_ROOT: Path = Path(__file__).resolve().parent.parent

DEV_CHAIN_ID = 31337

# The 10 keys anvil derives from "test test ... junk"; everyone on the internet knows them.
ANVIL_DEV_KEYS: list[str] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
]

_KEY_RE = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


class ConfigError(GiftCertError):
    """A setting is missing or unsafe; the message says which variable to set."""


RELAY_OPERATIONS = ("claim", "transfer", "split", "merge", "cash-out", "open-tab",
                    "request-tab-close", "close-tab")
RELAY_PREFERENCES = ("when-needed", "always")
# anvil's dev key 9: the demo and the tests give keys 0-8 roles (admin, giver, holder, friend,
# merchants, sign-in tests), so the relayer's nonce is its own.
DEV_RELAYER_KEY_INDEX = 9


@dataclass(frozen=True)
class RelaySettings:
    """The sponsor relay's limits (GIFTCERT_RELAY_*); see docs/relay.md."""

    per_address_day: int = 20  # accepted requests naming an address (signer or recipient)
    per_ip_day: int = 50  # accepted requests from one client IP
    gas_budget_day: int = 20_000_000  # gas the relayer may spend per UTC day
    operations: tuple[str, ...] = RELAY_OPERATIONS
    prefer: str = "when-needed"  # pages: offer "no gas needed" when-needed or always
    stuck_seconds: float = 60.0  # a sent transaction not mined by then is re-sent at a higher fee
    keeper: str = "thread"  # "thread": each web process runs a keeper; "off": another does


@dataclass(frozen=True)
class Settings:
    rpc_url: str
    chain_id: int
    deployer_key: str
    database_url: str
    web_host: str
    web_port: int
    anvil_port: int
    state_dir: Path
    # Who the CLI acts as when no --account is given (default: the deployer).
    signer_key: str | None = None
    deployments_dir: Path = PROJECT_ROOT / "deployments"
    # Web processes (GIFTCERT_INDEXER): "in-process" follows the chain in a thread of each web
    # process (`make run`: one process, SQLite); "service" only reads the index, which one
    # `giftcert index --follow` writes (production: several workers, PostgreSQL).
    indexer_mode: str = "in-process"
    # The site's public origin (GIFTCERT_PUBLIC_ORIGIN, e.g. https://gifts.example): the domain
    # and URI of Sign-In with Ethereum messages, never taken from a request's Host header.
    # Default: web_url (the local dev site).
    public_origin: str | None = None
    # The sign-in cookie's name (GIFTCERT_SESSION_COOKIE); default: one per chain and contract.
    session_cookie: str | None = None
    # How long a web process trusts the latest block it read (number and time): the clock
    # expiry is judged by (GIFTCERT_CHAIN_CACHE_SECONDS).
    chain_cache_seconds: float = 2.0
    # The sponsor relay (giftcert/relay, docs/relay.md): the key that pays gas for claims and
    # signed holder actions (GIFTCERT_RELAYER_KEY; dev chain: anvil's dev key 9; None: no relay).
    relayer_key: str | None = None
    relay: RelaySettings = field(default_factory=lambda: RelaySettings())
    # GIFTCERT_TRUSTED_PROXIES: how many reverse proxies stand in front of the site. Each one
    # appends the address it saw to X-Forwarded-For; the client is the one that many from the
    # end. 0 (the default) ignores the header: anyone can write it, so trusting it without a
    # proxy would let a caller choose the address the relay's per-IP limit counts.
    trusted_proxies: int = 0

    def __repr__(self) -> str:
        # Keys must never reach a log line, a traceback or a test report.
        return (
            f"Settings(rpc_url={self.rpc_url!r}, chain_id={self.chain_id}, "
            f"deployer_key='<hidden>', signer_key='<hidden>', "
            f"database_url={self.database_url!r}, deployments_dir={str(self.deployments_dir)!r}, "
            f"web_host={self.web_host!r}, web_port={self.web_port}, "
            f"anvil_port={self.anvil_port}, state_dir={str(self.state_dir)!r}, "
            f"indexer_mode={self.indexer_mode!r}, public_origin={self.origin!r}, "
            f"relayer_key='<hidden>', relay={self.relay!r})"
        )

    __str__ = __repr__

    @property
    def is_dev_chain(self) -> bool:
        return self.chain_id == DEV_CHAIN_ID

    @property
    def web_url(self) -> str:
        return f"http://{self.web_host}:{self.web_port}"

    @property
    def origin(self) -> str:
        """The site's public origin (scheme://host[:port], no path)."""
        return self.public_origin or self.web_url

    @property
    def serves_index_from_service(self) -> bool:
        """Whether web processes leave following the chain to `giftcert index --follow`."""
        return self.indexer_mode == "service"

    @property
    def anvil_state_file(self) -> Path:
        return self.state_dir / "anvil-state.json"


def load_settings(
    env_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Reads settings from `environ` (default os.environ) over `env_file` (default ./.env)."""
    values = _merged_values(env_file, os.environ if environ is None else environ)
    anvil_port = _int(values, "GIFTCERT_ANVIL_PORT", 8545)
    chain_id = _int(values, "GIFTCERT_CHAIN_ID", DEV_CHAIN_ID)
    state_dir = _project_path(values.get("GIFTCERT_STATE_DIR") or ".giftcert")
    default_db = f"sqlite:///{state_dir / 'giftcert.db'}"
    return Settings(
        rpc_url=values.get("GIFTCERT_RPC_URL") or f"http://127.0.0.1:{anvil_port}",
        chain_id=chain_id,
        deployer_key=_deployer_key(values.get("GIFTCERT_DEPLOYER_KEY"), chain_id),
        database_url=values.get("GIFTCERT_DATABASE_URL") or default_db,
        web_host=values.get("GIFTCERT_WEB_HOST") or "127.0.0.1",
        web_port=_int(values, "GIFTCERT_WEB_PORT", 5000),
        anvil_port=anvil_port,
        state_dir=state_dir,
        signer_key=_optional_key(values.get("GIFTCERT_SIGNER_KEY")),
        deployments_dir=_project_path(values.get("GIFTCERT_DEPLOYMENTS_DIR") or "deployments"),
        indexer_mode=_indexer_mode(values.get("GIFTCERT_INDEXER")),
        public_origin=_origin(values.get("GIFTCERT_PUBLIC_ORIGIN")),
        session_cookie=_cookie_name(values.get("GIFTCERT_SESSION_COOKIE")),
        chain_cache_seconds=_seconds(values, "GIFTCERT_CHAIN_CACHE_SECONDS", 2.0),
        relayer_key=_relayer_key(values.get("GIFTCERT_RELAYER_KEY"), chain_id),
        relay=_relay_settings(values),
        trusted_proxies=_count(values, "GIFTCERT_TRUSTED_PROXIES", 0),
    )


def _relayer_key(raw: str | None, chain_id: int) -> str | None:
    """The relayer's key: given, else anvil's dev key 9 on the dev chain, else none (no relay).
    "off" turns the relay off anywhere. A public dev key is refused off the dev chain."""
    if raw and raw.lower() in ("off", "none", "0", "false"):
        return None
    if not raw:
        return ANVIL_DEV_KEYS[DEV_RELAYER_KEY_INDEX] if chain_id == DEV_CHAIN_ID else None
    if not _KEY_RE.match(raw):
        raise ConfigError("GIFTCERT_RELAYER_KEY must be 64 hex digits (0x prefix optional), "
                          "or off")
    key = "0x" + raw.removeprefix("0x").lower()
    if chain_id != DEV_CHAIN_ID and key in ANVIL_DEV_KEYS:
        raise ConfigError(f"GIFTCERT_RELAYER_KEY is one of anvil's public dev keys; refusing it "
                          f"on chain id {chain_id}: anyone could spend its funds")
    return key


def _relay_settings(values: Mapping[str, str]) -> RelaySettings:
    defaults = RelaySettings()
    return RelaySettings(
        per_address_day=_count(values, "GIFTCERT_RELAY_PER_ADDRESS_DAY",
                               defaults.per_address_day),
        per_ip_day=_count(values, "GIFTCERT_RELAY_PER_IP_DAY", defaults.per_ip_day),
        gas_budget_day=_count(values, "GIFTCERT_RELAY_GAS_BUDGET_DAY", defaults.gas_budget_day),
        operations=_choices(values, "GIFTCERT_RELAY_OPERATIONS", RELAY_OPERATIONS,
                            defaults.operations),
        prefer=_choice(values, "GIFTCERT_RELAY_PREFER", RELAY_PREFERENCES, defaults.prefer),
        stuck_seconds=_seconds(values, "GIFTCERT_RELAY_STUCK_SECONDS", defaults.stuck_seconds),
        keeper=_choice(values, "GIFTCERT_RELAY_KEEPER", ("thread", "off"), defaults.keeper),
    )


def _count(values: Mapping[str, str], name: str, default: int) -> int:
    number = _int(values, name, default)
    if number < 0:
        raise ConfigError(f"{name} must not be negative, got {number}")
    return number


def _choice(values: Mapping[str, str], name: str, allowed: tuple[str, ...],
            default: str) -> str:
    raw = values.get(name)
    if raw is None:
        return default
    chosen = raw.strip().lower().replace("_", "-")
    if chosen not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return chosen


def _choices(values: Mapping[str, str], name: str, allowed: tuple[str, ...],
             default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma list of `allowed` words ("none" or "-": none of them)."""
    raw = values.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in ("none", "-"):
        return ()
    chosen = tuple(dict.fromkeys(w.strip().lower().replace("_", "-")
                                 for w in raw.split(",") if w.strip()))
    unknown = [w for w in chosen if w not in allowed]
    if unknown:
        raise ConfigError(f"{name}: {', '.join(unknown)} is not an operation the relay knows "
                          f"({', '.join(allowed)})")
    return chosen


INDEXER_MODES = ("in-process", "service")


def _indexer_mode(raw: str | None) -> str:
    mode = (raw or "in-process").strip().lower().replace("_", "-")
    if mode not in INDEXER_MODES:
        raise ConfigError(f"GIFTCERT_INDEXER must be one of {', '.join(INDEXER_MODES)} "
                          f"(service: web processes only read the index that `giftcert index "
                          f"--follow` writes), got {raw!r}")
    return mode


_ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


def _origin(raw: str | None) -> str | None:
    """scheme://host[:port] of the public site (a trailing slash is dropped)."""
    if not raw:
        return None
    origin = raw.strip().rstrip("/")
    if not _ORIGIN_RE.match(origin):
        raise ConfigError(f"GIFTCERT_PUBLIC_ORIGIN must be an origin such as "
                          f"https://gifts.example or http://127.0.0.1:5000 (no path), got {raw!r}")
    scheme, rest = origin.split("://", 1)
    return f"{scheme.lower()}://{rest.lower()}"


_COOKIE_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def _cookie_name(raw: str | None) -> str | None:
    if not raw:
        return None
    if not _COOKIE_RE.match(raw):
        raise ConfigError("GIFTCERT_SESSION_COOKIE must be 1-64 letters, digits, _ or -, "
                          f"got {raw!r}")
    return raw


def _seconds(values: Mapping[str, str], name: str, default: float) -> float:
    raw = values.get(name)
    if raw is None:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if seconds < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return seconds


def _optional_key(raw: str | None) -> str | None:
    return _normalise_key(raw) if raw else None


def _merged_values(env_file: Path | None, environ: Mapping[str, str]) -> dict[str, str]:
    path = PROJECT_ROOT / ".env" if env_file is None else Path(env_file)
    from_file = dotenv_values(path) if path.is_file() else {}
    merged = {k: v for k, v in from_file.items() if v is not None}
    merged.update({k: v for k, v in environ.items() if k.startswith("GIFTCERT_")})
    # An empty value means "unset", as people write `KEY=` in .env to disable a line.
    return {k: v.strip() for k, v in merged.items() if v.strip()}


def _int(values: Mapping[str, str], name: str, default: int) -> int:
    raw = values.get(name)
    if raw is None:
        return default
    try:
        return int(raw, 0)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _project_path(raw: str) -> Path:
    path = Path(raw).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _deployer_key(raw: str | None, chain_id: int) -> str:
    if chain_id == DEV_CHAIN_ID:
        return _normalise_key(raw) if raw else ANVIL_DEV_KEYS[0]
    if not raw:
        raise ConfigError(
            f"GIFTCERT_DEPLOYER_KEY is not set: chain id {chain_id} is not the local dev chain "
            f"({DEV_CHAIN_ID}), so set GIFTCERT_DEPLOYER_KEY (in the environment or .env) to the "
            "private key of a funded account you control."
        )
    key = _normalise_key(raw)
    if key in ANVIL_DEV_KEYS:
        raise ConfigError(
            f"GIFTCERT_DEPLOYER_KEY is one of anvil's public dev keys, which anyone can use; "
            f"refusing it on chain id {chain_id}. Set GIFTCERT_DEPLOYER_KEY to a key of your own, "
            f"or GIFTCERT_CHAIN_ID={DEV_CHAIN_ID} for the local chain."
        )
    return key


def _normalise_key(raw: str) -> str:
    if not _KEY_RE.match(raw):
        # Do not echo the value: it may be a real key with a typo.
        raise ConfigError("GIFTCERT_DEPLOYER_KEY must be 64 hex digits (0x prefix optional)")
    return "0x" + raw.removeprefix("0x").lower()
