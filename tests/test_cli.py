import json
import re

import pytest
from click.testing import CliRunner

from pipeline.cli import cli

from .conftest import ROOT, SAMPLE


@pytest.fixture()
def run(model_dir):
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, [*args], input=input, catch_exceptions=False)

    return invoke


def test_cli_annotate_json_to_stdout(run, model_dir):
    result = run("annotate", str(SAMPLE), "--format", "json", "--model", str(model_dir))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["article"]["id"] == "sample-article"
    labels = {c["label"] for c in data["claims"]}
    assert {"study-backed", "anecdotal", "promotional"} <= labels


def test_cli_annotate_stdin_jsonl(run, model_dir):
    text = (
        "Our cleanse detoxes your liver overnight, guaranteed!\nFree delivery on all orders over 30 pounds.\n"
    )
    result = run("annotate", "-", "--format", "jsonl", "--model", str(model_dir), input=text)
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["label"] for r in rows] == ["promotional"]
    assert rows[0]["article_id"] == "stdin"


def test_cli_annotate_html_out(run, model_dir, tmp_path):
    out = tmp_path / "report.html"
    result = run("annotate", str(SAMPLE), "--format", "html", "-o", str(out), "--model", str(model_dir))
    assert result.exit_code == 0
    assert out.read_text().startswith("<!doctype html>")


def test_cli_one_bad_article_does_not_stop_the_others(run, model_dir, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.4 fake")
    result = run(
        "annotate",
        str(empty),
        str(SAMPLE),
        str(pdf),
        str(tmp_path / "missing.txt"),
        "--format",
        "jsonl",
        "--model",
        str(model_dir),
    )
    assert result.exit_code == 1
    assert {json.loads(line)["article_id"] for line in result.stdout.splitlines()} == {"sample-article"}
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 3
    assert any("[E101]" in e for e in errors) and any("[E110]" in e and "PDF" in e for e in errors)
    assert "Traceback" not in result.output


def test_cli_fail_on_promotional_gates(run, model_dir):
    result = run(
        "annotate", str(SAMPLE), "--format", "json", "--fail-on", "promotional", "--model", str(model_dir)
    )
    assert result.exit_code == 3
    calm = "The clinic opens at nine.\n"
    result = run("annotate", "-", "--fail-on", "flagged", "--model", str(model_dir), input=calm)
    assert result.exit_code == 0


def test_cli_corrupt_model_is_one_line_error(run, model_dir, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "weights.npz").write_bytes(b"garbage")
    result = run("annotate", str(SAMPLE), "--model", str(broken))
    assert result.exit_code == 1
    assert re.search(r"Error: \[E304\] .*weights.npz is corrupt", result.stderr)
    assert "Traceback" not in result.output


def test_cli_missing_model_says_how_to_fix(run, tmp_path):
    result = run("annotate", str(SAMPLE), "--model", str(tmp_path / "nothing"))
    assert result.exit_code == 1
    assert "make train" in result.stderr


def test_cli_every_command_has_help_and_readme_entry():
    readme = (ROOT / "README.md").read_text()
    runner = CliRunner()
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and command.help, name
        assert f"healthclaims {name}" in readme, f"README does not document `healthclaims {name}`"


def test_cli_evaluate_writes_reports(run, model_dir, tmp_path):
    gold = ROOT.parent / "shared" / "eval-dev"
    if not gold.is_dir():
        pytest.skip("../shared/eval-dev is not present")
    out = tmp_path / "eval"
    result = run("evaluate", str(gold), "--model", str(model_dir), "--out", str(out), "--fullfact", "")
    assert result.exit_code == 0, result.output
    assert "### Claim detection" in result.stdout and "| not a claim |" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["confusion.png", "evaluation.json", "evaluation.md"]


def test_cli_evaluate_bad_gold_folder(run, model_dir, tmp_path):
    result = run("evaluate", str(tmp_path), "--model", str(model_dir))
    assert result.exit_code == 1
    assert "[E201]" in result.output and "articles.jsonl" in result.output
