"""The contracts' ABIs, shipped with the package (`giftcert/abi/<Name>.json`).

Connecting to a deployment needs only the ABI, so it never runs the compiler: `load_abi`
reads the packaged file. `giftcert compile` and `giftcert deploy` write them again from a fresh
compile (`write_abis`), and a test compares the committed files with the compiler's output
(`abi_drift`), so they cannot silently disagree with contracts/.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from giftcert.errors import GiftCertError

#: The contracts whose ABIs ship: the escrow (with its admin module's functions), the module,
#: the renderer and the dev chain's test stablecoin.
SHIPPED = ("GiftCertificates", "GiftCertificatesAdmin", "CertificateRenderer", "TestUSD")
REGENERATE = "giftcert compile  (or: make compile)"

Abi = list[dict[str, Any]]


class AbiMissing(GiftCertError):
    """A packaged ABI file is missing or unreadable."""


class HasAbi(Protocol):
    @property
    def abi(self) -> Abi: ...


def abi_dir() -> Path:
    """The folder of the packaged ABI files (inside the installed or checked-out package)."""
    return Path(str(resources.files("giftcert") / "abi"))


@lru_cache(maxsize=16)
def _load(name: str, mtime: float) -> str:
    return (abi_dir() / f"{name}.json").read_text()


def load_abi(name: str = "GiftCertificates") -> Abi:
    """The packaged ABI of contract `name` (a fresh list each call; the file is read once)."""
    path = abi_dir() / f"{name}.json"
    try:
        text = _load(name, path.stat().st_mtime)
        abi = json.loads(text)
    except (OSError, ValueError) as exc:
        raise AbiMissing(f"no usable packaged ABI for {name} ({path}: {exc}); regenerate it "
                         f"with `{REGENERATE}`") from None
    if not isinstance(abi, list):
        raise AbiMissing(f"{path} is not an ABI (a JSON list); regenerate it with "
                         f"`{REGENERATE}`")
    return abi


def _text(abi: Abi) -> str:
    return json.dumps(abi, indent=1) + "\n"


def write_abis(artifacts: Mapping[str, HasAbi], directory: Path | None = None) -> list[Path]:
    """Writes the shipped contracts' ABIs from compiled `artifacts`; returns the files that
    changed (an unchanged file is not touched)."""
    out = directory or abi_dir()
    out.mkdir(parents=True, exist_ok=True)
    changed = []
    for name in SHIPPED:
        path = out / f"{name}.json"
        text = _text(artifacts[name].abi)
        try:
            if path.read_text() == text:
                continue
        except OSError:
            pass
        tmp = out / f".{name}.{os.getpid()}.tmp"
        tmp.write_text(text)
        tmp.replace(path)  # atomic: a reader never sees half a file
        changed.append(path)
    return changed


def abi_drift(artifacts: Mapping[str, HasAbi], directory: Path | None = None) -> list[str]:
    """The shipped contracts whose packaged ABI differs from the compiled one (empty: none)."""
    folder = directory or abi_dir()
    drifted = []
    for name in SHIPPED:
        try:
            packaged = json.loads((folder / f"{name}.json").read_text())
        except (OSError, ValueError):
            packaged = None
        if packaged != artifacts[name].abi:
            drifted.append(name)
    return drifted


def can_write_abis() -> bool:
    """Whether the package is a source checkout next to contracts/ (an editable install),
    where `giftcert compile` keeps giftcert/abi/ in step; an installed copy is left alone."""
    folder = abi_dir()
    writable = folder if folder.exists() else folder.parent
    return (folder.parent.parent / "contracts").is_dir() and os.access(writable, os.W_OK)
