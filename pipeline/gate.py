"""The quality gate: floors for claim F1 and label macro-F1 on a gold set, pinned to its data.

The baseline file (`tests/quality_baseline.json`) holds the floors, the gold
folder they were measured on and that folder's hash. The test suite fails
when a measured figure falls below its floor, or when the gold data changed
under the floors. Raising a floor is always allowed; lowering one needs
`allow_lower=True` (`healthclaims evaluate --update-baseline --allow-lower`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import GateError

GATED = {"claim_f1": ("claim", "f1"), "label_macro_f1": ("labels", "macro_f1")}
MARGIN = 0.02  # floors sit this far below the measured figure, so noise-free changes do not trip them


@dataclass(frozen=True, slots=True)
class Baseline:
    """Floors for one gold set."""

    gold: str
    gold_hash: str
    floors: dict[str, float]


def measured(result: dict) -> dict[str, float]:
    """The gated figures of an evaluation result."""
    return {name: float(result["gold"][group][key]) for name, (group, key) in GATED.items()}


def read_baseline(path: Path) -> Baseline:
    """Read and check a baseline file."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
        return Baseline(gold=str(data["gold"]), gold_hash=str(data["gold_hash"]), floors=dict(data["floors"]))
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as err:
        raise GateError(f"Cannot read the quality baseline {path}: {err}.") from err


def check(result: dict, baseline: Baseline) -> list[str]:
    """Every way `result` fails the baseline, as sentences (empty when it passes)."""
    problems = []
    if result.get("gold_hash") != baseline.gold_hash:
        problems.append(
            f"the gold data at {baseline.gold} changed since the floors were set "
            "(re-measure and run `healthclaims evaluate --update-baseline`)"
        )
    figures = measured(result)
    for name, floor in baseline.floors.items():
        if figures.get(name, 0.0) < floor:
            problems.append(f"{name} {figures.get(name, 0.0):.3f} is below its floor {floor:.3f}")
    return problems


def update(result: dict, path: Path, *, allow_lower: bool = False) -> Baseline:
    """Set the floors to the measured figures minus `MARGIN`; refuse to lower one unless allowed."""
    path = Path(path)
    proposed = {name: round(max(0.0, value - MARGIN), 3) for name, value in measured(result).items()}
    if path.exists():
        current = read_baseline(path)
        lowered = {n: (f, proposed[n]) for n, f in current.floors.items() if proposed.get(n, 0.0) < f}
        if lowered and not allow_lower:
            detail = ", ".join(f"{n} {old:.3f} -> {new:.3f}" for n, (old, new) in lowered.items())
            raise GateError(f"This would lower floors ({detail}). Pass --allow-lower if that is intended.")
        if not allow_lower:  # a floor only ever rises on its own
            proposed = {n: max(v, current.floors.get(n, 0.0)) for n, v in proposed.items()}
    baseline = Baseline(gold=result["gold_path"], gold_hash=result["gold_hash"], floors=proposed)
    path.write_text(
        json.dumps(
            {"gold": baseline.gold, "gold_hash": baseline.gold_hash, "floors": baseline.floors}, indent=2
        )
        + "\n",
        "utf-8",
    )
    return baseline
