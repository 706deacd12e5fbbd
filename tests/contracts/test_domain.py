"""The EIP-712 domain as wallets read it (ERC-5267) and hash it (eth_account's reference
encoder), answered by the admin module at the escrow's address."""

from eth_account.messages import encode_typed_data

from giftcert import eip712


def test_eip712_domain_fields_name_this_chain_and_the_escrow(h):
    fields, name, version, chain_id, contract, salt, extensions = h.view("eip712Domain")
    assert fields == b"\x0f"  # name, version, chainId, verifyingContract
    assert (name, version) == (eip712.DOMAIN_NAME, eip712.DOMAIN_VERSION)
    assert chain_id == h.w3.eth.chain_id and contract == h.gc.address
    assert salt == b"\x00" * 32 and extensions == []


def test_domain_separator_is_the_one_a_wallet_hashes(h):
    document = eip712.claim(h.w3.eth.chain_id, h.gc.address, certificate=1, recipient=h.friend)
    signable = encode_typed_data(full_message=document)
    # EIP-191 version 0x01: the header is the domain separator, the body the struct hash.
    assert h.view("domainSeparator") == signable.header


def test_module_called_directly_answers_for_its_own_address(h):
    module = h.w3.eth.contract(address=h.view("adminModule"), abi=h.gc.abi)
    assert module.functions.eip712Domain().call()[4] == module.address
    assert module.functions.domainSeparator().call() != h.view("domainSeparator")
