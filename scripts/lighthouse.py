"""`make lighthouse`: Lighthouse's four scores (performance, accessibility, best practices, SEO)
for the main pages (home, give, a holder's gifts, pay) at mobile and desktop.

Offline, on its own stack: a fresh anvil on a free port with the contracts deployed and the
demo seeded, the site served by `giftcert serve` (waitress) as `make run` serves it, and npm's
`lighthouse` (pinned in package.json) driving Debian's Chromium (`CHROME_PATH`, default
/usr/bin/chromium, headless). Nothing is downloaded.

    .venv/bin/python scripts/lighthouse.py [--min 95] [--pages home,give] [--json out.json]

Exits 1 when a score is below --min (default 0: print only).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from giftcert.chain import Anvil, free_port  # noqa: E402
from giftcert.client import GiftCert  # noqa: E402
from giftcert.config import ANVIL_DEV_KEYS, load_settings  # noqa: E402
from giftcert.demo import run_demo  # noqa: E402
from giftcert.deploy import contract_at, deploy_system  # noqa: E402
from webapp.present import gift_ref  # noqa: E402

CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
CHROME_FLAGS = ("--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                "--disable-background-networking --disable-component-update --disable-sync")


def serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("GIFTCERT_")} | env
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "giftcert.cli", "--env-file",
                                 str(log.parent / "none.env"), "serve"], cwd=ROOT, env=full,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the site did not answer on {url}")


def lighthouse(url: str, form: str) -> dict[str, int]:
    command = [str(ROOT / "node_modules" / ".bin" / "lighthouse"), url, "--output=json",
               "--output-path=stdout", "--quiet", f"--chrome-flags={CHROME_FLAGS}",
               f"--only-categories={','.join(CATEGORIES)}"]
    if form == "desktop":
        command.append("--preset=desktop")
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)
    if done.returncode != 0:
        raise SystemExit(f"lighthouse failed on {url}:\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    return {c: round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min", type=int, default=0, help="fail below this score")
    parser.add_argument("--pages", default="home,give,holder,pay")
    parser.add_argument("--json", type=Path, help="also write the scores here")
    args = parser.parse_args(argv)
    anvil = Anvil.on_free_port()
    site = None
    try:
        state = Path(tempfile.mkdtemp(prefix="giftcert-lighthouse-"))
        port = free_port()
        env = {"GIFTCERT_RPC_URL": anvil.rpc_url, "GIFTCERT_CHAIN_ID": "31337",
               "GIFTCERT_ANVIL_PORT": str(anvil.port), "GIFTCERT_STATE_DIR": str(state),
               "GIFTCERT_DATABASE_URL": f"sqlite:///{state / 'index.db'}",
               "GIFTCERT_DEPLOYMENTS_DIR": str(state / "deployments"),
               "GIFTCERT_WEB_HOST": "127.0.0.1", "GIFTCERT_WEB_PORT": str(port)}
        settings = load_settings(state / "none.env", environ=env)
        from web3 import Web3

        w3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
        record, _ = deploy_system(w3, settings, directory=state / "deployments",
                                  say=lambda _m: None)
        admin = GiftCert(w3, contract_at(w3, record), private_key=ANVIL_DEV_KEYS[0])
        demo = run_demo(admin, say=lambda _m: None)
        site = serve(env, state / "serve.log")
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/")
        paths = {"home": "/", "give": "/give", "holder": f"/holder/{demo['holder']}",
                 "pay": f"/pay/{gift_ref(int(demo['fresh']))}"}
        wait_for(base + paths["pay"])
        wanted = [p for p in args.pages.split(",") if p]
        scores: dict[str, dict[str, dict[str, int]]] = {}
        print(f"{'page':<8} {'form':<8} " + " ".join(f"{c:>15}" for c in CATEGORIES))
        low = False
        for name in wanted:
            for form in ("mobile", "desktop"):
                got = lighthouse(base + paths[name], form)
                scores.setdefault(name, {})[form] = got
                low |= any(v < args.min for v in got.values())
                print(f"{name:<8} {form:<8} " + " ".join(f"{got[c]:>15}" for c in CATEGORIES),
                      flush=True)
        if args.json:
            args.json.write_text(json.dumps(scores, indent=2))
        return 1 if low else 0
    finally:
        if site is not None:
            site.terminate()
            site.wait(timeout=10)
        anvil.stop()


if __name__ == "__main__":
    sys.exit(main())
