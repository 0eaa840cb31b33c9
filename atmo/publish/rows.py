"""One entry of a results table: a name, its role in the comparison and its flat score dict.

Tables and figures list entries by role, then in the order given: trained models first, the
baselines they must beat beneath them, the ablations last. A module whose roles differ passes its
own order (``ordered(rows, kinds=("model", "oracle", "baseline"))``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: The default roles, in table order.
KINDS: tuple[str, ...] = ("model", "baseline", "ablation")
#: The same with the synthetic generator's ``oracle`` rows, which come last (what the data allow).
KINDS_WITH_ORACLE: tuple[str, ...] = (*KINDS, "oracle")


@dataclass(frozen=True)
class Row:
    """The scores of one entry (a model, a baseline, an ablation ...) as read from its metrics file."""

    name: str
    kind: str
    scores: Mapping[str, Any]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a row needs a non-empty name, got {self.name!r}")
        if not isinstance(self.kind, str) or not self.kind:
            raise ValueError(f"{self.name}: kind must be a non-empty string, got {self.kind!r}")


def ordered(rows: Sequence[Row], kinds: Sequence[str] = KINDS) -> list[Row]:
    """``rows`` sorted by the position of their kind in ``kinds``, stable within a kind.

    Raises ``ValueError`` when a name repeats (two rows would be indistinguishable in every table)
    or a kind is not one of ``kinds``.
    """
    counts = Counter(row.name for row in rows)
    repeated = sorted(name for name, n in counts.items() if n > 1)
    if repeated:
        raise ValueError(f"row names must be unique, repeated: {repeated}")
    unknown = [f"{row.name} ({row.kind!r})" for row in rows if row.kind not in kinds]
    if unknown:
        raise ValueError(f"kind must be one of {tuple(kinds)}, got: {', '.join(unknown)}")
    position = {kind: i for i, kind in enumerate(kinds)}
    return sorted(rows, key=lambda row: position[row.kind])
