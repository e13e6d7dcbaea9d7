
import typer
from typer.testing import CliRunner

from nntopo.cli import app

runner = CliRunner()


def test_help_on_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    commands = list(typer.main.get_command(app).commands)
    assert "demo" in commands
    for name in commands:
        r = runner.invoke(app, [name, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output


def test_version():
    r = runner.invoke(app, ["version"])
    assert r.exit_code == 0 and r.output.strip()
