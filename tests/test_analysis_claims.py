"""The scoreboard of the claims: records written by notebooks, one row per claim."""

import json

import pytest

from matteralign.analysis import claims
from matteralign.errors import ValidationError


def _result(**kw):
    base = dict(claim=3, verdict="holds", statistic="Spearman ρ", value=-0.7,
                interval=(-0.9, -0.3), p_value=0.02, n_samples=1000, models=("a", "b", "c"),
                dataset="mptrj-random", notebook="03_alignment_vs_performance",
                published="ρ < 0 (Fig. 3)")
    base.update(kw)
    return claims.ClaimResult(**base)


def test_scoreboard_has_one_row_per_claim_one_to_seven(tmp_path):
    claims.record(_result(), tmp_path)
    text = claims.scoreboard(claims.collect(tmp_path))
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [int(r.split("|")[1]) for r in rows] == [1, 2, 3, 4, 5, 6, 7]


def test_a_recorded_claim_shows_verdict_statistic_interval_p_and_n(tmp_path):
    claims.record(_result(), tmp_path)
    row = next(line for line in claims.scoreboard(claims.collect(tmp_path)).splitlines()
               if line.startswith("| 3 |"))
    assert "**holds**" in row and "-0.700" in row and "95 % CI -0.900, -0.300" in row
    assert "p = 0.02" in row and "| 1000 |" in row and "Fig. 3" in row


def test_an_unrecorded_claim_is_not_given_a_verdict(tmp_path):
    text = claims.scoreboard([])
    row1 = next(line for line in text.splitlines() if line.startswith("| 1 |"))
    row6 = next(line for line in text.splitlines() if line.startswith("| 6 |"))
    assert "not run" in row1
    assert "cannot be tested offline" in row6 and "Orb-v3" in row6


def test_records_of_one_claim_that_disagree_are_mixed(tmp_path):
    claims.record(_result(dataset="qm9"), tmp_path)
    claims.record(_result(dataset="nci-organics", verdict="does not hold"), tmp_path)
    row = next(line for line in claims.scoreboard(claims.collect(tmp_path)).splitlines()
               if line.startswith("| 3 |"))
    assert "**mixed**" in row and "qm9:" in row and "nci-organics:" in row


def test_write_scoreboard_writes_claims_md_under_the_root(tmp_path):
    claims.record(_result(), tmp_path / "03")
    path = claims.write_scoreboard(tmp_path)
    assert path == tmp_path / "CLAIMS.md" and "| 3 |" in path.read_text()


def test_a_verdict_outside_the_four_is_rejected():
    with pytest.raises(ValidationError, match="verdict"):
        _result(verdict="probably")


def test_a_tested_verdict_needs_a_value():
    with pytest.raises(ValidationError, match="needs the statistic"):
        _result(value=None)


def test_a_p_value_outside_zero_one_is_rejected():
    with pytest.raises(ValidationError, match="p_value"):
        _result(p_value=1.5)


def test_an_interval_with_low_above_high_is_rejected():
    with pytest.raises(ValidationError, match="interval"):
        _result(interval=(0.5, 0.1))


def test_a_corrupt_record_names_its_file(tmp_path):
    (tmp_path / "claim-3.json").write_text(json.dumps({"claim": 3, "verdict": "holds"})[:-3])
    with pytest.raises(ValidationError, match="claim-3.json"):
        claims.collect(tmp_path)


def test_a_record_round_trips_through_json(tmp_path):
    r = _result()
    assert claims.collect(tmp_path) == []
    claims.record(r, tmp_path)
    assert claims.collect(tmp_path) == [r]


def _rank_ev(rho, low, high, p):
    import pandas as pd

    from matteralign.analysis.evidence import RankEvidence

    return RankEvidence(rho, low, high, 0.95, p, "exact", 4, 1000, 200,
                        pd.Series([0.1, 0.2, 0.3, 0.4], index=list("abcd")),
                        pd.Series([1.0, 2.0, 3.0, 4.0], index=list("abcd")), None)


@pytest.mark.parametrize("rho, low, high, p, verdict", [
    (-0.8, -0.95, -0.5, 0.01, "holds"),
    (-0.8, -0.95, 0.1, 0.01, "mixed"),      # interval reaches zero
    (-0.8, -0.95, -0.5, 0.2, "mixed"),      # not significant over models
    (0.6, 0.2, 0.9, 0.04, "does not hold"),  # significantly the other way
])
def test_claim_3_verdict_follows_the_sign_interval_and_p(rho, low, high, p, verdict):
    r = claims.rank_correlation_claim(_rank_ev(rho, low, high, p), error_name="force MAE",
                                      reference="ref", dataset="d", notebook="03")
    assert r.verdict == verdict and r.value == rho and r.interval == (low, high)


def _regime_table(cknna, twonn, delta):
    import pandas as pd

    rows = []
    for q, (d, lo, hi, p) in {"cknna": cknna, "id_twonn": twonn, "delta_sum": delta}.items():
        rows.append({"quantity": q, "regime": "out", "difference": d, "low": lo, "high": hi,
                     "p_value": p, "n_units": 10})
    return pd.DataFrame(rows)


def test_claim_4_holds_when_alignment_rises_and_dimension_and_imbalance_fall():
    t = _regime_table((0.2, 0.1, 0.3, 0.01), (-3.0, -5.0, -1.0, 0.01), (-0.2, -0.3, -0.1, 0.02))
    r = claims.collapse_claim(t, regime="out", baseline="in", dataset="d", notebook="04",
                              n_samples=1000, models=["a", "b"])
    assert r.verdict == "holds" and r.value == 0.2


def test_claim_4_does_not_hold_when_alignment_falls_out_of_distribution():
    t = _regime_table((-0.2, -0.3, -0.1, 0.01), (-3.0, -5.0, -1.0, 0.01), (-0.2, -0.3, -0.1, 0.02))
    r = claims.collapse_claim(t, regime="out", baseline="in", dataset="d", notebook="04",
                              n_samples=1000, models=["a", "b"])
    assert r.verdict == "does not hold"


def test_claim_4_is_mixed_when_only_some_parts_hold():
    t = _regime_table((0.2, 0.1, 0.3, 0.01), (1.0, -1.0, 3.0, 0.5), (-0.2, -0.3, -0.1, 0.02))
    r = claims.collapse_claim(t, regime="out", baseline="in", dataset="d", notebook="04",
                              n_samples=1000, models=["a", "b"])
    assert r.verdict == "mixed" and "id_twonn" in r.detail


def test_claim_2_per_dataset_from_published_grouping_tests():
    import pandas as pd

    def table(r2f, r2t, p):
        return pd.DataFrame([
            {"grouping": "family", "stratified_by": "", "r2": r2f, "p_value": 0.001, "n_models": 30},
            {"grouping": "corpus", "stratified_by": "", "r2": r2t, "p_value": 0.001, "n_models": 30},
            {"grouping": "corpus", "stratified_by": "family", "r2": r2t, "p_value": p,
             "n_models": 30}])

    out = claims.grouping_claims({"omat24": table(0.75, 0.22, 0.01),
                                  "qm9": table(0.37, 0.70, 0.01),
                                  "salex": table(0.30, 0.40, 0.30)}, notebook="02")
    assert [(r.dataset, r.verdict) for r in out] == [("omat24", "does not hold"),
                                                     ("qm9", "holds"), ("salex", "mixed")]
    assert out[0].value == pytest.approx(0.22 - 0.75)


def test_an_untestable_claim_carries_its_reason():
    r = claims.untestable_claim(5, why="no protein weights here", notebook="06")
    assert r.verdict == "cannot be tested offline" and r.value is None
