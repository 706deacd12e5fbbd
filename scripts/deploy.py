"""Deploys the giftcert contracts (or reuses the recorded deployment) and records them in
deployments/<chain-id>.json. Same as `giftcert deploy`.

    python scripts/deploy.py [--fresh]     # plain Python
    ape run deploy                          # under ape (calls main())

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
    """Runs `giftcert deploy`; `ape run` calls this with no arguments."""
    from giftcert.cli import main as cli

    try:
        cli.main(args=["deploy", *(argv or [])], prog_name="deploy.py", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
