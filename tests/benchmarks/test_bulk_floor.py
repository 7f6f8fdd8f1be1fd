"""A smoke test of the bulk floor script: it runs, and its unchecked
builder builds the very objects the library loads (the script refuses to
report otherwise)."""

import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "bulk_floor.py"


def test_the_floor_script_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--count", "20", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "single get",
        "get_by_instance_uuids",
        "rows + orjson",
        "rows + orjson + unchecked objects",
    ]
    assert all(line.endswith("x") for line in lines)
