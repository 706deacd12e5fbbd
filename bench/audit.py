"""`make audit`: every reliability and security check, with the figures each one produces.

Steps (each prints its own lines, then one summary table at the end; any failed step fails the
audit with exit code 1):

1. slither on contracts/ (through the project's solc shim, see slither.config.json): findings by
   severity; high or medium fails, and every remaining detector must be explained in
   docs/security.md.
2. invariants: the stateful solvency test at HYPOTHESIS_SEQUENCES (default 2,000) and the
   signature-focused stateful test (tests/security) at SIGNATURE_SEQUENCES (default 1,000).
3. security tests: tests/security (faults, small load, hostile HTTP input).
4. load: bench/load.py, 1,000+ concurrent redemptions through the SDK (and the API).
5. schemathesis against /api/v1/openapi.json on a running waitress server.

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

# tests/contracts/test_invariants.py prints "shard N: X sequences", ours "signatures shard ...".
SEQUENCE_LINE = re.compile(r"^(signatures )?shard (\d+): (\d+) sequences", re.M)


def step_invariants() -> StepResult:
    sequences = int(os.environ.get("HYPOTHESIS_SEQUENCES", "2000"))
    signature_sequences = int(os.environ.get("SIGNATURE_SEQUENCES", "1000"))
    env = {"HYPOTHESIS_SEQUENCES": str(sequences), "SIGNATURE_SEQUENCES": str(signature_sequences)}
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
            "tests/security/test_invariants_signatures.py",
        ],
        env=env,
    )
    counts: Counter = Counter()
    for kind, _shard, ran in SEQUENCE_LINE.findall(proc.stdout):
        counts["signatures" if kind else "solvency"] += int(ran)
    figures = {
        "solvency sequences": counts["solvency"],
        "signature sequences": counts["signatures"],
    }
    print(
        f"  sequences run: solvency {counts['solvency']} (asked {sequences}), "
        f"signatures {counts['signatures']} (asked {signature_sequences})"
    )
    ok = (
        proc.returncode == 0
        and counts["solvency"] >= sequences
        and counts["signatures"] >= signature_sequences
    )
    return StepResult("invariants", ok, figures, detail="" if ok else _tail(proc.stdout))


# -- 4. load ----------------------------------------------------------------------------------


def step_load() -> StepResult:
    redemptions = os.environ.get("LOAD_REDEMPTIONS", "1200")
    proc = run([str(VENV / "python"), "-m", "bench.load", "--redemptions", redemptions])
    print("\n".join("  " + line.strip() for line in proc.stdout.splitlines()[:-1]))
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return StepResult("load", False, detail=_tail(proc.stdout + proc.stderr))
    figures = {
        "redemptions": result["planned"],
        "landed": result["landed"],
        "refused with reason": sum(result["failed_by_reason"].values()),
        "lost": result["lost"],
        "throughput/s": result["throughput_per_s"],
    }
    ok = proc.returncode == 0 and result["lost"] == 0 and not result["mismatches"]
    return StepResult("load", ok, figures, detail="" if ok else _tail(proc.stderr))


STEPS: dict[str, Callable[[], StepResult]] = {
    "slither": step_slither,
    "invariants": step_invariants,
    "load": step_load,
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
