"""Seeds the local dev chain with demo merchants, funds and certificates in every state.
Same as `giftcert demo` (deploys first if nothing is deployed).

    python scripts/demo.py                  # plain Python
    ape run demo                            # under ape (calls main())

Settings come from the environment and .env (GIFTCERT_RPC_URL, GIFTCERT_CHAIN_ID, ...), not from
ape's network choice; ape is never imported here, so it stays optional.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from giftcert.cli import run_subcommand  # noqa: E402 - after the path is set


def main(argv: list[str] | None = None) -> int:
    """`ape run` calls this with no arguments."""
    return run_subcommand("demo", argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
