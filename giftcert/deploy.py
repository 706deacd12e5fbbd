"""Deploying the system and the per-chain record `deployments/<chain-id>.json`.

`deploy_system` deploys the admin module, GiftCertificates(admin, module), its
CertificateRenderer and, on the dev chain only, TestUSD (allow-listed). Running it again reuses
the recorded deployment while its contract still has code and the ABI hash matches, unless
`fresh=True`. `connect` builds a `GiftCert` client from settings and the record, checking the
RPC really is the configured chain; it reads the packaged ABI (`giftcert.abis`) and never
compiles.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from giftcert.abis import load_abi
from giftcert.client import GiftCert
from giftcert.compiler import ContractArtifact, compile_contracts
from giftcert.config import DEV_CHAIN_ID, Settings
from giftcert.errors import GiftCertError
from giftcert.multicall import MULTICALL3_ADDRESS, ChainClock
from giftcert.transactions import deploy, send

MULTICALL_SOURCE = Path(__file__).with_name("contracts") / "Multicall3.sol"

Say = Callable[[str], None]


class DeploymentError(GiftCertError):
    """No usable deployment or a wrong network; the message says what to do."""


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    gift_certificates: str
    admin_module: str
    renderer: str
    test_usd: str | None
    abi_hash: str
    block: int
    deployer: str
    deployed_at: int
    # Multicall3 (batched reads): deployed by `giftcert deploy` on the dev chain, the canonical
    # one elsewhere when the chain has it (None: reads are batched as JSON-RPC batches).
    multicall: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def record_path(chain_id: int, directory: Path) -> Path:
    """Where a chain's deployment is recorded (`Settings.deployments_dir` unless given)."""
    return directory / f"{chain_id}.json"


def abi_hash(abi: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(abi, sort_keys=True).encode()).hexdigest()


def load_deployment(chain_id: int, directory: Path) -> Deployment | None:
    path = record_path(chain_id, directory)
    try:
        return Deployment(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def connect_web3(settings: Settings) -> Web3:
    """A Web3 for the settings' RPC, refusing a node on another chain than configured."""
    w3 = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": 60}))
    try:
        chain_id = w3.eth.chain_id
    except Exception:  # noqa: BLE001 - any failure here means "no node there"
        raise DeploymentError(
            f"no Ethereum node answers at {settings.rpc_url}: start one (`giftcert chain`) "
            "or set GIFTCERT_RPC_URL") from None
    if chain_id != settings.chain_id:
        raise DeploymentError(
            f"wrong network: {settings.rpc_url} is chain {chain_id} but GIFTCERT_CHAIN_ID is "
            f"{settings.chain_id}; fix GIFTCERT_RPC_URL or GIFTCERT_CHAIN_ID")
    return w3


def usable(w3: Web3, record: Deployment | None, abi: list[dict[str, Any]]) -> bool:
    """Whether the recorded contract is still there and built from the same ABI."""
    if record is None or record.abi_hash != abi_hash(abi):
        return False
    return all(len(w3.eth.get_code(Web3.to_checksum_address(address))) > 0
               for address in (record.gift_certificates, record.admin_module))


def deploy_system(w3: Web3, settings: Settings, *, fresh: bool = False,
                  directory: Path | None = None, say: Say = print) -> tuple[Deployment, bool]:
    """Deploys (or reuses) the system; returns the record and whether it was newly deployed."""
    directory = directory or settings.deployments_dir
    artifacts = compile_contracts()
    gc_artifact = artifacts["GiftCertificates"]
    record = load_deployment(settings.chain_id, directory)
    if not fresh and usable(w3, record, gc_artifact.abi):
        assert record is not None
        say(f"reusing GiftCertificates at {record.gift_certificates} (use --fresh to redeploy)")
        multicall = _multicall(w3, settings, record.multicall, say)
        if multicall != record.multicall:  # a record from before batched reads
            record = replace(record, multicall=multicall)
            _write_record(record, settings, directory, say)
        return record, False
    record = _deploy_all(w3, settings, artifacts, say)
    record = replace(record, multicall=_multicall(w3, settings, None, say))
    _write_record(record, settings, directory, say)
    return record, True


def _has_code(w3: Web3, address: str | None) -> bool:
    return address is not None and len(w3.eth.get_code(Web3.to_checksum_address(address))) > 0


def _multicall(w3: Web3, settings: Settings, recorded: str | None, say: Say) -> str | None:
    """The Multicall3 to batch reads with: the recorded one while it has code, the canonical
    one where the chain has it, else (dev chain only) a new one from giftcert/contracts."""
    for address in (recorded, MULTICALL3_ADDRESS):
        if address and _has_code(w3, address):
            return Web3.to_checksum_address(address)
    if settings.chain_id != DEV_CHAIN_ID:
        return None
    from giftcert.compiler import compile_sources

    artifact = compile_sources([MULTICALL_SOURCE])["Multicall3"]
    contract = _deploy(w3, artifact, Account.from_key(settings.deployer_key).address,
                       settings.deployer_key)
    say(f"Multicall3 (batched reads) at {contract.address}")
    return str(contract.address)


def _write_record(record: Deployment, settings: Settings, directory: Path, say: Say) -> None:
    path = record_path(settings.chain_id, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.to_json(), indent=2) + "\n")
    say(f"recorded {path}")


def _deploy_all(w3: Web3, settings: Settings, artifacts: dict[str, ContractArtifact],
                say: Say) -> Deployment:
    key = settings.deployer_key
    admin = Account.from_key(key).address
    steps = 4 if settings.chain_id == DEV_CHAIN_ID else 2
    say(f"[1/{steps}] deploying GiftCertificates and its admin module (admin {admin})")
    module = _deploy(w3, artifacts["GiftCertificatesAdmin"], admin, key)
    gc = _deploy(w3, artifacts["GiftCertificates"], admin, key, admin, module.address)
    block = w3.eth.block_number
    say(f"[2/{steps}] deploying CertificateRenderer")
    renderer = _deploy(w3, artifacts["CertificateRenderer"], admin, key)
    send(w3, gc.functions.setRenderer(renderer.address), admin, private_key=key)  # no client yet
    usd_address = None
    if settings.chain_id == DEV_CHAIN_ID:
        say(f"[3/{steps}] deploying TestUSD (dev chain only)")
        usd = _deploy(w3, artifacts["TestUSD"], admin, key)
        say(f"[4/{steps}] allow-listing tUSD")
        send(w3, gc.functions.allowCurrency(usd.address), admin, private_key=key)
        usd_address = usd.address
    say(f"GiftCertificates at {gc.address} (block {block}, chain {settings.chain_id})")
    return Deployment(settings.chain_id, gc.address, module.address, renderer.address, usd_address,
                      abi_hash(artifacts["GiftCertificates"].abi), block, admin, int(time.time()))


def _deploy(w3: Web3, artifact: ContractArtifact, sender: str, key: str, *args: Any) -> Any:
    return deploy(w3, artifact.abi, artifact.bytecode, sender, *args, private_key=key)


def contract_at(w3: Web3, record: Deployment) -> Any:
    """The deployed escrow as a web3 contract, with the packaged ABI (no compiling)."""
    return w3.eth.contract(address=Web3.to_checksum_address(record.gift_certificates),
                           abi=load_abi("GiftCertificates"))


def connect(settings: Settings, private_key: str | None = None,
            directory: Path | None = None) -> tuple[GiftCert, Deployment]:
    """A client for the recorded deployment on the configured chain (deployer key by default)."""
    directory = directory or settings.deployments_dir
    w3 = connect_web3(settings)
    record = load_deployment(settings.chain_id, directory)
    if record is None:
        raise DeploymentError(
            f"no deployment recorded for chain {settings.chain_id} "
            f"({record_path(settings.chain_id, directory)}): run `giftcert deploy`")
    if not usable(w3, record, load_abi("GiftCertificates")):
        raise DeploymentError(
            f"the deployment recorded in {record_path(settings.chain_id, directory)} is not on "
            "this chain any more (or the contract changed): run `giftcert deploy --fresh`")
    client = GiftCert(w3, contract_at(w3, record), private_key=private_key or settings.deployer_key,
                      chain_id=settings.chain_id, multicall=usable_multicall(w3, record))
    return client, record


def usable_multicall(w3: Web3, record: Deployment) -> str | None:
    """The record's Multicall3 while it has code (a dev chain restarted without its state has
    none), else the canonical one where the chain has it, else None."""
    for address in (record.multicall, MULTICALL3_ADDRESS):
        if address and _has_code(w3, address):
            return Web3.to_checksum_address(address)
    return None


def web_clock(settings: Settings) -> ChainClock:
    """The chain clock a web process judges by (cached GIFTCERT_CHAIN_CACHE_SECONDS)."""
    return ChainClock(settings.chain_cache_seconds)
