// The browser wallet: EIP-6963 discovery (falling back to window.ethereum), account and
// network state, chain switching, transactions with the pending hash kept in localStorage.
const PENDING_KEY = "giftcert.pending";
const body = document.body;
export const expectedChainId = Number(body.dataset.chainId);
const rpcUrl = body.dataset.rpcUrl || "";

const announced = [];
const state = { provider: null, info: null, account: null, chainId: null };
const subscribers = new Set();

window.addEventListener("eip6963:announceProvider", (event) => {
  if (event.detail && event.detail.provider && !announced.some((d) => d.provider === event.detail.provider)) {
    announced.push(event.detail);
  }
});

function notify() { for (const fn of subscribers) fn({ ...state }); }
export function onChange(fn) { subscribers.add(fn); fn({ ...state }); return () => subscribers.delete(fn); }
export function current() { return { ...state }; }
export function providers() { return announced.map((d) => d.info); }

export async function discover(waitMs = 200) {
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  await new Promise((r) => setTimeout(r, announced.length ? 0 : waitMs));
  if (announced.length) return announced[0];
  if (window.ethereum) return { info: { name: "Browser wallet", rdns: "window.ethereum" }, provider: window.ethereum };
  return null;
}

// Discovery takes a moment (EIP-6963 announcements); the page wires its buttons at once and
// every action waits for the one discovery, so an early click is not lost.
let initialising = null;
export function init() {
  initialising ??= initialise();
  return initialising;
}

async function initialise() {
  const found = await discover();
  if (!found) { notify(); return null; }
  state.provider = found.provider;
  state.info = found.info;
  state.provider.on?.("accountsChanged", (accounts) => { state.account = accounts[0] || null; notify(); });
  state.provider.on?.("chainChanged", (id) => { state.chainId = Number(id); notify(); });
  try {
    const [accounts, chain] = await Promise.all([
      state.provider.request({ method: "eth_accounts" }),
      state.provider.request({ method: "eth_chainId" }),
    ]);
    state.account = accounts[0] || null;
    state.chainId = Number(chain);
  } catch (e) { /* a locked wallet: stays disconnected */ }
  notify();
  return found;
}

export class WalletError extends Error {}

function need() {
  if (!state.provider) throw new WalletError("No wallet found: install a browser wallet such as MetaMask.");
}

export async function connect() {
  await init();
  need();
  try {
    const accounts = await state.provider.request({ method: "eth_requestAccounts" });
    state.account = accounts[0] || null;
    state.chainId = Number(await state.provider.request({ method: "eth_chainId" }));
  } catch (e) {
    throw new WalletError(e.code === 4001 ? "You declined the connection in your wallet." : e.message);
  }
  notify();
  return state.account;
}

export async function ensureReady() {
  await init();
  if (!state.account) await connect();
  if (state.chainId !== expectedChainId) await switchChain();
  return state.account;
}

export async function switchChain() {
  await init();
  need();
  const chainId = "0x" + expectedChainId.toString(16);
  try {
    await state.provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
  } catch (e) {
    if (e.code === 4902 && rpcUrl) {
      await state.provider.request({ method: "wallet_addEthereumChain", params: [{
        chainId, chainName: expectedChainId === 31337 ? "giftcert local (anvil)" : `Chain ${expectedChainId}`,
        nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: [rpcUrl] }] });
    } else if (e.code === 4001) {
      throw new WalletError("You declined switching the network.");
    } else {
      throw new WalletError(`Switch your wallet to chain ${expectedChainId}: ${e.message}`);
    }
  }
  state.chainId = Number(await state.provider.request({ method: "eth_chainId" }));
  notify();
}

export function pending() {
  try { return JSON.parse(localStorage.getItem(PENDING_KEY) || "null"); } catch { return null; }
}
export function clearPending() { localStorage.removeItem(PENDING_KEY); }

export async function sendTransaction(tx, meta = {}) {
  await ensureReady();
  let hash;
  try {
    hash = await state.provider.request({ method: "eth_sendTransaction", params: [{
      from: state.account, to: tx.to, data: tx.data, value: tx.value, gas: tx.gas }] });
  } catch (e) {
    throw new WalletError(e.code === 4001 ? "You rejected the transaction in your wallet." : e.message);
  }
  localStorage.setItem(PENDING_KEY, JSON.stringify({ hash, ...meta, at: Date.now() }));
  return hash;
}

export async function waitForReceipt(hash, timeoutMs = 180000) {
  need();
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const receipt = await state.provider.request({ method: "eth_getTransactionReceipt", params: [hash] });
    if (receipt) return receipt;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new WalletError(`Transaction ${hash} is still pending; this page will keep checking after a reload.`);
}

export async function signTypedData(typedData) {
  await ensureReady();
  try {
    return await state.provider.request({ method: "eth_signTypedData_v4",
      params: [state.account, JSON.stringify(typedData)] });
  } catch (e) {
    throw new WalletError(e.code === 4001 ? "You declined to sign." : e.message);
  }
}

export async function personalSign(message) {
  await ensureReady();
  const hex = "0x" + Array.from(new TextEncoder().encode(message), (b) => b.toString(16).padStart(2, "0")).join("");
  try {
    return await state.provider.request({ method: "personal_sign", params: [hex, state.account] });
  } catch (e) {
    throw new WalletError(e.code === 4001 ? "You declined to sign in." : e.message);
  }
}

window.giftcertWallet = { init, connect, switchChain, current, providers, pending, clearPending,
  sendTransaction, waitForReceipt, signTypedData, personalSign };
