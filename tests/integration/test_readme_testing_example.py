"""The README's complete pytest example runs as written, with the plugin a user gets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.readme import block_starting_with


def test_the_readme_pytest_example_passes(tmp_path: Path, kafka_bootstrap_servers: str) -> None:
    source = block_starting_with("python", "# test_billing.py")
    (tmp_path / "test_billing.py").write_text(source)
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers}
    # A project of the user's own: its folder, no configuration of ours, the plugin by entry point.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_billing.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
    assert f"[kafka] single broker: {kafka_bootstrap_servers} (from env)" in done.stdout
