"""How ./dev demo picks Docker Compose (v2 or v1) or the launcher, and what it refuses in Docker."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from scripts import demo


def _fake(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


@pytest.mark.parametrize(
    ("docker_compose_works", "v1_installed", "expected"),
    [
        (True, True, ["docker", "compose"]),
        (False, True, ["docker-compose"]),
        (False, False, None),
    ],
)
def test_compose_v2_then_v1_then_none(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    docker_compose_works: bool,
    v1_installed: bool,
    expected: list[str] | None,
) -> None:
    _fake(tmp_path, "docker", "exit 0" if docker_compose_works else "exit 1")
    if v1_installed:
        _fake(tmp_path, "docker-compose", "exit 0")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert demo.compose_command() == expected


def test_launcher_flags_are_refused_in_docker_mode(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(
        nodes=1,
        producer_port=None,
        consumer_port=9000,
        local=False,
        connect=True,
        security="sasl_ssl",
    )
    with pytest.raises(SystemExit) as raised:
        demo._run_compose(["docker", "compose"], args)
    assert raised.value.code == 2
    message = capsys.readouterr().err
    assert (
        "--nodes, --consumer-port, --connect, --security apply to the local launcher only"
        in message
    )
    assert "--local" in message
