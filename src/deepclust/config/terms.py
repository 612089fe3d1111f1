"""The config's vocabulary, said once: its sections (what each holds, which rules it feeds, what
may borrow or extend it), the extractor that is no network, the kNN graph's metrics, and the
error every check raises. Every module of the config layer, the rules and the stages read them
here; nothing here imports the package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class ConfigError(ValueError):
    """The config is well-formed but refers to something that does not exist."""


#: the extractor "model" that uses raw pixels as features: no training
PIXELS = "pixels"
#: neighbour metrics the kNN graph of GCN clustering accepts (also the graph file's name part)
GRAPH_METRICS = frozenset({"euclidean", "cosine"})


@dataclass(frozen=True)
class Section:
    """One section of named entries (``datasets``, ``extractors``, ...)."""

    #: the schema's name of one entry (``$defs``), which is also the rules' wildcard for it
    entry: str
    #: the rules whose params are an entry of this section (its result keys only)
    rules: tuple[str, ...]
    #: whether an entry may name a parent with ``extends``
    extendable: bool = True
    #: whether another config may borrow its entries (``blocks_from``)
    borrowable: bool = True


#: the sections of named entries, in the pipeline's order: each entry's rules read the entries
#: before it (a refine job's wildcards name a dataset, an extractor and a clusterer; its entry is
#: the last of them, the clusterer's)
SECTIONS: dict[str, Section] = {
    "datasets": Section("dataset", rules=("preprocess",), extendable=False),
    "extractors": Section("extractor", rules=("pretrain", "features")),
    "manifolds": Section("manifold", rules=("manifold",)),
    "clusterers": Section("clusterer", rules=("cluster", "refine")),
}
#: the sections whose entries may name a parent with ``extends``
EXTENDABLE = tuple(name for name, s in SECTIONS.items() if s.extendable)
#: the sections a config may borrow from others (not experiments, seeds or settings)
BLOCK_SECTIONS = tuple(name for name, s in SECTIONS.items() if s.borrowable)
#: which schema entry (section) a rule's params come from
RULE_ENTRIES = {rule: s.entry for s in SECTIONS.values() for rule in s.rules}


def entry_of(section: str) -> str:
    """The schema's (and the wildcards') name for one entry of ``section``."""
    return SECTIONS[section].entry


def refines_pixels(extractor: Mapping, clusterer: Mapping, refiners) -> bool:
    """Whether a pairing cannot run: a clusterer that fine-tunes a trained model (its method
    among ``refiners``) on an extractor that is raw pixels."""
    return extractor.get("model") == PIXELS and clusterer.get("method") in refiners
