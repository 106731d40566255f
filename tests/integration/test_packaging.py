"""The library as a user gets it: wheel and sdist built, the wheel installed beside someone else's
``shared`` package in a fresh virtualenv, and a send → listen round trip from there."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs inside the fresh virtualenv, from a folder that has a `shared/` package of its own.
SMOKE = textwrap.dedent(
    """
    import asyncio, importlib, importlib.util, os, sys, uuid
    from pathlib import Path

    import kafka_kit
    from kafka_kit import KafkaKitError, KafkaSettings, KafkaTemplate, ListenerRegistry
    from kafka_kit import kafka_listener
    from kafka_kit.errors import DeserializationError

    shared = importlib.import_module("shared")  # the user's own, unrelated package
    assert shared.WHO == "unrelated", shared.__file__
    assert Path(kafka_kit.__file__).is_relative_to(sys.prefix), kafka_kit.__file__
    assert (Path(kafka_kit.__file__).parent / "py.typed").exists()
    assert kafka_kit.__version__
    assert issubclass(DeserializationError, KafkaKitError)
    assert DeserializationError.__module__ == "kafka_kit.errors"
    services = ("event_contract", "producer_service", "consumer_service")
    for absent in (*services, "tests", "bench", "fastapi"):
        assert importlib.util.find_spec(absent) is None, absent
    missing = [n for n in kafka_kit.__all__ if not hasattr(kafka_kit, n)]
    assert not missing, missing


    async def round_trip() -> None:
        settings = KafkaSettings(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"])
        topic = f"packaging-{uuid.uuid4().hex[:8]}"
        registry = ListenerRegistry()
        received = asyncio.get_running_loop().create_future()

        @kafka_listener(topic, group_id=f"{topic}-group", registry=registry)
        async def on_order(order: dict) -> None:
            received.set_result(order)

        async with KafkaTemplate(settings) as template:
            sent = await template.send(topic, {"order": 7}, key="customer-7")
            await registry.start(settings)
            try:
                order = await asyncio.wait_for(received, 60)
            finally:
                await registry.stop()
        assert order == {"order": 7}, order
        print(f"round trip: {sent.topic}-{sent.partition}@{sent.offset} -> {order}")


    asyncio.run(round_trip())
    """
)


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist, and the wheel built from it (what `python -m build` does)."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], ROOT)
    (sdist,) = out.glob("kafka_kit-*.tar.gz")
    (wheel,) = out.glob("kafka_kit-*.whl")
    return sdist, wheel


def test_the_wheel_holds_the_library_and_nothing_else(built: tuple[Path, Path]) -> None:
    _, wheel = built
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert {t for t in top_level if not t.endswith(".dist-info")} == {"kafka_kit"}
    assert "kafka_kit/py.typed" in names
    assert "kafka_kit/testing/plugin.py" in names
    metadata = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "kafka_kit = kafka_kit.testing.plugin" in entry_points
    assert "kafka-kit = kafka_kit.cli:main" in entry_points  # the console script


def test_the_wheel_works_beside_another_shared_package(
    built: tuple[Path, Path], tmp_path: Path, kafka_bootstrap_servers: str
) -> None:
    _, wheel = built
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    # Someone else's package named `shared`, installed, and a local `shared/` in the working dir.
    other = tmp_path / "other"
    (other / "shared").mkdir(parents=True)
    (other / "shared" / "__init__.py").write_text('WHO = "unrelated"\n')
    (other / "pyproject.toml").write_text(
        '[project]\nname = "unrelated-shared"\nversion = "1.0"\n'
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    _run([python, "-m", "pip", "install", "--quiet", str(other)], tmp_path)
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "-c",
            str(ROOT / "constraints.txt"),
            str(wheel),
        ],
        tmp_path,
    )
    # Beside the local `shared/`: the script's folder comes first on sys.path.
    (other / "smoke.py").write_text(SMOKE)
    env = {"PATH": "/usr/bin:/bin", "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers}
    output = _run([python, str(other / "smoke.py")], other, env)
    assert "round trip:" in output and "{'order': 7}" in output
    # The console script works with the core dependencies alone (no web extra).
    usage = _run([str(env_dir / "bin" / "kafka-kit"), "run", "--help"], other, env)
    assert "MODULE:APP" in usage and "--workers" in usage
    # The unrelated package is still whole after the library was installed beside it.
    listed = _run([python, "-m", "pip", "show", "-f", "unrelated-shared"], tmp_path)
    assert "shared/__init__.py" in listed
