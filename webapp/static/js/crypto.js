// Claim-link keys in the browser: the key never leaves this page (it lives in the URL
// fragment, which browsers do not send). EIP-712 hashing for flat structs + secp256k1 signing.
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, hexToBytes, utf8ToBytes, concatBytes } from "@noble/hashes/utils.js";

const strip = (h) => (h.startsWith("0x") ? h.slice(2) : h);
const word = (n) => hexToBytes(BigInt(n).toString(16).padStart(64, "0"));

export function newKey() {
  return "0x" + bytesToHex(secp256k1.utils.randomSecretKey());
}

export function addressOf(key) {
  const pub = secp256k1.getPublicKey(hexToBytes(strip(key)), false).slice(1);
  return "0x" + bytesToHex(keccak_256(pub).slice(-20));
}

function encodeType(name, types) {
  return `${name}(${types[name].map((f) => `${f.type} ${f.name}`).join(",")})`;
}

function encodeValue(type, value) {
  if (type === "string") return keccak_256(utf8ToBytes(value));
  if (type === "address") return word(BigInt(value));
  if (/^u?int\d*$/.test(type)) return word(BigInt(value));
  if (type === "bool") return word(value ? 1 : 0);
  if (type === "bytes32") return hexToBytes(strip(value));
  throw new Error(`unsupported EIP-712 type ${type}`);
}

function hashStruct(name, types, data) {
  const parts = [keccak_256(utf8ToBytes(encodeType(name, types)))];
  for (const f of types[name]) parts.push(encodeValue(f.type, data[f.name]));
  return keccak_256(concatBytes(...parts));
}

export function typedDataHash(td) {
  const domain = hashStruct("EIP712Domain", td.types, td.domain);
  const message = hashStruct(td.primaryType, td.types, td.message);
  return keccak_256(concatBytes(new Uint8Array([0x19, 0x01]), domain, message));
}

export function signTypedData(key, td) {
  const sig = secp256k1.sign(typedDataHash(td), hexToBytes(strip(key)),
    { prehash: false, format: "recovered", lowS: true });
  // noble: recovery byte first; Ethereum: r || s || v (27/28)
  return "0x" + bytesToHex(sig.slice(1)) + (27 + sig[0]).toString(16);
}

export function validKey(key) {
  return /^0x[0-9a-fA-F]{64}$/.test(key || "");
}
