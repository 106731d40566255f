"""Build a small Maven project once and cache the build, keyed by a digest of its sources.

The Java peers of the tests (``tests/spring_peer``) and the benchmarks' Spring Boot reference
(``bench/spring_reference``) are compiled into the same cache as the Kafka jars, so a second run
starts at once. Parallel sessions: one builds, the others wait for it.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from pathlib import Path

from kafka_kit.local_kafka.artifacts import cache_root

__all__ = ["built_classpath"]


def _digest(project: Path) -> str:
    files = [project / "pom.xml", *sorted((project / "src").rglob("*.*"))]
    sha = hashlib.sha256()
    for path in files:
        sha.update(path.relative_to(project).as_posix().encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def built_classpath(project: Path, name: str, build_dir_property: str) -> str:
    """The classpath (its classes first) of ``project``, built with Maven if never built."""
    home = cache_root() / name / _digest(project)
    classes, classpath = home / "classes", home / "classpath.txt"
    if not classpath.exists():
        home.mkdir(parents=True, exist_ok=True)
        with open(home / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not classpath.exists():
                _build(project, home, build_dir_property)
    return f"{classes}:{classpath.read_text().strip()}"


def _build(project: Path, home: Path, build_dir_property: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError(f"Maven is needed to build {project.name}")
    partial = home / "classpath.partial"
    done = subprocess.run(
        [
            mvn, "-q", "-B", "-f", str(project / "pom.xml"), f"-D{build_dir_property}={home}",
            "compile", "dependency:build-classpath", f"-Dmdep.outputFile={partial}",
            "-Dmdep.includeScope=runtime",
        ],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(
            f"building {project.name} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    partial.rename(home / "classpath.txt")  # last: its presence says the build is complete
