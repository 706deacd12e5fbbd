"""The local development chain: the native anvil that `npm install @foundry-rs/anvil` ships.

`Anvil` runs it as a child process on 127.0.0.1. With a state file, anvil reloads the chain on
start and writes it back on a clean exit (SIGINT) and every `state_interval` seconds, so gifts
survive restarts and a crash loses at most a few seconds (a crash in the middle of one of those
writes cuts the file short: the copy kept at each start is the way back).
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from giftcert.config import DEV_CHAIN_ID, PROJECT_ROOT
from giftcert.errors import GiftCertError

HOST = "127.0.0.1"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0


class ChainError(GiftCertError):
    """anvil is missing, could not start, or its port belongs to someone else."""


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def find_anvil() -> Path:
    """The npm-installed anvil binary, else the npm wrapper, else anvil on PATH."""
    candidates = [
        PROJECT_ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
        PROJECT_ROOT / "node_modules/.bin/anvil",
    ]
    for path in candidates:
        if path.is_file():
            return path
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise ChainError("anvil not found: run `make setup` (npm ci installs @foundry-rs/anvil)")


def rpc_call(url: str, method: str, params: list | None = None, timeout: float = 2.0) -> object:
    """One JSON-RPC request with the standard library (no web3 import on the hot path)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise ChainError(f"{method} failed: {reply['error']}")
    return reply["result"]


class Anvil:
    """An anvil child process; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        port: int,
        chain_id: int = DEV_CHAIN_ID,
        state_file: Path | None = None,
        state_interval: int = 5,
        block_time: float | None = None,
    ) -> None:
        self.port = port
        self.chain_id = chain_id
        self.state_file = Path(state_file) if state_file else None
        self.state_interval = state_interval
        self.block_time = block_time
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        cmd = [str(find_anvil()), "--host", HOST, "--port", str(self.port),
               "--chain-id", str(self.chain_id), "--silent"]
        if self.state_file:
            cmd += ["--state", str(self.state_file), "--state-interval", str(self.state_interval)]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        return cmd

    @classmethod
    def on_free_port(cls, attempts: int = 3, **kwargs: Any) -> Anvil:
        """Starts anvil on a port the OS says is free, trying again if another process takes
        that port between the check and the start (parallel test workers do)."""
        for attempt in range(attempts):
            try:
                return cls(free_port(), **kwargs).start()
            except ChainError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def start(self) -> Anvil:
        if self.running:
            return self
        if port_in_use(self.port):
            raise ChainError(
                f"port {self.port} on {HOST} is already in use by another process; stop it or "
                "choose another port (GIFTCERT_ANVIL_PORT)"
            )
        if self.state_file:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self._keep_a_good_copy(self.state_file)
        self._log = tempfile.TemporaryFile()
        # Own session: a terminal Ctrl-C reaches only us, and stop() sends the one SIGINT that
        # makes anvil write its state (a second signal mid-write could cut the file short).
        self._proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()
        return self

    @staticmethod
    def _keep_a_good_copy(state: Path) -> None:
        """anvil rewrites its state file in place (not atomically), so a kill -9 during one of
        its writes leaves it cut short, and anvil refuses to start from it. A file that reads
        whole is copied to `<name>.last-start` before anvil starts; one that does not is
        refused in words, saying how to go back to that copy or start afresh."""
        if not state.is_file():
            return
        copy = state.with_name(state.name + ".last-start")
        try:
            json.loads(state.read_bytes())
        except (ValueError, OSError):
            back = (f"go back to the copy from its last start with `mv {copy} {state}`, or "
                    if copy.is_file() else "")
            raise ChainError(f"the chain's state file {state} is cut short (anvil was stopped "
                             f"while writing it): {back}move it away to start a new chain"
                             ) from None
        shutil.copyfile(state, copy)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise ChainError(f"anvil exited during start-up:\n{self._output()}")
            try:
                answer = rpc_call(self.rpc_url, "eth_chainId", timeout=1.0)
                if int(str(answer), 16) == self.chain_id:
                    return
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.05)
        self.stop()
        raise ChainError(f"anvil did not answer on {self.rpc_url} within {START_TIMEOUT:.0f} s")

    def _output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace").strip()

    def stop(self) -> None:
        """SIGINT first, so anvil writes the state file; kill only if it does not exit."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def wait(self) -> int:
        """Blocks until anvil exits by itself (used by `giftcert chain`)."""
        return self._proc.wait() if self._proc else 0

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
