"""giftcert: tokenized gift certificates. The SDK that the CLI, web app, scripts and tests use.

- `giftcert.client.GiftCert`: one deployed contract, acting as one account; every operation as
  a method (`client.split(...)`), each of which is `client.calls.split(...).send()`.
- `giftcert.calls`: the same operations as `PreparedCall`s, sent or returned unsigned for a
  browser wallet (`client.acting_as(address).calls.split(...).unsigned()`).
- `giftcert.errors`: `GiftCertError` and below it `InvalidInput` (a ValueError), the contract's
  errors (`ContractRevert` subclasses), `NodeError`.
- Rules written once: `giftcert.rules` (status, merge compatibility), `giftcert.rows` (batch CSV),
  `giftcert.authorization` (the gc2 text, signer checks), `giftcert.money` (amounts, currency
  lookup), `giftcert.inputs` (addresses, numbers, messages).
- `giftcert.abis`: the contracts' ABIs, shipped in giftcert/abi/ (connecting never compiles).
"""

__version__ = "0.1.0"
