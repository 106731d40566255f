"""What the repository holds: sources, not what runs leave behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kafka_kit.streams import StreamsSettings
from kafka_kit.streams.settings import default_state_dir

ROOT = Path(__file__).resolve().parents[2]
MAX_TRACKED_BYTES = 5 * 1024 * 1024


def _tracked() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout (an unpacked sdist): nothing is tracked")
    return [ROOT / name for name in listed.stdout.decode().split("\0") if name]


def test_no_tracked_file_is_larger_than_5_mb() -> None:
    sizes = {path: path.stat().st_size for path in _tracked() if path.is_file()}
    too_large = {str(p.relative_to(ROOT)): n for p, n in sizes.items() if n > MAX_TRACKED_BYTES}
    assert sizes, "git ls-files listed nothing"
    assert too_large == {}, f"tracked files over 5 MB: {too_large}"


def test_no_stream_state_is_tracked() -> None:
    # RocksDB files (*.sst, MANIFEST-*, …) under a state folder are what a run leaves behind.
    state = [
        str(p.relative_to(ROOT))
        for p in _tracked()
        if "state" in p.relative_to(ROOT).parts[:1] or p.suffix == ".sst"
    ]
    assert state == []


def test_the_state_stores_default_to_the_users_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KAFKA_STREAMS_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    settings = StreamsSettings(application_id="stats")
    assert settings.state_path == tmp_path / "kafka-kit" / "streams" == default_state_dir()
    assert not settings.state_path.is_relative_to(Path.cwd())
    monkeypatch.setenv("KAFKA_STREAMS_STATE_DIR", "/srv/streams")
    assert StreamsSettings(application_id="stats").state_path == Path("/srv/streams")
