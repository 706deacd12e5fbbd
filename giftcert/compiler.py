"""Compile Solidity through py-solc-x, with an artifact cache keyed by source content.

No native solc can be downloaded here, so unless a native 0.8.37 is on PATH the compiler is
`bin/solc`, a Node shim over solc-js. Loading the wasm compiler takes seconds, so results are
cached under `build/`: a cache entry records the sha256 of every file solc read (our sources and
the node_modules files they import), the settings and the compiler version; when all of those
still match, the compiler is not run at all.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError

from giftcert.config import PROJECT_ROOT
from giftcert.errors import GiftCertError

SOLC_VERSION = "0.8.37"
SOLC_LONG_VERSION = "0.8.37+commit.f401782d"
SHIM = PROJECT_ROOT / "bin" / "solc"
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
BUILD_DIR = PROJECT_ROOT / "build"
CACHE_FORMAT = 1

REMAPPINGS = [
    "@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/",
    "solady/=node_modules/solady/",
    "erc721a/=node_modules/erc721a/",
    "@solvprotocol/=node_modules/@solvprotocol/",
]

# evmVersion is deliberately absent: solc's default (osaka for 0.8.37) is what anvil runs.
# Optimizer runs 500, chosen by measurement (`python -m bench.gas --sweep`, 200 to 5,000 runs;
# table in bench/results/runs.md). From 450 runs solc pushes the hot paths' 32-byte constants
# (storage slots, event topics) instead of copying them out of the code (about 27 gas a use),
# and transfer and the signed redemption meet their targets by 95 and 150 gas; 500 rather than
# 450 keeps that when the contracts grow. Below, the margins are tens of gas (300: 37 and 68,
# for a 273-byte smaller escrow; 200 misses transfer); above, the escrow grows (16.0 KB at
# 1,000, 17.9 KB at 5,000) for at most 60 gas. The bench compiles its anchors with these too.
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 500},
    "viaIR": False,
    "remappings": REMAPPINGS,
    "outputSelection": {
        "*": {
            "*": [
                "abi",
                "evm.bytecode.object",
                "evm.deployedBytecode.object",
                "evm.methodIdentifiers",
            ]
        }
    },
}


class CompileError(GiftCertError):
    """The compiler rejected the sources; the message is solc's own (file:line:col and text)."""


@dataclass(frozen=True)
class ContractArtifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    runtime_bytecode: str
    source_path: Path
    method_identifiers: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "source_path": str(self.source_path)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContractArtifact:
        return cls(**{**data, "source_path": Path(data["source_path"])})


# -- compiler discovery ------------------------------------------------------------------


@dataclass(frozen=True)
class Solc:
    path: Path
    version: str  # long form, with the commit
    kind: str  # "native" or "solcjs"


@lru_cache(maxsize=1)
def find_solc() -> Solc:
    """A native solc 0.8.37 on PATH if there is one (much faster), else the solc-js shim."""
    native = shutil.which("solc")
    if native and Path(native).resolve() != SHIM.resolve():
        version = _native_version(Path(native))
        if version and version.startswith(SOLC_VERSION + "+"):
            return Solc(Path(native), version, "native")
    return Solc(SHIM, SOLC_LONG_VERSION, "solcjs")


def _native_version(path: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"Version: (\S+)", out)
    return match.group(1) if match else None


def ensure_solcx_link() -> Path:
    """Links the shim as py-solc-x's `solc-v0.8.37`, where ape-solidity looks for compilers.

    A symlink, not a copy (`solcx.import_installed_solc` copies): the shim finds solc-js
    relative to its real location in the project. An existing real binary is left alone.
    """
    folder = solcx.get_solcx_install_folder()
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / f"solc-v{SOLC_VERSION}"
    if link.is_symlink() and link.resolve() == SHIM.resolve():
        return link
    if link.exists() and not link.is_symlink():
        return link  # a genuine native solc someone installed; better than the shim
    link.unlink(missing_ok=True)
    link.symlink_to(SHIM.resolve())
    return link


# -- public API ----------------------------------------------------------------------------


def contract_sources(sources_dir: Path | None = None) -> list[Path]:
    """Every .sol file under `sources_dir` (default contracts/), recursively, sorted."""
    root = Path(sources_dir or CONTRACTS_DIR).resolve()
    return sorted(p for p in root.rglob("*.sol") if p.is_file())


def compile_contracts(
    force: bool = False, sources_dir: Path | None = None, build_dir: Path | None = None
) -> dict[str, ContractArtifact]:
    """Compiles every .sol under `sources_dir` (default contracts/); artifacts by contract name."""
    paths = contract_sources(sources_dir)
    if not paths:
        raise CompileError(f"no .sol files under {sources_dir or CONTRACTS_DIR}")
    return compile_sources(paths, force=force, build_dir=build_dir)


def compile_sources(
    paths: Iterable[Path], force: bool = False, build_dir: Path | None = None
) -> dict[str, ContractArtifact]:
    """Compiles these files (and their imports) with the project settings, using the cache."""
    roots = sorted(Path(p).resolve() for p in paths)
    solc = find_solc()
    build = Path(build_dir or BUILD_DIR)
    entry = _cache_file(roots, solc, build)
    # One compile at a time per build dir: parallel test workers wait, then hit the cache.
    with _locked(entry.with_suffix(".lock")):
        if not force:
            cached = _load_cache(entry)
            if cached is not None:
                return cached
        return _compile_and_store(roots, solc, build, entry)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _compile_and_store(
    roots: list[Path], solc: Solc, build: Path, entry: Path
) -> dict[str, ContractArtifact]:
    output = _run_solc(roots, solc)
    artifacts = _artifacts(output, roots)
    _store_cache(entry, output, artifacts)
    if all(p.is_relative_to(CONTRACTS_DIR.resolve()) for p in roots):
        _write_abis(build, artifacts)
    return artifacts


# -- compiling -----------------------------------------------------------------------------


def _unit_name(path: Path) -> str:
    """Source unit name relative to the project root, so bytecode metadata is machine-neutral."""
    try:
        return path.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def _source_path(unit_name: str) -> Path:
    path = Path(unit_name)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _run_solc(roots: list[Path], solc: Solc) -> dict[str, Any]:
    sources = {_unit_name(p): {"content": p.read_text()} for p in roots}
    input_json = {"language": "Solidity", "sources": sources, "settings": SETTINGS}
    allow = sorted({str(PROJECT_ROOT), *(str(p.parent) for p in roots)})
    try:
        return solcx.compile_standard(
            input_json,
            base_path=str(PROJECT_ROOT),
            allow_paths=",".join(allow),
            solc_binary=str(solc.path),
        )
    except SolcError as exc:
        raise CompileError(_solc_message(exc)) from None


def _solc_message(exc: SolcError) -> str:
    """solc's formatted errors when it produced JSON; otherwise the process failure itself."""
    errors = getattr(exc, "error_dict", None) or []
    messages = [e.get("formattedMessage") or e.get("message", "") for e in errors
                if e.get("severity") == "error"]
    if messages:
        return "\n".join(m.rstrip() for m in messages)
    stderr = (getattr(exc, "stderr_data", "") or "").strip()
    return stderr or getattr(exc, "message", None) or str(exc)


def _artifacts(output: dict[str, Any], roots: list[Path]) -> dict[str, ContractArtifact]:
    """Artifacts for contracts defined in `roots` (not library files pulled in by imports)."""
    wanted = {_unit_name(p) for p in roots}
    found: dict[str, ContractArtifact] = {}
    for unit, contracts in sorted(output.get("contracts", {}).items()):
        if unit not in wanted:
            continue
        for name, data in contracts.items():
            artifact = _artifact(name, data, _source_path(unit))
            previous = found.get(name)
            # Same name twice (an interface copied into two files): keep the deployable one.
            if previous is None or (previous.bytecode == "0x" and artifact.bytecode != "0x"):
                found[name] = artifact
    return _with_module_abi(found)


# The escrow answers its admin module's functions too (fallback -> delegatecall), so its ABI is
# the union of both; the module's own set-up entry and constructor are not callable there.
_ESCROW, _MODULE, _MODULE_ONLY = "GiftCertificates", "GiftCertificatesAdmin", {"initialize"}


def _with_module_abi(found: dict[str, ContractArtifact]) -> dict[str, ContractArtifact]:
    escrow, module = found.get(_ESCROW), found.get(_MODULE)
    if escrow is None or module is None:
        return found
    seen = {(e.get("type"), e.get("name")) for e in escrow.abi}
    extra = [e for e in module.abi if e.get("type") in ("function", "event", "error")
             and e.get("name") not in _MODULE_ONLY and (e.get("type"), e.get("name")) not in seen]
    identifiers = {**module.method_identifiers, **escrow.method_identifiers}
    for signature in list(identifiers):
        if signature.split("(")[0] in _MODULE_ONLY:
            del identifiers[signature]
    return {**found, _ESCROW: replace(escrow, abi=escrow.abi + extra,
                                      method_identifiers=identifiers)}


def _artifact(name: str, data: dict[str, Any], source: Path) -> ContractArtifact:
    evm = data.get("evm", {})
    return ContractArtifact(
        name=name,
        abi=data.get("abi", []),
        bytecode="0x" + evm.get("bytecode", {}).get("object", ""),
        runtime_bytecode="0x" + evm.get("deployedBytecode", {}).get("object", ""),
        source_path=source,
        method_identifiers=evm.get("methodIdentifiers", {}),
    )


# -- cache -----------------------------------------------------------------------------------
# One entry per (set of root files, settings, compiler). The entry lists the hash of every file
# solc read; an import can only appear or vanish by editing a file in that list, so checking
# those hashes is enough to know the output is unchanged.


def _cache_file(roots: list[Path], solc: Solc, build_dir: Path) -> Path:
    identity = json.dumps(
        {
            "format": CACHE_FORMAT,
            "roots": [str(p) for p in roots],
            "settings": SETTINGS,
            "compiler": [solc.version, solc.kind],
        },
        sort_keys=True,
    )
    return build_dir / "cache" / f"{hashlib.sha256(identity.encode()).hexdigest()[:24]}.json"


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _load_cache(entry: Path) -> dict[str, ContractArtifact] | None:
    try:
        data = json.loads(entry.read_text())
    except (OSError, ValueError):
        return None
    for name, digest in data.get("inputs", {}).items():
        if _file_hash(_source_path(name)) != digest:
            return None
    return {n: ContractArtifact.from_json(a) for n, a in data.get("artifacts", {}).items()}


def _store_cache(
    entry: Path, output: dict[str, Any], artifacts: dict[str, ContractArtifact]
) -> None:
    # Every source solc reports is a file it read: ours plus the imported library files.
    inputs = {name: _file_hash(_source_path(name)) for name in output.get("sources", {})}
    data = {"inputs": inputs, "artifacts": {n: a.to_json() for n, a in artifacts.items()}}
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(entry)  # atomic, so parallel test workers never read half a file


def _write_abis(build_dir: Path, artifacts: dict[str, ContractArtifact]) -> None:
    """build/contracts/<Name>.json for humans and other tools; the cache entry is the truth."""
    out = build_dir / "contracts"
    out.mkdir(parents=True, exist_ok=True)
    for name, artifact in artifacts.items():
        tmp = out / f".{name}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(artifact.to_json(), indent=1))
        tmp.replace(out / f"{name}.json")
