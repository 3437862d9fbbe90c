"""mi_lib.results and the reproduction report page that reads them."""

import json
from pathlib import Path

import jupytext
import nbclient
import pytest

from mi_lib import results

REPORT = Path(__file__).resolve().parents[1] / "reproduction" / "report.md"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv(results.RESULTS_VARIABLE, str(tmp_path))
    return tmp_path


def test_record_and_load_round_trip_and_merge(folder):
    results.record("03_mixture_test", "quick", a=1.5)
    results.record("03_mixture_test", "quick", b=2)
    assert results.load() == {"03_mixture_test": {"profile": "quick", "values": {"a": 1.5, "b": 2.0}}}
    assert not list(folder.glob("*.tmp")), "a temporary file was left behind"


def test_numbers_of_another_profile_are_not_mixed(folder):
    results.record("04_gaussian_test", "quick", a=1.0)
    results.record("04_gaussian_test", "full", b=2.0)
    assert results.load()["04_gaussian_test"] == {"profile": "full", "values": {"b": 2.0}}


@pytest.mark.parametrize(
    "chapter, profile, values, name",
    [
        ("../escape", "quick", {"a": 1}, "chapter"),
        ("03", "medium", {"a": 1}, "profile"),
        ("03", "quick", {}, "at least one value"),
        ("03", "quick", {"a": "high"}, "a must be a number"),
        ("03", "quick", {"a": float("nan")}, "a must be finite"),
    ],
)
def test_record_bad_input(folder, chapter, profile, values, name):
    with pytest.raises(ValueError, match=name):
        results.record(chapter, profile, **values)
    assert not list(folder.iterdir()), "a failed record wrote something"


def _rendered_report():
    """Execute the report page as the book does and return the Markdown table it displays."""
    notebook = jupytext.read(REPORT)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    return "\n".join(
        output["data"]["text/markdown"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "text/markdown" in output.get("data", {})
    )


def test_report_shows_the_chapters_numbers_and_follows_a_change(folder):
    mixture = dict(overlapping_truth=0.2412, separated_truth=0.6901, overlapping_mine_mean=0.2377)
    mixture.update(separated_mine_mean=0.6855, overlapping_mine_max_error=0.01, separated_mine_max_error=0.02)
    mixture.update(overlapping_tolerance=0.05, separated_tolerance=0.05)
    results.record("03_mixture_test", "quick", **mixture)
    first = _rendered_report()
    assert "MINE 0.238 nats" in first and "reproduced" in first
    assert "chapter `04_gaussian_test` has not recorded results" in first
    # A different number in the chapter's results file: the report shows it, and its verdict follows.
    path = folder / "03_mixture_test.json"
    data = json.loads(path.read_text())
    data["values"]["overlapping_mine_mean"] = 0.1234
    data["values"]["overlapping_mine_max_error"] = 0.118
    path.write_text(json.dumps(data))
    second = _rendered_report()
    assert "MINE 0.123 nats" in second and "MINE 0.238 nats" not in second
    assert "not reproduced" in second
