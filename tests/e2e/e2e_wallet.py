"""The browser-test wallet's "extension" side: state and request handling for one browser context.

`test_wallet.js` (injected before page load) is the EIP-1193 provider the page sees; it passes
every request to `Wallet.handle` through a Playwright binding. Like MetaMask, the wallet:
- knows a set of chains, starts on one (a wrong one, if a test asks), refuses to switch to an
  unknown chain with 4902 until `wallet_addEthereumChain` adds it (and then switches to it);
- hides the accounts from a site until the site asks (`eth_requestAccounts`), then exposes the
  selected account only, and emits `accountsChanged`/`chainChanged`;
- signs (`personal_sign`, `eth_signTypedData_v4`) and sends (`eth_sendTransaction`) as the selected
  dev account, through anvil, which holds the dev keys unlocked (an account whose key the test
  gives in `keys`, e.g. a fresh one with no ETH, is signed for here and sent raw, as a real
  wallet does); refuses typed data whose
  domain chain is not the current chain, and a transaction while on a chain it has no node for;
- lets the user refuse a prompt (EIP-1193 code 4001) and pick another account.

Anything else (reads, receipts, gas) is forwarded to anvil. anvil's own cheat methods are not
reachable from the page, so the site cannot do what a real wallet would not let it do.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address

BINDING = "__e2eWalletBridge"
SCRIPT = Path(__file__).with_name("test_wallet.js")
ICON = "data:image/svg+xml;base64," + base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    b'<circle cx="16" cy="16" r="15" fill="#f6851b"/></svg>'
).decode()

MAINNET = 1
USER_REJECTED = 4001
UNAUTHORIZED = 4100
UNRECOGNIZED_CHAIN = 4902
INVALID_PARAMS = -32602
INTERNAL = -32603
METHOD_NOT_FOUND = -32601

# Methods that open a wallet window: the only ones a user can refuse.
PROMPTS = {
    "eth_requestAccounts", "wallet_requestPermissions", "wallet_switchEthereumChain",
    "wallet_addEthereumChain", "eth_sendTransaction", "personal_sign", "eth_signTypedData_v4",
    "wallet_watchAsset",
}
# Methods a real wallet's node would not serve to a web page.
BLOCKED_PREFIXES = ("anvil_", "evm_", "hardhat_", "debug_", "admin_", "personal_unlock",
                    "eth_sign", "eth_signTransaction")
ALLOWED_SIGN = {"eth_signTypedData_v4"}


class WalletError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Request:
    method: str
    params: Any
    origin: str
    outcome: str  # "ok", "rejected" or "error <code>"


@dataclass
class Wallet:
    """One wallet "extension" shared by all pages of a browser context."""

    rpc_url: str
    account: str
    node_chain_id: int = 31337
    chain_id: int | None = None
    known_chains: set[int] = field(default_factory=lambda: {MAINNET})
    accounts: list[str] = field(default_factory=list)
    connected: set[str] = field(default_factory=set)
    reject_queue: int = 0
    requests: list[Request] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    added_chains: list[dict[str, Any]] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # address -> key the wallet holds itself

    def __post_init__(self) -> None:
        self.account = to_checksum_address(self.account)
        self.keys = {to_checksum_address(a): k for a, k in self.keys.items()}
        if self.chain_id is None:
            self.chain_id = self.node_chain_id
        self.known_chains |= {self.chain_id}
        if self.account not in self.accounts:
            self.accounts.append(self.account)

    # -- installing -------------------------------------------------------------------

    def script(self, window_ethereum: bool = True) -> str:
        config = {"binding": BINDING, "icon": ICON, "windowEthereum": window_ethereum}
        return SCRIPT.read_text().replace("__WALLET_CONFIG__", json.dumps(config))

    def install(self, context: Any) -> Wallet:
        context.expose_binding(BINDING, self._binding)
        context.add_init_script(script=self.script())
        return self

    # -- what a test does (through the page, as the user would in the wallet window) ----------

    def reject_next(self, page: Any, count: int = 1) -> None:
        page.evaluate("n => window.__e2eWallet.rejectNext(n)", count)

    def switch_account(self, page: Any, address: str) -> None:
        page.evaluate("a => window.__e2eWallet.switchAccount(a)", address)

    def switch_chain(self, page: Any, chain_id: int) -> None:
        page.evaluate("c => window.__e2eWallet.switchChain(c)", chain_id)

    def asked(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method]

    # -- the binding ---------------------------------------------------------------------

    def _binding(self, source: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        frame = source.get("frame")
        url = frame.url if frame is not None else ""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        method = str(payload.get("method"))
        params = payload.get("params") or []
        events: list[list[Any]] = []
        try:
            if payload.get("internal"):
                result = self._control(method, params, origin, events)
            else:
                result = self._request(method, params, origin, events)
        except WalletError as exc:
            outcome = "rejected" if exc.code == USER_REJECTED else f"error {exc.code}"
            if not payload.get("internal"):
                self.requests.append(Request(method, params, origin, outcome))
            return {"error": {"code": exc.code, "message": exc.message}, "events": events}
        if not payload.get("internal"):
            self.requests.append(Request(method, params, origin, "ok"))
        return {"result": result, "events": events}

    def _control(self, method: str, params: list[Any], origin: str,
                 events: list[list[Any]]) -> Any:
        if method == "metamask_getProviderState":
            return {"chainId": hex(self.chain_id), "accounts": self._visible(origin),
                    "isUnlocked": True}
        if method == "e2e_rejectNext":
            self.reject_queue += int(params[0]) if params else 1
            return self.reject_queue
        if method == "e2e_switchAccount":
            address = to_checksum_address(params[0])
            if address not in self.accounts:
                self.accounts.append(address)
            self.account = address
            if self.connected:
                events.append(["accountsChanged", [address.lower()]])
            return address
        if method == "e2e_switchChain":
            self._set_chain(int(params[0]), events)
            return hex(self.chain_id)
        if method == "e2e_disconnect":
            self.connected.clear()
            events.append(["accountsChanged", []])
            return None
        if method == "e2e_state":
            return {"account": self.account, "chainId": self.chain_id,
                    "connected": sorted(self.connected), "sent": list(self.sent)}
        raise WalletError(METHOD_NOT_FOUND, f"unknown wallet control {method}")

    def _visible(self, origin: str) -> list[str]:
        # MetaMask hands out lowercase addresses.
        return [self.account.lower()] if origin in self.connected else []

    def _set_chain(self, chain_id: int, events: list[list[Any]]) -> None:
        if chain_id != self.chain_id:
            self.known_chains.add(chain_id)
            self.chain_id = chain_id
            events.append(["chainChanged", hex(chain_id)])

    def _prompt(self, method: str) -> None:
        """The wallet window opens; the user approves unless the test queued a refusal."""
        if self.reject_queue > 0:
            self.reject_queue -= 1
            message = {
                "eth_sendTransaction": "MetaMask Tx Signature: User denied transaction signature.",
                "personal_sign": "MetaMask Message Signature: User denied message signature.",
                "eth_signTypedData_v4":
                    "MetaMask Message Signature: User denied message signature.",
            }.get(method, "User rejected the request.")
            raise WalletError(USER_REJECTED, message)

    def _require_account(self, origin: str, address: Any) -> None:
        if origin not in self.connected:
            raise WalletError(UNAUTHORIZED, "The requested account and/or method has not been "
                                            "authorized by the user.")
        if not isinstance(address, str) or address.lower() != self.account.lower():
            raise WalletError(UNAUTHORIZED, f"The requested account {address!r} has not been "
                                            "authorized by the user.")

    def _request(self, method: str, params: Any, origin: str, events: list[list[Any]]) -> Any:
        blocked = method.startswith(BLOCKED_PREFIXES) and method not in ALLOWED_SIGN
        if method.startswith("e2e_") or blocked:
            raise WalletError(METHOD_NOT_FOUND, f"The method \"{method}\" does not exist / is "
                                                "not available.")
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "net_version":
            return str(self.chain_id)
        if method == "eth_accounts":
            return self._visible(origin)
        if method in ("eth_requestAccounts", "wallet_requestPermissions"):
            if origin not in self.connected:
                self._prompt(method)
                self.connected.add(origin)
                events.append(["accountsChanged", self._visible(origin)])
            if method == "eth_requestAccounts":
                return self._visible(origin)
            return self._permissions(origin)
        if method == "wallet_getPermissions":
            return self._permissions(origin)
        if method == "wallet_revokePermissions":
            if origin in self.connected:
                self.connected.discard(origin)
                events.append(["accountsChanged", []])
            return None
        if method == "wallet_switchEthereumChain":
            return self._switch(params, events)
        if method == "wallet_addEthereumChain":
            return self._add(params, events)
        if method == "eth_sendTransaction":
            return self._send(params, origin)
        if method == "personal_sign":
            if not isinstance(params, list) or len(params) < 2:
                raise WalletError(INVALID_PARAMS, "personal_sign needs [message, address]")
            self._require_account(origin, params[1])
            self._prompt(method)
            key = self.keys.get(self.account)
            if key is not None:
                signed = Account.sign_message(encode_defunct(hexstr=params[0]), key)
                return "0x" + bytes(signed.signature).hex()
            return self._node(method, [params[0], self.account])
        if method == "eth_signTypedData_v4":
            return self._sign_typed(params, origin)
        return self._node(method, params)

    def _permissions(self, origin: str) -> list[dict[str, Any]]:
        if origin not in self.connected:
            return []
        return [{"parentCapability": "eth_accounts", "invoker": origin,
                 "caveats": [{"type": "restrictReturnedAccounts",
                              "value": self._visible(origin)}]}]

    @staticmethod
    def _chain_param(params: Any, method: str) -> tuple[int, dict[str, Any]]:
        if not isinstance(params, list) or not params or not isinstance(params[0], dict):
            raise WalletError(INVALID_PARAMS, f"{method}: expected [{{chainId}}]")
        raw = params[0].get("chainId")
        if not isinstance(raw, str) or not raw.startswith("0x") or raw != raw.lower():
            raise WalletError(INVALID_PARAMS, f"{method}: chainId must be a lowercase 0x hex "
                                              f"string, got {raw!r}")
        try:
            return int(raw, 16), params[0]
        except ValueError:
            raise WalletError(INVALID_PARAMS, f"{method}: bad chainId {raw!r}") from None

    def _switch(self, params: Any, events: list[list[Any]]) -> None:
        chain_id, _ = self._chain_param(params, "wallet_switchEthereumChain")
        if chain_id not in self.known_chains:
            raise WalletError(UNRECOGNIZED_CHAIN, f'Unrecognized chain ID "{hex(chain_id)}". Try '
                                                  "adding the chain using "
                                                  "wallet_addEthereumChain first.")
        if chain_id != self.chain_id:
            self._prompt("wallet_switchEthereumChain")
            self._set_chain(chain_id, events)
        return None

    def _add(self, params: Any, events: list[list[Any]]) -> None:
        chain_id, spec = self._chain_param(params, "wallet_addEthereumChain")
        rpc_urls = spec.get("rpcUrls")
        if not isinstance(rpc_urls, list) or not rpc_urls or not all(
                isinstance(u, str) and u.startswith(("http://", "https://")) for u in rpc_urls):
            raise WalletError(INVALID_PARAMS, "wallet_addEthereumChain: rpcUrls must be a "
                                              "non-empty list of http(s) URLs")
        currency = spec.get("nativeCurrency")
        if not isinstance(currency, dict) or currency.get("decimals") != 18 or \
                not currency.get("symbol"):
            raise WalletError(INVALID_PARAMS, "wallet_addEthereumChain: nativeCurrency needs "
                                              "name, symbol and decimals 18")
        if not isinstance(spec.get("chainName"), str) or not spec["chainName"]:
            raise WalletError(INVALID_PARAMS, "wallet_addEthereumChain: chainName is required")
        if chain_id == self.node_chain_id and self._node("eth_chainId", [], rpc=rpc_urls[0]) \
                != hex(chain_id):
            raise WalletError(INVALID_PARAMS, f"the RPC endpoint {rpc_urls[0]} does not answer "
                                              f"with chain id {hex(chain_id)}")
        self._prompt("wallet_addEthereumChain")
        self.known_chains.add(chain_id)
        self.added_chains.append(spec)
        # MetaMask asks to switch to the chain just added; the user agrees.
        self._set_chain(chain_id, events)
        return None

    def _send(self, params: Any, origin: str) -> str:
        if not isinstance(params, list) or not params or not isinstance(params[0], dict):
            raise WalletError(INVALID_PARAMS, "eth_sendTransaction: expected [transaction]")
        tx = dict(params[0])
        self._require_account(origin, tx.get("from"))
        if "chainId" in tx and int(str(tx["chainId"]), 0) != self.chain_id:
            raise WalletError(INVALID_PARAMS, f"Invalid transaction params: chainId "
                                              f"{tx['chainId']} is not the current chain "
                                              f"{hex(self.chain_id)}")
        if self.chain_id != self.node_chain_id:
            raise WalletError(INTERNAL, f"insufficient funds for gas on chain {self.chain_id}: "
                                        "the test wallet has no node for this network")
        self._prompt("eth_sendTransaction")
        tx["from"] = self.account
        key = self.keys.get(self.account)
        if key is not None:
            tx_hash = self._node("eth_sendRawTransaction", [self._signed(tx, key)])
        else:
            tx_hash = self._node("eth_sendTransaction", [tx])
        self.sent.append(tx_hash)
        return tx_hash

    def _sign_typed(self, params: Any, origin: str) -> str:
        if not isinstance(params, list) or len(params) < 2:
            raise WalletError(INVALID_PARAMS, "eth_signTypedData_v4 needs [address, typedData]")
        address, data = params[0], params[1]
        self._require_account(origin, address)
        if isinstance(data, str):
            try:
                document = json.loads(data)
            except ValueError:
                raise WalletError(INVALID_PARAMS, "eth_signTypedData_v4: typed data is not "
                                                  "JSON") from None
        elif isinstance(data, dict):
            document = data
        else:
            raise WalletError(INVALID_PARAMS, "eth_signTypedData_v4: typed data must be JSON")
        domain_chain = (document.get("domain") or {}).get("chainId")
        if domain_chain is not None and int(str(domain_chain), 0) != self.chain_id:
            raise WalletError(INTERNAL, f'Provided chainId "{int(str(domain_chain), 0)}" must '
                                        f'match the active chainId "{self.chain_id}"')
        self._prompt("eth_signTypedData_v4")
        key = self.keys.get(self.account)
        if key is not None:
            signed = Account.sign_typed_data(key, full_message=document)
            return "0x" + bytes(signed.signature).hex()
        return self._node("eth_signTypedData_v4", [self.account, json.dumps(document)])

    def _signed(self, tx: dict[str, Any], key: str) -> str:
        """A transaction signed here with `key`, as a wallet that holds the key sends it."""
        fields = {"to": to_checksum_address(tx["to"]), "data": tx.get("data", "0x"),
                  "value": int(str(tx.get("value") or "0x0"), 0), "chainId": self.chain_id,
                  "nonce": int(self._node("eth_getTransactionCount", [self.account, "pending"]),
                               16),
                  "gas": int(str(tx.get("gas") or "0x0"), 0) or int(
                      self._node("eth_estimateGas", [tx]), 16),
                  "gasPrice": int(self._node("eth_gasPrice", []), 16)}
        signed = Account.sign_transaction(fields, key)
        return "0x" + bytes(signed.raw_transaction).hex()

    def _node(self, method: str, params: Any, rpc: str | None = None) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        request = urllib.request.Request(rpc or self.rpc_url, data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                reply = json.loads(response.read())
        except OSError as exc:
            raise WalletError(INTERNAL, f"RPC endpoint unreachable: {exc}") from None
        if "error" in reply:
            error = reply["error"]
            raise WalletError(int(error.get("code", INTERNAL)), str(error.get("message")))
        return reply["result"]
