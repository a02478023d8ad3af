"""The block catalogue: every kind of step, keyed by block key.

``catalogue()`` is built once per process and cached. It holds the fixed
blocks (``core``) and one block per scikit-learn estimator (``sklearn_blocks``);
``as_list()`` is what ``GET /api/blocks/`` serves. Plain Python, no Django.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Iterator
from typing import Any

from .base import CATEGORIES, Block, BlockError, Port, StepContext
from .core import CORE_BLOCKS
from .prep import PREP_BLOCKS
from .rai import RAI_BLOCKS
from .sklearn_blocks import estimator_blocks
from .sql_source import DATASET_SQL
from .table import TABLE_BLOCKS
from .tuning import MODEL_TUNE
from .viz import VIZ_BLOCKS

__all__ = [
    "Block",
    "BlockError",
    "Catalogue",
    "Port",
    "StepContext",
    "catalogue",
    "step_modules_import",
]

# What most steps import on first use (scikit-learn, SciPy, Parquet), kept out of the
# web processes: a worker imports them as it starts (``step_modules_import``).
STEP_MODULES = (
    "pipelines.blocks.data",
    "pipelines.blocks.training",
    "pipelines.blocks.metrics",
    "pipelines.blocks.charts",
    "pyarrow.parquet",
)


def _order(block: Block) -> tuple[Any, ...]:
    category = CATEGORIES.index(block.category) if block.category in CATEGORIES else len(CATEGORIES)
    return (not block.curated, category, block.label.lower(), block.key)


class Catalogue:
    """Blocks by key; iteration and ``as_list`` put curated blocks first, then by
    category (in ``base.CATEGORIES`` order) and label."""

    def __init__(self, blocks: Iterable[Block]):
        ordered = sorted(blocks, key=_order)
        self._blocks: dict[str, Block] = {}
        for block in ordered:
            if block.key in self._blocks:
                raise ValueError(f"two blocks share the key {block.key!r}")
            self._blocks[block.key] = block

    def get(self, key: str) -> Block | None:
        return self._blocks.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._blocks

    def __iter__(self) -> Iterator[Block]:
        return iter(self._blocks.values())

    def __len__(self) -> int:
        return len(self._blocks)

    def all(self) -> list[Block]:
        return list(self._blocks.values())

    def as_list(self) -> list[dict[str, Any]]:
        """The JSON the editor is generated from, one dict per block."""
        return [block.as_dict() for block in self._blocks.values()]


@functools.cache
def catalogue() -> Catalogue:
    """The process-wide catalogue (built on first call)."""
    return Catalogue([*CORE_BLOCKS, *PREP_BLOCKS, MODEL_TUNE, *TABLE_BLOCKS, DATASET_SQL, *VIZ_BLOCKS, *RAI_BLOCKS, *estimator_blocks()])


def step_modules_import() -> None:
    """Import ``STEP_MODULES`` and build the catalogue. A worker calls it before it forks its
    pool: every pool process then starts with them, where each would otherwise spend a
    second or two of CPU importing them in its first steps (again for each process
    ``--autoscale`` adds)."""
    for name in STEP_MODULES:
        importlib.import_module(name)
    catalogue()
