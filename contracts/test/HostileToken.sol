// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Test helper: an ERC-20 metadata impostor whose symbol() and decimals() answer
/// whatever a test sets, including answers no ABI decoder accepts. Only the metadata functions
/// exist; the renderer reads nothing else.
contract HostileToken {
    enum Mode {
        Normal, // symbol(): the ABI-encoded `symbolBytes` (any bytes, not only UTF-8)
        Raw, // symbol(): `raw` returned verbatim, no ABI encoding
        Revert, // symbol() reverts
        Huge, // symbol(): a well-formed ABI string of `hugeLength` bytes ("HUGE" then zeros)
        BurnGas // symbol() loops until it runs out of gas
    }

    Mode public mode;
    bytes public symbolBytes = "HOST";
    bytes public raw;
    uint256 public hugeLength = 100_000;
    /// @notice decimals() returns this whole word (values above 255 are not a valid uint8).
    uint256 public decimalsWord = 6;
    bool public decimalsReverts;

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function setSymbol(bytes calldata symbol_) external {
        symbolBytes = symbol_;
        mode = Mode.Normal;
    }

    function setRaw(bytes calldata raw_) external {
        raw = raw_;
        mode = Mode.Raw;
    }

    function setHugeLength(uint256 length) external {
        hugeLength = length;
        mode = Mode.Huge;
    }

    function setDecimals(uint256 word, bool reverts) external {
        decimalsWord = word;
        decimalsReverts = reverts;
    }

    function symbol() external view returns (string memory) {
        Mode m = mode;
        if (m == Mode.Revert) revert("no symbol");
        if (m == Mode.BurnGas) {
            uint256 x;
            while (gasleft() > 0) ++x;
        }
        if (m == Mode.Raw) {
            bytes memory data = raw;
            assembly ("memory-safe") {
                return(add(data, 0x20), mload(data))
            }
        }
        if (m == Mode.Huge) {
            uint256 length = hugeLength;
            assembly ("memory-safe") {
                let p := mload(0x40)
                mstore(p, 0x20)
                mstore(add(p, 0x20), length)
                mstore(add(p, 0x40), "HUGE")
                // Memory past the free pointer reads as zeros, so the rest of the string is 0x00.
                return(p, add(0x40, mul(div(add(length, 31), 32), 32)))
            }
        }
        return string(symbolBytes);
    }

    function decimals() external view returns (uint256) {
        if (decimalsReverts) revert("no decimals");
        return decimalsWord;
    }
}
