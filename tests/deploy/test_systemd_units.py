"""The systemd units of deploy/: their commands exist in the virtualenv and their flags parse;
systemd itself finds nothing to say about them (where `systemd-analyze` is installed).

They cannot run here (no systemd as PID 1); the nginx test starts the platform with the
platform unit's own ExecStart.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from plugit_deploy_kit import (
    ENV_EXAMPLE,
    MAIL_UNIT,
    PLATFORM_UNIT,
    ROOT,
    UNIT_VENV,
    VENV_BIN,
    local_command,
    read_env_file,
)

from plugit.cli import build_parser

UNITS = {PLATFORM_UNIT: "plugit-platform@8001.service", MAIL_UNIT: "plugit-mail-worker.service"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_the_units_command_is_in_the_virtualenv_and_its_flags_parse(unit: Path) -> None:
    program, *arguments = local_command(unit, "8001")
    assert os.access(program, os.X_OK), program
    parsed = build_parser().parse_args(arguments)
    assert callable(parsed.handler)


def test_the_platform_unit_serves_the_instances_port_on_loopback_with_one_worker() -> None:
    _, *arguments = local_command(PLATFORM_UNIT, "8001")
    parsed = build_parser().parse_args(arguments)
    assert (parsed.host, parsed.port, parsed.workers) == ("127.0.0.1", 8001, 1)


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_systemd_analyze_verify_finds_nothing(unit: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (the units' commands are checked above)")
    copy = tmp_path / UNITS[unit]  # an instance name, for the template; this virtualenv
    copy.write_text(unit.read_text().replace(UNIT_VENV + "/bin/", f"{VENV_BIN}/"))
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr.strip()) == (0, ""), done.stderr


def test_the_units_read_the_environment_file_where_the_docs_install_it() -> None:
    docs = (ROOT / "docs" / "operating-a-platform.md").read_text()
    for unit in UNITS:
        assert "EnvironmentFile=/etc/plugit/platform.env" in unit.read_text().splitlines()
        assert f"/opt/plugit/src/deploy/systemd/{unit.name}" in docs
    assert f"/opt/plugit/src/deploy/{ENV_EXAMPLE.name} /etc/plugit/platform.env" in docs


def test_every_variable_of_the_example_is_documented() -> None:
    reference = (ROOT / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"`(PLUGIT_[A-Z0-9_]+)`", reference))
    assert set(read_env_file(ENV_EXAMPLE)) - documented == set()
