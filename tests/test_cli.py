"""The command line skeleton (issue 3)."""

import subprocess
import sys

import pytest

from matteralign.cli import SUBCOMMANDS, main


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ("models", "datasets", "embed", "align", "report"):
        assert name in out
    assert set(SUBCOMMANDS) == {"models", "datasets", "embed", "align", "report"}


def test_unknown_subcommand_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "invalid choice" in err


def test_bad_option_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["models", "--no-such-option"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_python_dash_m_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "matteralign", "--version"],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.startswith("matteralign ")
