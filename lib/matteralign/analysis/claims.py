"""The scoreboard of the study's claims: one computed verdict per claim, gathered into
``figures/CLAIMS.md``.

A notebook that tests a claim ends by calling :func:`record` with a :class:`ClaimResult`
built from its computed numbers; the record is written atomically as
``<output_dir>/claim-<n>.json``. After a compendium run, :func:`write_scoreboard` reads
every record under the figures folder and renders one Markdown row per claim 1–7 of
``shared/paper.md``: the verdict, the statistic with its 95 % interval or p-value, the
sample size, the models, and the published figure beside it where one exists. A claim that
no notebook recorded is listed as *not run* (with why, for the claims that need weights
that cannot be had offline), never given a verdict of its own.

Verdicts are one of :data:`VERDICTS`. A claim recorded by several notebooks (claim 1 on two
datasets, say) gets one row whose verdict is the common one, or ``mixed`` when they differ.

Examples
--------
>>> import tempfile
>>> r = ClaimResult(claim=3, verdict="holds", statistic="Spearman ρ(CKNNA to ref, force MAE)",
...                 value=-0.8, interval=(-0.95, -0.4), p_value=0.01, n_samples=1000,
...                 models=("a", "b", "c"), dataset="mptrj-random", notebook="03")
>>> folder = tempfile.mkdtemp()
>>> _ = record(r, folder)
>>> [c.claim for c in collect(folder)]
[3]
>>> "| 3 |" in scoreboard(collect(folder))
True
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from matteralign.errors import ValidationError

__all__ = ["CLAIMS", "VERDICTS", "NOT_OFFLINE", "ALPHA", "ClaimResult", "record", "collect",
           "scoreboard", "write_scoreboard", "rank_correlation_claim", "collapse_claim",
           "grouping_claims", "contrast_claim", "untestable_claim", "sentence"]

#: Significance level of every verdict rule below.
ALPHA = 0.05

#: Short titles of the seven claims of ``shared/paper.md``.
CLAIMS: dict[int, str] = {
    1: "Cross-modality alignment on small molecules (string, graph and 3D models agree)",
    2: "Models cluster by training data more than by architecture (similarity tree)",
    3: "Alignment to the strongest model rises as error falls",
    4: "In distribution weak models diverge; far out of distribution all collapse",
    5: "Protein sequence and structure models align ~2× more than small-molecule models",
    6: "Equivariance is learnable (Orb-v3 aligns with equivariant MACE / EquiformerV2)",
    7: "Small models can share the representation of large ones (distillation)",
}

#: The verdicts a record may carry.
VERDICTS = ("holds", "does not hold", "mixed", "cannot be tested offline")

#: What a claim needs that this machine cannot have, for claims no shipped notebook tests
#: offline (shown when no record exists).
NOT_OFFLINE: dict[int, str] = {
    5: "needs protein model weights (ESM2/ESMC/ESM3, ESM-IF, ProteinMPNN, ProstT5); "
       "see notebook 06 for where to put them (with them it reports the ratio in its "
       "conclusion, without an interval yet)",
    6: "needs Orb-v3, MACE and EquiformerV2 weights, none of which can be had offline",
    7: "needs a large model and a smaller one distilled from it; the offline models have no "
       "such pair",
}


@dataclass(frozen=True)
class ClaimResult:
    """One notebook's computed verdict on one claim.

    Attributes:
        claim: the claim's number, 1–7.
        verdict: one of :data:`VERDICTS`.
        statistic: what ``value`` is, in words (with units where it has them).
        value: the statistic (``None`` when the claim could not be tested).
        interval: its 95 % interval ``(low, high)``, or ``None``.
        p_value: its p-value (say which test in ``statistic`` or ``detail``), or ``None``.
        n_samples: samples per model the statistic rests on.
        models: the models used.
        dataset: the dataset(s).
        notebook: the notebook that computed it.
        published: the published figure beside it, in words, where one exists.
        detail: one more sentence (the test, caveats).
    """

    claim: int
    verdict: str
    statistic: str
    value: float | None = None
    interval: tuple[float, float] | None = None
    p_value: float | None = None
    n_samples: int | None = None
    models: tuple[str, ...] = field(default_factory=tuple)
    dataset: str = ""
    notebook: str = ""
    published: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        if self.claim not in CLAIMS:
            raise ValidationError(f"claim must be one of {sorted(CLAIMS)}; got {self.claim!r}")
        if self.verdict not in VERDICTS:
            raise ValidationError(f"verdict must be one of {VERDICTS}; got {self.verdict!r}")
        for name in ("value", "p_value"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(float(v)):
                raise ValidationError(f"claim {self.claim}: {name} is not finite ({v})")
        if self.p_value is not None and not 0.0 <= float(self.p_value) <= 1.0:
            raise ValidationError(f"claim {self.claim}: p_value must be in [0, 1]; "
                                  f"got {self.p_value}")
        if self.interval is not None:
            lo, hi = (float(x) for x in self.interval)
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
                raise ValidationError(f"claim {self.claim}: interval must be finite with "
                                      f"low <= high; got {self.interval}")
            object.__setattr__(self, "interval", (lo, hi))
        if self.verdict != "cannot be tested offline" and self.value is None:
            raise ValidationError(f"claim {self.claim}: a verdict of {self.verdict!r} needs the "
                                  "statistic's value")
        object.__setattr__(self, "models", tuple(str(m) for m in self.models))
        for name in ("value", "p_value"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, float(v))
        if self.n_samples is not None:
            object.__setattr__(self, "n_samples", int(self.n_samples))

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["models"] = list(self.models)
        d["interval"] = list(self.interval) if self.interval is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClaimResult:
        d = dict(d)
        if d.get("interval") is not None:
            d["interval"] = tuple(d["interval"])
        d["models"] = tuple(d.get("models") or ())
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ValidationError(f"unknown fields in claim record: {sorted(unknown)}")
        return cls(**d)


def record(result: ClaimResult, out_dir: str | os.PathLike) -> Path:
    """Write ``result`` to ``<out_dir>/claim-<n>.json`` (atomically) and return the path.
    A notebook testing the same claim on two datasets passes a ``dataset`` each; the file name
    then carries the dataset too."""
    from matteralign.analysis.paths import save_text

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"claim-{result.claim}"
    if result.dataset:
        stem += "-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in result.dataset)
    return save_text(json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n",
                     folder / f"{stem}.json")


def collect(root: str | os.PathLike) -> list[ClaimResult]:
    """Every ``claim-*.json`` under ``root`` (searched recursively), sorted by claim, then
    notebook and dataset. A corrupt record raises :class:`~matteralign.errors.ValidationError`
    naming the file."""
    results = []
    for path in sorted(Path(root).rglob("claim-*.json")):
        try:
            results.append(ClaimResult.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, TypeError, ValidationError) as exc:
            raise ValidationError(f"claim record {path} is corrupt ({exc}); re-run the "
                                  "notebook that wrote it") from None
    return sorted(results, key=lambda r: (r.claim, r.notebook, r.dataset))


def _num(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1e-3 and v != 0 else f"{v:.3f}"


def _statistic_text(r: ClaimResult) -> str:
    if r.value is None:
        return r.statistic
    text = f"{r.statistic} = {_num(r.value)}"
    if r.interval is not None:
        text += f" [95 % CI {_num(r.interval[0])}, {_num(r.interval[1])}]"
    if r.p_value is not None:
        text += f", p = {r.p_value:.2g}"
    return text


def _combined_verdict(verdicts: Sequence[str]) -> str:
    tested = [v for v in verdicts if v != "cannot be tested offline"]
    if not tested:
        return "cannot be tested offline"
    return tested[0] if len(set(tested)) == 1 else "mixed"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def scoreboard(results: Iterable[ClaimResult]) -> str:
    """Markdown: a header and one row per claim 1–7, from the records in ``results``."""
    by_claim: dict[int, list[ClaimResult]] = {c: [] for c in CLAIMS}
    for r in results:
        by_claim[r.claim].append(r)
    lines = [
        "# Scoreboard of the study's claims",
        "",
        "Regenerated by `make reproduce` from the conclusions the notebooks compute "
        "(`figures/*/claim-*.json`); do not edit by hand. Claims as stated in "
        "`shared/paper.md`; 95 % intervals and p-values as described in each notebook.",
        "",
        "| claim | statement | verdict | statistic (95 % CI or p) | N | models | published | "
        "notebook |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for claim, title in CLAIMS.items():
        rs = by_claim[claim]
        if not rs:
            why = NOT_OFFLINE.get(claim, "no notebook recorded it in this run")
            verdict = "cannot be tested offline" if claim in NOT_OFFLINE else "not run"
            lines.append(f"| {claim} | {_cell(title)} | {verdict} | {_cell(why)} | – | – | – | – |")
            continue
        verdict = _combined_verdict([r.verdict for r in rs])
        stats = "<br>".join(_cell((f"{r.dataset}: " if r.dataset else "") + _statistic_text(r)
                                  + (f" ({r.detail})" if r.detail else "")) for r in rs)
        ns = "<br>".join("–" if r.n_samples is None else str(r.n_samples) for r in rs)
        models = sorted({m for r in rs for m in r.models})
        shown = ", ".join(models[:8]) + (f" and {len(models) - 8} more" if len(models) > 8 else "")
        published = "<br>".join(_cell(r.published) for r in rs if r.published) or "–"
        notebooks = ", ".join(sorted({r.notebook for r in rs if r.notebook})) or "–"
        lines.append(f"| {claim} | {_cell(title)} | **{verdict}** | {stats} | {ns} | "
                     f"{_cell(shown) or '–'} | {published} | {_cell(notebooks)} |")
    return "\n".join(lines) + "\n"


def write_scoreboard(root: str | os.PathLike, path: str | os.PathLike | None = None) -> Path:
    """Render :func:`scoreboard` of every record under ``root`` to ``path`` (default
    ``<root>/CLAIMS.md``), atomically. Returns the path."""
    from matteralign.analysis.paths import save_text

    target = Path(path) if path is not None else Path(root) / "CLAIMS.md"
    return save_text(scoreboard(collect(root)), target)


# ------------------------------------------------------------------ verdict rules
# Each rule turns computed evidence into a verdict, the same way for every notebook:
# *holds* — the effect has the claimed sign, its 95 % interval excludes zero and p < ALPHA;
# *does not hold* — the effect has the opposite sign with its interval excluding zero, or
# (for comparisons of two explanations) the other explanation wins;
# *mixed* — anything in between (right sign but not significant, or parts disagree).

def _sign_verdict(value: float, low: float, high: float, p: float, claimed: int) -> str:
    if claimed * value > 0 and (low > 0 if claimed > 0 else high < 0) and p < ALPHA:
        return "holds"
    if claimed * value < 0 and (high < 0 if claimed > 0 else low > 0):
        return "does not hold"
    return "mixed"


def rank_correlation_claim(ev: Any, *, error_name: str, reference: str, dataset: str,
                           notebook: str, published: str = "", claim: int = 3) -> ClaimResult:
    """Claim 3 from :func:`matteralign.analysis.evidence.rank_correlation`: holds when
    Spearman's ρ(error, alignment to the reference) is negative, its interval over samples
    excludes 0 and its permutation p over models is below :data:`ALPHA`."""
    verdict = _sign_verdict(ev.rho, ev.low, ev.high, ev.p_value, claimed=-1)
    return ClaimResult(
        claim=claim, verdict=verdict,
        statistic=f"Spearman ρ({error_name}, CKNNA to {reference})", value=ev.rho,
        interval=(ev.low, ev.high), p_value=ev.p_value, n_samples=ev.n_samples,
        models=(reference, *ev.alignment.index), dataset=dataset, notebook=notebook,
        published=published,
        detail=f"{ev.n_models} models; interval: subsampling over samples ({ev.n_boot} "
               f"subsets); p: permutation over models ({ev.p_method})")


def collapse_claim(table: Any, *, regime: str, baseline: str, dataset: str, notebook: str,
                   n_samples: int, models: Sequence[str], published: str = "",
                   claim: int = 4) -> ClaimResult:
    """Claim 4 (the out-of-distribution collapse) from a
    :func:`~matteralign.analysis.evidence.regime_table`: CKNNA rises (``cknna``), intrinsic
    dimension falls (any quantity whose name starts with ``id_``) and Δ(A→ref) + Δ(ref→A)
    falls (``delta_sum``) in ``regime`` against ``baseline``. Holds when every part holds by
    the sign rule, does not hold when CKNNA falls significantly, mixed otherwise. The
    statistic shown is the CKNNA difference."""
    rows = table[table["regime"] == regime].set_index("quantity")
    if "cknna" not in rows.index:
        raise ValidationError(f"the regime table has no CKNNA row for regime {regime!r}")
    claimed = {q: (-1 if q.startswith("id_") or q == "delta_sum" else 1) for q in rows.index
               if q == "cknna" or q == "dcor" or q == "delta_sum" or q.startswith("id_")}
    parts = {q: _sign_verdict(rows.loc[q, "difference"], rows.loc[q, "low"], rows.loc[q, "high"],
                              rows.loc[q, "p_value"], c) for q, c in claimed.items()}
    if all(v == "holds" for v in parts.values()):
        verdict = "holds"
    elif parts["cknna"] == "does not hold":
        verdict = "does not hold"
    else:
        verdict = "mixed"
    c = rows.loc["cknna"]
    others = "; ".join(
        f"{q} {rows.loc[q, 'difference']:+.3f} [{rows.loc[q, 'low']:+.3f}, "
        f"{rows.loc[q, 'high']:+.3f}], p = {rows.loc[q, 'p_value']:.2g} ({v})"
        for q, v in parts.items() if q != "cknna")
    return ClaimResult(
        claim=claim, verdict=verdict,
        statistic=f"mean CKNNA, {regime} − {baseline} (paired over model pairs)",
        value=float(c["difference"]), interval=(float(c["low"]), float(c["high"])),
        p_value=float(c["p_value"]), n_samples=n_samples, models=tuple(models),
        dataset=dataset, notebook=notebook, published=published,
        detail=f"{int(c['n_units'])} pairs, sign-flip p; {others}")


def grouping_claims(tables: Mapping[str, Any], *, notebook: str, family: str = "family",
                    training: str = "corpus", claim: int = 2) -> list[ClaimResult]:
    """Claim 2 per published dataset from
    :func:`~matteralign.analysis.grouping.compare_groupings` tables: the statistic is
    ``R²(training corpus) − R²(family)`` (PERMANOVA); holds when the training corpus explains
    more and stays significant within families (stratified p < :data:`ALPHA`), does not hold
    when the family explains more, mixed otherwise."""
    import numpy as np

    out = []
    for ds, df in tables.items():
        plain = df[df["stratified_by"] == ""].set_index("grouping")
        strat = df[df["stratified_by"] != ""].set_index(["grouping", "stratified_by"])
        if family not in plain.index or training not in plain.index:
            continue
        r2f, r2t = float(plain.loc[family, "r2"]), float(plain.loc[training, "r2"])
        p = strat["p_value"].get((training, family), np.nan)
        p = float(p) if p is not None and np.isfinite(p) else None
        if r2t > r2f and p is not None and p < ALPHA:
            verdict = "holds"
        elif r2f > r2t:
            verdict = "does not hold"
        else:
            verdict = "mixed"
        n_models = int(plain.loc[family, "n_models"]) if "n_models" in plain.columns else None
        out.append(ClaimResult(
            claim=claim, verdict=verdict, statistic="R²(training corpus) − R²(family)",
            value=r2t - r2f, p_value=p, dataset=ds, notebook=notebook,
            published=f"paper: clusters by training data (Fig. 1F); family R² {r2f:.2f}, "
                      f"corpus R² {r2t:.2f} on the published matrix",
            detail=("p: corpus within families (stratified permutation)" if p is not None
                    else "corpus within families not testable")
                   + (f"; {n_models} published models" if n_models else "")))
    return out


def contrast_claim(*, claim: int, statistic: str, value: float, interval: tuple[float, float],
                   p_value: float, claimed_sign: int, n_samples: int, models: Sequence[str],
                   dataset: str, notebook: str, published: str = "",
                   detail: str = "") -> ClaimResult:
    """A claim whose evidence is one contrast (e.g. string–3D CKNNA minus the random-twin
    floor) with an interval and a p-value, judged by the sign rule."""
    lo, hi = interval
    return ClaimResult(claim=claim, verdict=_sign_verdict(value, lo, hi, p_value, claimed_sign),
                       statistic=statistic, value=value, interval=interval, p_value=p_value,
                       n_samples=n_samples, models=tuple(models), dataset=dataset,
                       notebook=notebook, published=published, detail=detail)


def equivariance_claim(result: Any, *, dataset: str, notebook: str, published: str = "",
                       claim: int = 6) -> ClaimResult:
    """Claim 6 from :func:`matteralign.analysis.equivariance.equivariance_contrast`: the
    statistic is the probe-minus-cross-family distance over all equivariant targets; the
    verdict needs each named family: *holds* when the probe is significantly closer than
    the other family for every family (sign rule, claimed sign −1), *does not hold* when it
    is significantly further for any, *mixed* otherwise."""
    ev = result.evidence
    parts = {f: _sign_verdict(e.mean_difference, e.low, e.high, e.p_value, claimed=-1)
             for f, e in result.by_family.items()}
    if all(v == "holds" for v in parts.values()):
        verdict = "holds"
    elif any(v == "does not hold" for v in parts.values()):
        verdict = "does not hold"
    else:
        verdict = "mixed"
    per_family = "; ".join(
        f"{f} targets {e.mean_difference:+.3f} [{e.low:+.3f}, {e.high:+.3f}], "
        f"p = {e.p_value:.2g} ({parts[f]})" for f, e in result.by_family.items())
    f1, f2 = result.families
    return ClaimResult(
        claim=claim, verdict=verdict,
        statistic=f"mean distance of {f1}/{f2} models to the probes minus to the other "
                  "equivariant family",
        value=ev.mean_difference, interval=(ev.low, ev.high), p_value=ev.p_value,
        models=(*result.probes, *result.per_target.index), dataset=dataset, notebook=notebook,
        published=published,
        detail=f"{ev.n_units} targets, {len(result.probes)} probes; {per_family}; "
               f"{f1}↔{f2} {ev.mean_a:.3f}, probes↔equivariant {ev.mean_b:.3f}"
               + (f", control {'/'.join(result.control_models)} {result.control_mean:.3f}"
                  if result.control_models else "")
               + f"; interval: bootstrap over targets; p: {ev.p_method}")


def untestable_claim(claim: int, *, why: str, notebook: str, dataset: str = "") -> ClaimResult:
    """A record that a claim could not be tested here, and why (missing weights)."""
    return ClaimResult(claim=claim, verdict="cannot be tested offline", statistic=why,
                       notebook=notebook, dataset=dataset)


def sentence(result: ClaimResult) -> str:
    """Markdown: the verdict on one claim with its statistic, for a notebook's conclusion.

    >>> print(sentence(untestable_claim(6, why="no Orb-v3 weights", notebook="x")))
    **Claim 6** (Equivariance is learnable (Orb-v3 aligns with equivariant MACE / EquiformerV2)): cannot be tested offline — no Orb-v3 weights.
    """
    head = f"**Claim {result.claim}** ({CLAIMS[result.claim]}"
    head += f", {result.dataset})" if result.dataset else ")"
    if result.value is None:
        return f"{head}: {result.verdict} — {result.statistic}."
    n = f"N = {result.n_samples} samples per model" if result.n_samples else ""
    extra = "; ".join(x for x in (n, result.detail) if x)
    beside = f" Published: {result.published}." if result.published else ""
    return f"{head}: **{result.verdict}** — {_statistic_text(result)} ({extra}).{beside}"
