"""Train on a bare GPU for a short window, bring the results home: ``python -m deepclust.offload``.

A GPU is often lent for minutes on a machine that has PyTorch and nothing else (no Snakemake, no
UMAP, no network; a cap on the files sent and brought back). The training stages are what need
it; the rest of the workflow runs at home. Four steps, the middle one there:

- ``plan`` (:mod:`~deepclust.offload.jobs`): which pretraining jobs (with their features and the
  refiners that fine-tune on the GPU: DEKM, IDEC, the GCN clusterers) a config's targets, or the
  paper pages' unrun and stand-in cells, still miss; ordered by value and cut to a window's time
  from measured GPU throughput (:mod:`~deepclust.offload.speeds`).
- ``pack`` (:mod:`~deepclust.offload.pack`): one folder that runs there with ``python3 run.py``:
  the package's code, only the datasets those jobs read (losslessly narrowed,
  :mod:`~deepclust.offload.codec`), the job list with each job's parameters.
- ``run`` (:mod:`~deepclust.offload.remote`, there): the jobs, several sharing the GPU, each
  checkpointing about once a minute; at its deadline the results (and the checkpoints of
  unfinished jobs) go into a few capped archive pieces (:mod:`~deepclust.offload.archive`).
- ``unpack`` (:mod:`~deepclust.offload.unpack`, here): each job's files land under ``results/``
  where the workflow expects them, only when the parameters and the data they were made with
  are today's config's and data; Snakemake then records them as its own, so ``snakemake -n``
  plans no retraining, and clustering, metrics and the report run here as usual.
"""
