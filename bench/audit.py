"""`make audit`: every reliability and security check, with the figures each one produces.

Steps (each prints its own lines, then one summary table at the end; any failed step fails the
audit with exit code 1):

1. slither on contracts/ (through the project's solc shim, see slither.config.json): findings by
   severity; high or medium fails, and every remaining detector must be explained in
   docs/security.md.
2. invariants: the stateful solvency test at HYPOTHESIS_SEQUENCES (default 2,000) and the
   signature-focused stateful test (tests/security) at SIGNATURE_SEQUENCES (default 1,000).
3. security tests: tests/security (faults, small load, hostile HTTP input).
4. load: bench/load.py, 1,000+ concurrent redemptions through the SDK and through the web API
   (`LOAD_VIA=sdk,api`, `LOAD_REDEMPTIONS`).
5. schemathesis against /api/v1/openapi.json on a running waitress server, positive (data
   generated from the schemas) and negative (data that breaks them): no server error, every
   status and body as documented.

`python -m bench.audit --only slither,load` runs a subset. Docs: docs/security.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
AUDIT_VENV = ROOT / ".venv" / "audit" / "bin"
SECURITY_DOC = ROOT / "docs" / "security.md"
SEVERITIES = ("High", "Medium", "Low", "Informational", "Optimization")


@dataclass
class StepResult:
    name: str
    ok: bool
    figures: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0
    detail: str = ""


def run(
    cmd: list[str], *, env: dict[str, str] | None = None, timeout: float = 3600, echo: bool = True
) -> subprocess.CompletedProcess:
    if echo:
        print("$", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# -- 1. slither --------------------------------------------------------------------------------


def slither_targets() -> list[Path]:
    """Every top-level source (contracts/test holds test helpers and is not analysed)."""
    return sorted((ROOT / "contracts").glob("*.sol"))


def step_slither() -> StepResult:
    findings: dict[str, dict] = {}
    for target in slither_targets():
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "slither.json"
            proc = run(
                [
                    str(AUDIT_VENV / "slither"),
                    str(target.relative_to(ROOT)),
                    "--config-file",
                    "slither.config.json",
                    "--json",
                    str(out),
                ]
            )
            if not out.exists():
                return StepResult("slither", False, detail=_tail(proc.stdout + proc.stderr))
            report = json.loads(out.read_text())
        if not report.get("success"):
            return StepResult("slither", False, detail=str(report.get("error")))
        for finding in report["results"].get("detectors", []):
            findings[finding["id"]] = finding  # files importing each other report it twice
    by_severity = Counter(f["impact"] for f in findings.values())
    doc = SECURITY_DOC.read_text() if SECURITY_DOC.exists() else ""
    unexplained = sorted({f["check"] for f in findings.values() if f"`{f['check']}`" not in doc})
    for f in sorted(findings.values(), key=lambda f: (SEVERITIES.index(f["impact"]), f["check"])):
        where = f["first_markdown_element"]
        print(f"  [{f['impact']}/{f['confidence']}] {f['check']}: {where}")
    figures = {sev.lower(): by_severity.get(sev, 0) for sev in SEVERITIES}
    print(
        "  slither findings by severity: "
        + ", ".join(f"{sev.lower()} {figures[sev.lower()]}" for sev in SEVERITIES)
    )
    ok = figures["high"] == 0 and figures["medium"] == 0 and not unexplained
    detail = f"not explained in docs/security.md: {', '.join(unexplained)}" if unexplained else ""
    return StepResult("slither", ok, figures, detail=detail)


# -- 2. invariants -----------------------------------------------------------------------------

# tests/contracts/test_invariants.py prints "shard N: X sequences", the others "signatures shard
# ..." and "tabs shard ...".
SEQUENCE_LINE = re.compile(r"^(signatures |tabs )?shard (\d+): (\d+) sequences", re.M)


def step_invariants() -> StepResult:
    sequences = int(os.environ.get("HYPOTHESIS_SEQUENCES", "2000"))
    signature_sequences = int(os.environ.get("SIGNATURE_SEQUENCES", "1000"))
    tab_sequences = int(os.environ.get("TAB_SEQUENCES", "2000"))
    env = {"HYPOTHESIS_SEQUENCES": str(sequences), "SIGNATURE_SEQUENCES": str(signature_sequences),
           "TAB_SEQUENCES": str(tab_sequences)}
    # -rA prints each passed test's captured stdout, where the shards report their counts.
    proc = run(
        [
            str(VENV / "pytest"),
            "-q",
            "-n",
            "2",
            "-rA",
            "-p",
            "no:randomly",
            "tests/contracts/test_invariants.py",
            "tests/contracts/test_tabs_stateful.py",
            "tests/security/test_invariants_signatures.py",
        ],
        env=env,
    )
    counts: Counter = Counter()
    for kind, _shard, ran in SEQUENCE_LINE.findall(proc.stdout):
        counts[kind.strip() or "solvency"] += int(ran)
    figures = {
        "solvency sequences": counts["solvency"],
        "signature sequences": counts["signatures"],
        "tab sequences": counts["tabs"],
    }
    print(
        f"  sequences run: solvency {counts['solvency']} (asked {sequences}), "
        f"signatures {counts['signatures']} (asked {signature_sequences}), "
        f"tabs {counts['tabs']} (asked {tab_sequences})"
    )
    ok = (
        proc.returncode == 0
        and counts["solvency"] >= sequences
        and counts["signatures"] >= signature_sequences
        and counts["tabs"] >= tab_sequences
    )
    return StepResult("invariants", ok, figures, detail="" if ok else _tail(proc.stdout))


# -- 3. fast security tests --------------------------------------------------------------------


def step_security_tests() -> StepResult:
    proc = run(
        [
            str(VENV / "pytest"),
            "-q",
            "-n",
            "2",
            "tests/security",
            "--deselect",
            "tests/security/test_invariants_signatures.py",
        ]
    )
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    print("  " + last)
    figures = {"passed": _count(r"(\d+) passed", last), "failed": _count(r"(\d+) failed", last)}
    ok = proc.returncode == 0
    return StepResult("security tests", ok, figures, detail="" if ok else _tail(proc.stdout, 60))


# -- 4. load ----------------------------------------------------------------------------------


def _load_run(via: str, redemptions: str) -> tuple[dict | None, subprocess.CompletedProcess]:
    """One `bench.load` run (`via` sdk or api): its JSON result (None if it printed none)."""
    proc = run(
        [str(VENV / "python"), "-m", "bench.load", "--via", via, "--redemptions", redemptions]
    )
    print("\n".join("  " + line.strip() for line in proc.stdout.splitlines()[:-1]))
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1]), proc
    except (IndexError, json.JSONDecodeError):
        return None, proc


def step_load() -> StepResult:
    """The load run through the SDK and through the web API (`LOAD_VIA`, default both)."""
    redemptions = os.environ.get("LOAD_REDEMPTIONS", "1200")
    ways = [w.strip() for w in os.environ.get("LOAD_VIA", "sdk,api").split(",") if w.strip()]
    figures: dict[str, object] = {"redemptions": redemptions}
    ok, details = True, []
    for via in ways:
        result, proc = _load_run(via, redemptions)
        if result is None:
            ok = False
            details.append(f"{via}: no result\n" + _tail(proc.stdout + proc.stderr))
            continue
        refused = result["failed_by_reason"]
        figures[f"{via} landed"] = result["landed"]
        figures[f"{via} refused"] = sum(refused.values())
        figures[f"{via} refused by reason"] = (
            " ".join(f"{k}:{v}" for k, v in refused.items()) or "-"
        )
        # WrongNonce split: replays of a landed authorisation / superseded before landing
        figures[f"{via} replays refused"] = result.get("replays_refused", 0)
        figures[f"{via} superseded"] = result.get("superseded", 0)
        figures[f"{via} lost"] = result["lost"]
        figures[f"{via} duplicates"] = result["duplicates_on_chain"]
        figures[f"{via} errors"] = result.get("errors", 0)
        figures[f"{via} throughput/s"] = result["throughput_per_s"]
        figures[f"{via} seconds"] = result["seconds"]
        good = (
            proc.returncode == 0
            and result["lost"] == 0
            and result["duplicates_on_chain"] == 0
            and not result["mismatches"]
            and result.get("errors", 0) == 0
        )
        if not good:
            ok = False
            details.append(f"{via}: " + _tail(proc.stderr or json.dumps(result)))
    return StepResult("load", ok, figures, detail="\n".join(details))


# -- 5. schemathesis against the running site ------------------------------------------------


@contextmanager
def running_site(certificates: int = 40, redemptions: int = 20):
    """anvil + deployment + a few certificates and redemptions, indexed, and `giftcert serve`
    (waitress) on loopback; yields the base URL."""
    from bench.index_bench import seed
    from bench.stack import local_system
    from giftcert.indexer import Indexer

    with local_system(accounts=20) as system:
        admin = system.admin()
        seed(system.w3, system.node.rpc_url, admin, system.w3.eth.accounts, certificates,
             redemptions, lambda _: None)
        Indexer(system.w3, admin.contract, system.settings.database_url,
                start_block=system.record.block).sync()
        with system.serve() as url:
            yield url


def step_schemathesis() -> StepResult:
    examples = os.environ.get("SCHEMATHESIS_EXAMPLES", "30")
    with running_site() as base, tempfile.TemporaryDirectory() as reports:
        junit = Path(reports) / "junit.xml"
        proc = run(
            [
                str(AUDIT_VENV / "schemathesis"),
                "run",
                f"{base}/api/v1/openapi.json",
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,"
                "response_schema_conformance",
                "--mode",
                "all",  # positive (data made from the schemas) and negative (against them)
                "--max-examples",
                examples,
                "--seed",
                "1",
                "--request-timeout",
                "20",
                "--report",
                "junit",
                "--report-junit-path",
                str(junit),
                "--no-color",
            ],
            timeout=1800,
            # test data for the API's string formats (addresses, amounts)
            env={"SCHEMATHESIS_HOOKS": str(ROOT / "bench" / "schemathesis_hooks.py")},
        )
        summary = [line for line in proc.stdout.splitlines() if line.strip()][-12:]
        print("\n".join("  " + line for line in summary))
    log = ROOT / ".giftcert" / "audit-schemathesis.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text(proc.stdout + proc.stderr)
    tail = proc.stdout.split("Test cases:")[-1]
    figures = {
        "operations": _count(r"Tested:\s*(\d+)", proc.stdout),
        "cases": _count(r"(\d+) generated", tail),
        "failures": _count(r"found (\d+) unique failures", tail),
        "5xx": _count(r"Server error:\s*(\d+)", proc.stdout),
    }
    print(
        f"  schemathesis: {figures['cases']} cases, {figures['failures']} failures, "
        f"5xx {figures['5xx']} (full log: {log.relative_to(ROOT)})"
    )
    ok = proc.returncode == 0 and figures["cases"] > 0
    return StepResult("schemathesis", ok, figures, detail="" if ok else _tail(proc.stdout, 80))


def _count(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    return int(match.group(1)) if match else 0


STEPS: dict[str, Callable[[], StepResult]] = {
    "slither": step_slither,
    "invariants": step_invariants,
    "tests": step_security_tests,
    "load": step_load,
    "schemathesis": step_schemathesis,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated steps: " + ",".join(STEPS))
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(STEPS)
    results = []
    for name in names:
        print(f"\n== audit: {name}", flush=True)
        start = time.monotonic()
        result = STEPS[name]()
        result.seconds = time.monotonic() - start
        if result.detail:
            print(result.detail)
        print(f"== {name}: {'ok' if result.ok else 'FAILED'} ({result.seconds:.0f} s)", flush=True)
        results.append(result)
    print("\naudit summary")
    for result in results:
        shown = ", ".join(f"{k} {v}" for k, v in result.figures.items())
        print(f"  {'ok  ' if result.ok else 'FAIL'} {result.name:<12} {shown}")
    failed = [r.name for r in results if not r.ok]
    print("audit: " + ("all checks passed" if not failed else "FAILED: " + ", ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
