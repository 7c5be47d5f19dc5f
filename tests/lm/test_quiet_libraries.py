"""Normal runs print no library warnings or weight-loading bars; `--verbose` brings them back."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

LOAD = """
import sys, warnings
from llmrl.cli.app import quiet_libraries
if sys.argv[1] == "quiet":
    quiet_libraries()
warnings.warn("a library notice", FutureWarning)
from llmrl.lm import load_lm
load_lm("smollm2-135m")
print("loaded")
"""


# What quiet_libraries sets: a CLI test in this worker may already have set them in os.environ.
QUIET_VARIABLES = ("TRANSFORMERS_VERBOSITY", "TRANSFORMERS_NO_ADVISORY_WARNINGS", "HF_HUB_DISABLE_PROGRESS_BARS")


def _stderr(mode: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in QUIET_VARIABLES}
    done = subprocess.run([sys.executable, "-c", LOAD, mode], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0 and "loaded" in done.stdout, done.stderr
    return done.stderr


def test_loading_the_embedded_model_is_quiet_unless_verbose():
    assert _stderr("quiet").strip() == ""
    noisy = _stderr("verbose")
    assert "Loading weights" in noisy and "FutureWarning" in noisy


def test_llmrl_own_warnings_still_show():
    import warnings

    from llmrl.cli.app import quiet_libraries

    with warnings.catch_warnings(record=True) as caught:
        quiet_libraries()
        exec(compile('import warnings; warnings.warn("cache failed", UserWarning)', "x", "exec"),
             {"__name__": "llmrl.lm.sqlite_store"})
        warnings.warn("a library notice", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["cache failed"]


def test_cli_has_a_verbose_switch():
    from typer.testing import CliRunner

    from llmrl.cli import app

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "--verbose" in result.output
