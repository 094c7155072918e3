import subprocess
import sys

from .conftest import ROOT


def test_style_ruff_clean():
    """The codebase passes ruff (including T20: only cli.py may print)."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "pipeline", "tests"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
