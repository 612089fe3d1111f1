"""The workflow's stages as plain functions of paths and config slices, one module per rules file
(``workflow/rules/{data,pretrain,cluster,report}.smk``; report.smk's in two: the tables in
``report``, the figures in ``figures``).

``workflow/scripts/*.py`` call these with ``snakemake.input/output/params``; tests call them
directly. Each stage writes its outputs atomically and records what it used.

The names below load their module on first use (PEP 562): the workflow imports
:func:`deepclust.stages.report.report_runs` while it parses, which must not cost the import of
torch or scikit-learn, and a job's start-up pays only for the stage it runs.
"""

from __future__ import annotations

from deepclust.lazy import lazy_face

_EXPORTS = {
    "logged": "deepclust.runtime",
    "job_settings": "deepclust.stages.settings",
    "run_download": "deepclust.stages.data",
    "run_preprocess": "deepclust.stages.data",
    "run_pretrain": "deepclust.stages.pretrain",
    "run_features": "deepclust.stages.pretrain",
    "run_manifold": "deepclust.stages.cluster",
    "run_cluster": "deepclust.stages.cluster",
    "run_graph": "deepclust.stages.cluster",
    "run_refine": "deepclust.stages.cluster",
    "run_consensus": "deepclust.stages.cluster",
    "run_aggregate": "deepclust.stages.report",
    "run_embed_2d": "deepclust.stages.figures",
    "run_plot_run": "deepclust.stages.figures",
    "run_plot_sweep": "deepclust.stages.figures",
    "run_plot_crossover": "deepclust.stages.figures",
    "report_runs": "deepclust.stages.report",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
