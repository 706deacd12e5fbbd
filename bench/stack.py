"""A throwaway giftcert system for benchmarks and the audit: anvil on a free port with many
unlocked accounts, the contracts deployed by `giftcert.deploy`, and on request the site served
by waitress (`giftcert serve` in a child process) on loopback, as `make run` serves it."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3

from bench.index_bench import BenchAnvil
from giftcert.chain import free_port
from giftcert.client import GiftCert
from giftcert.config import PROJECT_ROOT, Settings, load_settings
from giftcert.deploy import Deployment, contract_at, deploy_system


def wait_for_site(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until `/api/v1/status` answers 200; fails at once if the server process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("giftcert serve exited")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/status")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the site did not start")


@dataclass
class LocalSystem:
    node: BenchAnvil
    w3: Web3
    settings: Settings
    record: Deployment
    env: dict[str, str]  # the GIFTCERT_* settings, for child processes
    directory: Path  # state, database, deployment record and logs; removed afterwards

    @property
    def contract(self) -> Any:
        return contract_at(self.w3, self.record)

    def admin(self) -> GiftCert:
        """The deployer (admin and registrar), signing with its key."""
        return GiftCert(self.w3, self.contract, private_key=self.settings.deployer_key)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """`giftcert serve` in a child process; yields its base URL. Error lines the site
        logged are reported on stderr when it stops."""
        port = self.settings.web_port
        outside = {k: v for k, v in os.environ.items() if not k.startswith("GIFTCERT_")}
        log_path = self.directory / "serve.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "giftcert.cli", "--env-file",
                 str(self.directory / "none.env"), "serve"],
                cwd=PROJECT_ROOT, env={**outside, **self.env}, stdout=log, stderr=log)
            try:
                try:
                    wait_for_site(port, proc)
                except RuntimeError as exc:
                    raise RuntimeError(f"{exc}: {log_path.read_text()[-2000:]}") from None
                yield f"http://127.0.0.1:{port}"
            finally:
                proc.terminate()
                proc.wait(timeout=20)
                report_log_errors(log_path, "the site")


def report_log_errors(log_path: Path, who: str) -> None:
    """Prints how many error lines a server's log holds, and the first (a benchmark's figures
    mean little if the server was failing while measured)."""
    errors = [line for line in log_path.read_text().splitlines()
              if "Traceback" in line or "ERROR" in line]
    if errors:
        print(f"  {who} logged {len(errors)} error lines, first: {errors[0]}", file=sys.stderr)


@contextmanager
def local_system(accounts: int = 100) -> Iterator[LocalSystem]:
    """anvil with `accounts` unlocked accounts and the system deployed, in a temporary folder."""
    with tempfile.TemporaryDirectory() as tmp, BenchAnvil(free_port(), accounts) as node:
        env = {
            "GIFTCERT_RPC_URL": node.rpc_url,
            "GIFTCERT_CHAIN_ID": "31337",
            "GIFTCERT_ANVIL_PORT": str(node.port),
            "GIFTCERT_STATE_DIR": tmp,
            "GIFTCERT_DATABASE_URL": f"sqlite:///{tmp}/site.db",
            "GIFTCERT_DEPLOYMENTS_DIR": tmp,
            "GIFTCERT_WEB_HOST": "127.0.0.1",
            "GIFTCERT_WEB_PORT": str(free_port()),
        }
        settings = load_settings(Path(tmp) / "none.env", environ=env)
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 300},
                                    cache_allowed_requests=True))
        record, _ = deploy_system(w3, settings, directory=Path(tmp), say=lambda _m: None)
        yield LocalSystem(node, w3, settings, record, env, Path(tmp))
