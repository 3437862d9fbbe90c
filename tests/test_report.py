"""mi_lib.results and the reproduction report page that reads them."""

import json
import re
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


def _row(report, item):
    """The cells (claim, measured, verdict) of the report's row for ``item``."""
    line = next(line for line in report.splitlines() if line.startswith(f"| **{item}.**"))
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_report_shows_the_chapters_numbers_and_follows_a_change(folder):
    mixture = dict(overlapping_truth=0.2412, separated_truth=0.6901, overlapping_mine_mean=0.2377)
    mixture.update(separated_mine_mean=0.6855, overlapping_mine_max_error=0.01, separated_mine_max_error=0.02)
    mixture.update(overlapping_tolerance=0.05, separated_tolerance=0.05)
    results.record("03_mixture_test", "quick", **mixture)
    first = _rendered_report()
    assert "MINE 0.238 nats" in first and _row(first, "Figure 5")[2].startswith("**reproduced**")
    # a chapter that recorded nothing: its rows say so, and the page still renders
    assert _row(first, "Figure 6")[2] == (
        "**not measured**: chapter `04_gaussian_test` has not recorded results in this build"
    )
    # A different number in the chapter's results file: the report shows it, and its verdict follows.
    path = folder / "03_mixture_test.json"
    data = json.loads(path.read_text())
    data["values"]["overlapping_mine_mean"] = 0.1234
    data["values"]["overlapping_mine_max_error"] = 0.118
    path.write_text(json.dumps(data))
    second = _rendered_report()
    assert "MINE 0.123 nats" in second and "MINE 0.238 nats" not in second
    assert _row(second, "Figure 5")[2].startswith("**not reproduced**")


def test_verdicts_follow_the_corrected_criteria(folder):
    # Tables 1-3: the study predicts a negative correlation; a positive one is not a reproduction. The
    # verdict reads the architecture-level correlation and its Fisher-z interval where recorded.
    results.record(
        "07_backbones",
        "quick",
        backbones=8,
        seeds_per_backbone=2,
        corr_ixe_accuracy_best=-0.1,
        corr_ixe_accuracy_best_low=-0.7,
        corr_ixe_accuracy_best_high=0.5,
        corr_ixe_accuracy_best_architectures=0.6,
        corr_ixe_accuracy_best_fisher_low=0.2,
        corr_ixe_accuracy_best_fisher_high=0.9,
        perm_p_ixe_accuracy_best_negative=0.99,
    )
    # Figure 6 and AA-MINE: a shortfall is reported as a miss, with its standard error, even where the
    # truth exceeds log(batch size).
    results.record(
        "04_gaussian_test",
        "quick",
        relative_error_d2_rho05=0.04,
        relative_error_d20_rho05=0.05,
        relative_error_d20_rho099=0.6,
        mine_d20_rho099=15.6,
        truth_d20_rho099=39.2,
        mine_d20_rho099_stderr=0.5,
    )
    results.record(
        "05_infinite_mi",
        "quick",
        aa_relative_error_d100_s05=-0.05,
        aa_relative_stderr_d100_s05=0.02,
        mine_relative_error_d100_s05=-0.4,
        mine_relative_stderr_d100_s05=0.02,
        aa_moderate_within_tolerance=1,
        aa_tolerance=0.2,
        aa_moderate_limit=4.16,
        aa_high_sigma=0.25,
        aa_high_truth=7.73,
        aa_relative_error_high=-0.3,
        aa_relative_stderr_high=0.0125,
    )
    # Seed 001's width claim: IIW and the gap move apart.
    results.record(
        "08_weights_info",
        "quick",
        iiw_width_16=65,
        iiw_width_64=44,
        iiw_width_256=22,
        gap_width_16=0.05,
        gap_width_64=0.07,
        gap_width_256=0.11,
    )
    # Seed 002's KS validation: NIF not rejected and the best fit, by a test of little power.
    results.record("09_nif", "quick", ks_p_nif=0.8, ks_p_integrated_gradients=0.5, ks_p_shapley_values=0.3)
    report = _rendered_report()
    claim, measured, verdict = _row(report, "Tables 1-3, figure 9")
    assert "+0.60" in measured and verdict.startswith("**not reproduced**") and "opposite" in verdict
    claim, measured, verdict = _row(report, "Figure 6")
    assert "shortfall 23.60 nats (60% of the truth; 47 s.e.)" in measured and verdict.startswith("**partly**")
    claim, measured, verdict = _row(report, "AA-MINE, accuracy")
    assert "AA-MINE -30% ± 1%, shortfall 2.32 nats (30% of the truth; 24 s.e.)" in measured
    assert verdict.startswith("**partly**") and "miss is AA-MINE's" in verdict
    # under half of MINE's error, by more than two standard errors of the difference
    assert _row(report, "Section 2.2.2")[2].startswith("**reproduced**")
    assert _row(report, "IIW, width")[2].startswith("**not reproduced**")
    assert _row(report, "IIW, batch size")[2].startswith("**not measured**")
    claim, measured, verdict = _row(report, "NIF, KS validation")
    assert "NIF: KS p = 0.80" in measured and verdict.startswith("**partly**")
    assert _row(report, "NIF, pruning")[2].startswith("**not measured**")


def test_report_prose_types_no_measured_number():
    """Every number of the report is read from the chapters' results: its prose holds no decimal."""
    prose = "\n".join(cell.source for cell in jupytext.read(REPORT).cells if cell.cell_type == "markdown")
    assert not re.findall(r"\d[.,]\d", prose), re.findall(r".{20}\d[.,]\d.{20}", prose)
