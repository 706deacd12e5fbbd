// @ts-check
// Claim-link keys in the browser: the key never leaves this page (it lives in the URL
// fragment, which browsers do not send). EIP-712 hashing for flat structs + secp256k1 signing.
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, hexToBytes, utf8ToBytes, concatBytes } from "@noble/hashes/utils.js";

/**
 * @typedef {{ name: string, type: string }} TypedField
 * @typedef {Record<string, TypedField[]>} TypedTypes
 * @typedef {{ types: TypedTypes, primaryType: string, domain: Record<string, unknown>,
 *   message: Record<string, unknown> }} TypedData
 */

/** @param {string} h */
const strip = (h) => (h.startsWith("0x") ? h.slice(2) : h);
/** A 32-byte big-endian word. @param {bigint | number | string} n */
const word = (n) => hexToBytes(BigInt(n).toString(16).padStart(64, "0"));

export function newKey() {
  return "0x" + bytesToHex(secp256k1.utils.randomSecretKey());
}

/** @param {string} key 0x-hex private key @returns {string} its address (lower case) */
export function addressOf(key) {
  const pub = secp256k1.getPublicKey(hexToBytes(strip(key)), false).slice(1);
  return "0x" + bytesToHex(keccak_256(pub).slice(-20));
}

/** @param {string} name @param {TypedTypes} types */
function encodeType(name, types) {
  return `${name}(${types[name].map((f) => `${f.type} ${f.name}`).join(",")})`;
}

/** @param {string} type @param {unknown} value @returns {Uint8Array} */
function encodeValue(type, value) {
  if (type === "string") return keccak_256(utf8ToBytes(String(value)));
  if (type === "address") return word(BigInt(String(value)));
  if (/^u?int\d*$/.test(type)) return word(BigInt(String(value)));
  if (type === "bool") return word(value ? 1 : 0);
  if (type === "bytes32") return hexToBytes(strip(String(value)));
  throw new Error(`unsupported EIP-712 type ${type}`);
}

/** @param {string} name @param {TypedTypes} types @param {Record<string, unknown>} data */
function hashStruct(name, types, data) {
  /** @type {Uint8Array[]} */
  const parts = [keccak_256(utf8ToBytes(encodeType(name, types)))];
  for (const f of types[name]) parts.push(encodeValue(f.type, data[f.name]));
  return keccak_256(concatBytes(...parts));
}

/** The EIP-712 digest of flat typed data. @param {TypedData} td */
export function typedDataHash(td) {
  const domain = hashStruct("EIP712Domain", td.types, td.domain);
  const message = hashStruct(td.primaryType, td.types, td.message);
  return keccak_256(concatBytes(new Uint8Array([0x19, 0x01]), domain, message));
}

/** @param {string} key @param {TypedData} td @returns {string} r || s || v, 0x-hex */
export function signTypedData(key, td) {
  const sig = secp256k1.sign(typedDataHash(td), hexToBytes(strip(key)),
    { prehash: false, format: "recovered", lowS: true });
  // noble: recovery byte first; Ethereum: r || s || v (27/28)
  return "0x" + bytesToHex(sig.slice(1)) + (27 + sig[0]).toString(16);
}

/** @param {string | null | undefined} key */
export function validKey(key) {
  return /^0x[0-9a-fA-F]{64}$/.test(key || "");
}
