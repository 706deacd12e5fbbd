"""Compiler toolchain: the solc-js shim, the artifact cache, compile errors, solcx registration."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import solcx
from click.testing import CliRunner

from giftcert import compiler
from giftcert.cli import main
from giftcert.compiler import SHIM, CompileError, compile_contracts, compile_sources

LIB = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
library Lib { function twice(uint256 x) internal pure returns (uint256) { return x * FACTOR; } }
uint256 constant FACTOR = 2;
"""

MAIN = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {Lib} from "./Lib.sol";
contract Main {
    function f(uint256 x) external pure returns (string memory) {
        return Strings.toString(Lib.twice(x));
    }
}
"""


@pytest.fixture
def tmp_sources(tmp_path: Path) -> Path:
    src = tmp_path / "contracts"
    src.mkdir()
    (src / "Lib.sol").write_text(LIB)
    (src / "Main.sol").write_text(MAIN)
    return src


@pytest.fixture
def count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = solcx.compile_standard

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(solcx, "compile_standard", counting)
    return calls


def test_shim_version_is_what_py_solc_x_expects() -> None:
    out = subprocess.run([str(SHIM), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout == (
        "solc, the solidity compiler commandline interface\n"
        "Version: 0.8.37+commit.f401782d.Linux.g++\n"
    )
    assert str(solcx.wrapper.get_solc_version(SHIM)) == "0.8.37"


def test_shim_help_and_unknown_option() -> None:
    assert "--standard-json" in subprocess.run(
        [str(SHIM), "--help"], capture_output=True, text=True, check=True
    ).stdout
    bad = subprocess.run([str(SHIM), "--frobnicate"], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "unrecognised option '--frobnicate'" in bad.stderr


def test_project_contracts_compile(artifacts) -> None:
    gc = artifacts["GiftCertificates"]
    # Creation code and runtime code are hex, and the runtime is what the creation code returns
    # (its last part before the metadata-free constructor arguments).
    assert gc.bytecode.startswith("0x") and len(gc.bytecode) > 1000
    assert len(gc.runtime_bytecode) > 1000 and gc.runtime_bytecode[2:200] in gc.bytecode
    assert any(item.get("type") == "function" for item in gc.abi)
    assert gc.source_path == compiler.CONTRACTS_DIR / "GiftCertificates.sol"
    # Library files pulled in by imports are not artifacts of ours.
    assert "AccessControl" not in artifacts


def test_cache_hit_is_fast_and_skips_the_compiler(artifacts, monkeypatch) -> None:
    def no_compiler(*args, **kwargs):
        raise AssertionError("the compiler ran on a cache hit")

    monkeypatch.setattr(solcx, "compile_standard", no_compiler)
    started = time.perf_counter()
    again = compile_contracts()
    assert time.perf_counter() - started < 1.0
    assert again == artifacts


def test_cache_miss_when_a_source_or_an_import_changes(
    tmp_sources: Path, tmp_path: Path, count_compiles: list[int]
) -> None:
    build = tmp_path / "build"
    first = compile_contracts(sources_dir=tmp_sources, build_dir=build)
    assert set(first) == {"Main", "Lib"} and len(count_compiles) == 1

    assert compile_contracts(sources_dir=tmp_sources, build_dir=build) == first
    explicit = [tmp_sources / "Main.sol", tmp_sources / "Lib.sol"]
    assert compile_sources(explicit, build_dir=build) == first  # same files, any order
    assert len(count_compiles) == 1  # unchanged: served from the cache

    # Editing only the imported file must invalidate too (FACTOR 2 -> 3 changes Main's code).
    (tmp_sources / "Lib.sol").write_text(LIB.replace("FACTOR = 2", "FACTOR = 3"))
    second = compile_contracts(sources_dir=tmp_sources, build_dir=build)
    assert len(count_compiles) == 2
    assert second["Main"].bytecode != first["Main"].bytecode


def test_compile_error_names_file_and_line(tmp_path: Path) -> None:
    src = tmp_path / "broken"
    src.mkdir()
    (src / "Broken.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\n"
        "contract Broken { uint x = ; }\n"
    )
    with pytest.raises(CompileError) as info:
        compile_contracts(sources_dir=src, build_dir=tmp_path / "build")
    message = str(info.value)
    assert "Broken.sol:3:" in message
    assert "ParserError" in message

    result = CliRunner().invoke(main, ["compile", "--sources", str(src)])
    assert result.exit_code == 1
    assert "Broken.sol:3:" in result.output
    assert "Traceback" not in result.output


def test_native_solc_on_path_is_preferred(tmp_path: Path, monkeypatch) -> None:
    fake = tmp_path / "solc"
    fake.write_text("#!/bin/sh\necho 'Version: 0.8.37+commit.f401782d.Linux.g++'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    compiler.find_solc.cache_clear()
    try:
        assert compiler.find_solc().path == fake
        assert compiler.find_solc().kind == "native"
        fake.write_text("#!/bin/sh\necho 'Version: 0.8.20+commit.a1b79de6.Linux.g++'\n")
        compiler.find_solc.cache_clear()
        assert compiler.find_solc().path == SHIM  # wrong version: fall back to the shim
    finally:
        compiler.find_solc.cache_clear()


def test_solcx_link_is_a_symlink_to_the_shim(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path))
    link = compiler.ensure_solcx_link()
    assert link == tmp_path / "solc-v0.8.37"
    assert link.is_symlink() and link.resolve() == SHIM.resolve()
    assert compiler.ensure_solcx_link() == link  # idempotent
    assert [str(v) for v in solcx.get_installed_solc_versions()] == ["0.8.37"]
