# Clusterers of fixed features (K-means, ...) run in `cluster`, on features.h5 or, for a clusterer
# with `manifold:`, on that manifold's embedding (its own stage: K-means -> DBSCAN reuses it); those that fine-tune the
# pretrained model (DEKM, DEC/IDEC) in `refine`, which reads the model and the images and also
# writes the refined model and a per-iteration log. Either way only the clustering reruns when
# a clusterer's parameters change. GCN clusterers also read the kNN graph of the dataset, built
# once per (k, metric) by `graph`, so changing a GCN's other parameters does not rebuild it.


rule manifold:
    input:
        features=PATHS["features"],
    output:
        PATHS["manifold"],
    params:
        manifold=lambda w: PLAN.params("manifolds", w.manifold, "manifold"),
    threads: config["threads"]["manifold"]
    log:
        job_log("manifold"),
    benchmark:
        job_benchmark("manifold"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/manifold.py"


rule cluster:
    input:
        unpack(cluster_inputs),
    output:
        labels=PATHS["labels"],
        metrics=PATHS["metrics"],
    params:
        clusterer=lambda w: PLAN.params("clusterers", w.clusterer, "cluster"),
        run=run_info,
    wildcard_constraints:
        clusterer=_alternatives(FEATURE_CLUSTERERS),
    threads: config["threads"]["cluster"]
    log:
        job_log("cluster"),
    benchmark:
        job_benchmark("cluster"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/cluster.py"


# Each image's cluster beside its source (an image folder's file) and how firmly the method put
# it there (deepclust.assignments). Seconds: it runs in Snakemake's own process, and where
# Snakemake runs on a cluster (localrules in the Snakefile).
rule assignments:
    input:
        labels=PATHS["labels"],
        data=PATHS["processed"],
    output:
        PATHS["assignments"],
    log:
        job_log("assignments"),
    benchmark:
        job_benchmark("assignments"),
    run:
        from deepclust.assignments import write_assignments

        rows = write_assignments(input.labels, input.data, output[0])
        Path(log[0]).write_text(f"{output[0]}: {rows} images from {input.labels}\n")


# An image folder's images, one folder per cluster of the chosen experiment (group.experiment,
# else the label-free pick of table.csv), at its lowest seed (deepclust.grouping). Links by
# default: seconds, in Snakemake's own process.
rule group:
    input:
        table=PATHS["table"],
        assignments=lambda w: list(grouped_runs(w).values()),
    output:
        directory(PATHS["clusters"]),
    params:
        group=canonical(PLAN.config.get("group") or {}),
        path=lambda w: PLAN.config["datasets"][w.dataset]["path"],
    log:
        job_log("group"),
    benchmark:
        job_benchmark("group"),
    run:
        from deepclust.grouping import group_dataset

        source, counts = group_dataset(
            input.table,
            wildcards.dataset,
            grouped_runs(wildcards),
            params.path,
            output[0],
            params.group,
        )
        Path(log[0]).write_text(f"{source} -> {output[0]}: {counts}\n")


rule consensus:
    input:
        unpack(consensus_inputs),
    output:
        labels=PATHS["consensus_labels"],
        metrics=PATHS["consensus_metrics"],
    params:
        consensus=canonical(config.get("consensus") or {}),
        run=consensus_info,
    threads: 1
    log:
        job_log("consensus"),
    benchmark:
        job_benchmark("consensus"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/consensus.py"


rule graph:
    input:
        PATHS["processed"],
    output:
        PATHS["graph"],
    threads: config["threads"]["graph"]
    log:
        job_log("graph"),
    benchmark:
        job_benchmark("graph"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/graph.py"


rule refine:
    input:
        unpack(refine_inputs),
    output:
        labels=PATHS["labels"],
        metrics=PATHS["metrics"],
        model=PATHS["refined_model"],
        refine_log=PATHS["refine_log"],
    params:
        clusterer=lambda w: PLAN.params("clusterers", w.clusterer, "refine"),
        run=run_info,
    wildcard_constraints:
        clusterer=_alternatives(REFINING_CLUSTERERS),
        extractor=_alternatives(TRAINED_EXTRACTORS),
    threads: config["threads"]["refine"]
    resources:
        gpu=1,
    log:
        job_log("refine"),
    benchmark:
        job_benchmark("refine"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/refine.py"

