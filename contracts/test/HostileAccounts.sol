// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test helper: a contract wallet that answers every ERC-1271 query by burning all the
/// gas it is given (as a wallet that says "valid" in simulation and burns gas when mined would).
contract GasBurningWallet {
    function isValidSignature(bytes32, bytes calldata) external pure returns (bytes4) {
        while (true) {}
        return 0x1626ba7e;
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC1155Received.selector;
    }
}

/// @notice Test helper: a payee that accepts ETH and answers with a huge return value (a "return
/// bomb"): a payer that copies return data pays to copy it.
contract ReturnBombPayee {
    receive() external payable {
        assembly ("memory-safe") {
            return(0, 180000)
        }
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC1155Received.selector;
    }
}

/// @notice Test helper: a token that, inside `transferFrom`, looks at the escrow's certificate
/// it is being paid for (to prove the escrow wrote its state before calling out).
contract ObservingToken is ERC20 {
    address public escrow;
    uint256 public watchedId;
    address public ownerSeen;
    uint256 public balanceSeen;

    constructor() ERC20("Observing", "OBS") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function watch(address escrow_, uint256 id) external {
        escrow = escrow_;
        watchedId = id;
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (escrow != address(0)) {
            (, bytes memory owner) = escrow.staticcall(abi.encodeWithSignature("ownerOf(uint256)", watchedId));
            (, bytes memory bal) = escrow.staticcall(abi.encodeWithSignature("balanceOfCertificate(uint256)", watchedId));
            ownerSeen = abi.decode(owner, (address));
            balanceSeen = abi.decode(bal, (uint256));
        }
        return super.transferFrom(from, to, value);
    }
}
