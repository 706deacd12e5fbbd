// @ts-check
// Plain words for what the chain says: short addresses, network names, dates, amounts, statuses.
// The server renders the same words (webapp/present.py); this is the browser's twin for what the
// page fills in itself.

/** `0x90F7…b906`: enough to recognise an address, short enough to read.
 * @param {string | null | undefined} a */
export const shortAddress = (a) => (a ? `${a.slice(0, 6)}…${a.slice(-4)}` : "");

/** Networks people know by name (EIP-155 chain ids). */
const NETWORKS = /** @type {Record<number, string>} */ ({
  1: "Ethereum", 10: "Optimism", 56: "BNB Chain", 100: "Gnosis", 137: "Polygon",
  8453: "Base", 42161: "Arbitrum One", 43114: "Avalanche", 59144: "Linea", 534352: "Scroll",
  11155111: "Sepolia test network", 84532: "Base Sepolia test network",
  421614: "Arbitrum Sepolia test network", 11155420: "OP Sepolia test network",
  17000: "Holesky test network", 31337: "Local test network",
});

/** @param {number | null | undefined} id */
export function networkName(id) {
  if (!id) return "";
  return NETWORKS[id] || `Network ${id}`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "3 May 2026" (UTC, as the contract counts days). @param {number | null | undefined} ts */
export function dateText(ts) {
  if (!ts) return "";
  const d = new Date(ts * 1000);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** "3 May 2026, 23:59 UTC". @param {number | null | undefined} ts */
export function dateTimeText(ts) {
  if (!ts) return "";
  const d = new Date(ts * 1000);
  const hh = String(d.getUTCHours()).padStart(2, "0"), mm = String(d.getUTCMinutes()).padStart(2, "0");
  return `${dateText(ts)}, ${hh}:${mm} UTC`;
}

/** A decimal amount as text with at least two decimals and thousands separators:
 * "1,000.00", "0.005", "12.50". @param {string} amount */
export function amountText(amount) {
  const negative = amount.startsWith("-");
  const [whole, frac = ""] = (negative ? amount.slice(1) : amount).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${grouped}.${frac.padEnd(2, "0")}`;
}

/** @typedef {{ amount: string, currency: string }} Money */

/** "12.50 tUSD". @param {Money | null | undefined} m */
export function moneyText(m) {
  return m ? `${amountText(m.amount)} ${m.currency}` : "";
}

// -- exact decimal arithmetic on amounts written as text -------------------------------------

/** @param {string} a @param {number} width */
function scaled(a, width) {
  const negative = a.trim().startsWith("-");
  const [i, f = ""] = a.trim().replace(/^-/, "").split(".");
  const value = BigInt((i || "0") + f.padEnd(width, "0").slice(0, width));
  return negative ? -value : value;
}

/** @param {bigint} v @param {number} width */
function unscaled(v, width) {
  const negative = v < 0n;
  let digits = (negative ? -v : v).toString().padStart(width + 1, "0");
  const whole = digits.slice(0, digits.length - width), frac = digits.slice(digits.length - width).replace(/0+$/, "");
  digits = frac ? `${whole}.${frac}` : whole;
  return negative ? `-${digits}` : digits;
}

/** @param {string} a @param {string} b */
const widthOf = (a, b) => Math.max((a.split(".")[1] || "").length, (b.split(".")[1] || "").length);

/** a + b. @param {string} a @param {string} b */
export function addAmounts(a, b) { const w = widthOf(a, b); return unscaled(scaled(a, w) + scaled(b, w), w); }
/** a - b. @param {string} a @param {string} b */
export function subtractAmounts(a, b) { const w = widthOf(a, b); return unscaled(scaled(a, w) - scaled(b, w), w); }
/** Compares a and b: -1, 0 or 1. @param {string} a @param {string} b */
export function compareAmounts(a, b) {
  const w = widthOf(a, b), x = scaled(a, w), y = scaled(b, w);
  return x < y ? -1 : x > y ? 1 : 0;
}
/** A decimal amount a person typed ("12.50", "3"). @param {string} text */
export const isAmount = (text) => /^\d+(\.\d+)?$/.test(text.trim());

/** Wei (as text or bigint) in ETH, rounded up to six decimals: "0.000079".
 * @param {string | bigint} wei */
export function ethFee(wei) {
  const v = BigInt(wei);
  const micro = (v + 999_999_999_999n) / 1_000_000_000_000n;
  return (Number(micro) / 1e6).toFixed(6);
}

/** Wei in ETH, exact. @param {string | bigint} wei */
export const ethAmount = (wei) => unscaled(BigInt(wei), 18);

// -- what went wrong, in words ----------------------------------------------------------------

/** A message that came from a wallet or a node, made readable: never raw RPC text, hex or a
 * stack of "execution reverted" phrases. @param {string} text */
export function plainMessage(text) {
  const t = String(text || "");
  if (/insufficient funds/i.test(t)) {
    return "Your wallet does not hold enough ETH for this and its network fee.";
  }
  if (/nonce too (low|high)|replacement transaction underpriced/i.test(t)) {
    return "Your wallet's transactions are out of step with the network: reset the account's activity in the wallet and try again.";
  }
  if (/user (rejected|denied)|rejected the request/i.test(t)) return "You declined it in your wallet.";
  if (/failed to fetch|networkerror|load failed/i.test(t)) {
    return "The site cannot be reached: check your connection and try again.";
  }
  if (/0x[0-9a-f]{16,}|execution reverted|json-rpc|internal json|-32\d{3}|\{"/i.test(t)) {
    return "Your wallet or the network refused this. Nothing was sent; try again in a moment.";
  }
  return t.length > 240 ? `${t.slice(0, 237)}…` : t;
}
