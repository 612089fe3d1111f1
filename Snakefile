# deepclust: deep image clustering, from download to report.
# Usage: snakemake --cores 8 --resources gpu=1   (see README.md)
from snakemake.utils import min_version

min_version("9.0")


# --configfile replaces the embedded default instead of being merged into it, so a dataset or
# experiment of config.yaml never leaks into another config's run.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/cluster.smk"
include: "workflow/rules/report.smk"


# On a cluster these run where Snakemake runs (the login node): downloads need the internet that
# compute nodes often lack, and the tables and the report take seconds.
localrules:
    all,
    download,
    aggregate,
    plot_sweep,
    plot_crossover,
    report,
    assignments,
    group,


# this config's tables and report go to results/reports/{name} (PLAN.name: its `name:`, else its
# --configfile names), so another config's run keeps its own
rule all:
    input:
        filled("summary", name=PLAN.name),
        filled("report", name=PLAN.name),
        all_assignments(),
        all_groups(),
    default_target: True
