"""Config files read as Snakemake reads them: YAML that refuses a key written twice, and several
files merged in order as ``--configfile a.yaml b.yaml`` merges them (an overlay after its base).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from deepclust.config.terms import ConfigError


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML's safe loader, refusing a key written twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"{key_node.start_mark.name}: line {line}: key {key!r} is written twice in "
                    f"one mapping (first on line {seen[key]}); YAML would keep only the last"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: str | Path) -> object:
    """A YAML config file's content; a key written twice in one mapping is a ConfigError naming
    the file and both lines, not a silent last-wins."""
    with open(path) as fh:
        return yaml.load(fh, Loader=_UniqueKeyLoader)


def read_files(*paths: str | Path) -> dict:
    """One config from one file, or from several merged in order, key by key, as
    ``--configfile a.yaml b.yaml`` merges them (Snakemake's own merge)."""
    from snakemake.utils import update_config

    config: dict = {}
    for path in paths:
        try:
            part = load_yaml(path) or {}
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        if not isinstance(part, dict):
            raise ConfigError(f"{path}: not a config (a mapping at the top)")
        update_config(config, part)
    return config
