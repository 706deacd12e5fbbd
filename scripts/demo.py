"""Seeds the local dev chain with demo merchants, funds and certificates in every state.
Same as `giftcert demo` (deploys first if nothing is deployed).

    python scripts/demo.py                  # plain Python
    ape run demo                            # under ape (calls main())

Settings come from the environment and .env (GIFTCERT_RPC_URL, GIFTCERT_CHAIN_ID, ...), not from
ape's network choice; ape is never imported here, so it stays optional.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    """Runs `giftcert demo`; `ape run` calls this with no arguments."""
    from giftcert.cli import main as cli

    try:
        cli.main(args=["demo", *(argv or [])], prog_name="demo.py", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
