# Clusterers of fixed features (K-means, ...) run in `cluster`, on features.h5 or, for a clusterer
# with `manifold:`, on that manifold's embedding (its own stage: K-means -> DBSCAN reuses it); those that fine-tune the
# pretrained model (DEKM, DEC/IDEC) in `refine`, which reads the model and the images and also
# writes the refined model and a per-iteration log. Either way only the clustering reruns when
# a clusterer's parameters change. GCN clusterers also read the kNN graph of the dataset, built
# once per (k, metric) by `graph`, so changing a GCN's other parameters does not rebuild it.


rule manifold:
    input:
        features=f"{RUN_DIR}/features.h5",
    output:
        f"{RUN_DIR}/manifolds/{{manifold}}.h5",
    params:
        manifold=lambda w: PLAN.params("manifolds", w.manifold, "manifold"),
    threads: config["threads"]["manifold"]
    log:
        f"results/logs/manifold/{{dataset}}/{{extractor}}/seed{{seed}}/{{manifold}}.log",
    benchmark:
        f"results/benchmarks/manifold/{{dataset}}/{{extractor}}/seed{{seed}}/{{manifold}}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/manifold.py"


rule cluster:
    input:
        unpack(cluster_inputs),
    output:
        labels=f"{RUN_DIR}/{{clusterer}}/labels.h5",
        metrics=f"{RUN_DIR}/{{clusterer}}/metrics.json",
    params:
        clusterer=lambda w: PLAN.params("clusterers", w.clusterer, "cluster"),
        run=run_info,
    wildcard_constraints:
        clusterer=_alternatives(FEATURE_CLUSTERERS),
    threads: config["threads"]["cluster"]
    log:
        f"results/logs/cluster/{{dataset}}/{{extractor}}/seed{{seed}}/{{clusterer}}.log",
    benchmark:
        f"results/benchmarks/cluster/{{dataset}}/{{extractor}}/seed{{seed}}/{{clusterer}}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/cluster.py"


# Each image's cluster beside its source (an image folder's file) and how firmly the method put
# it there (deepclust.assignments). Seconds: it runs in Snakemake's own process, and where
# Snakemake runs on a cluster (localrules in the Snakefile).
rule assignments:
    input:
        labels=f"{RUN_DIR}/{{clusterer}}/labels.h5",
        data="data/processed/{dataset}.h5",
    output:
        f"{RUN_DIR}/{{clusterer}}/assignments.csv",
    log:
        f"results/logs/assignments/{{dataset}}/{{extractor}}/seed{{seed}}/{{clusterer}}.log",
    benchmark:
        f"results/benchmarks/assignments/{{dataset}}/{{extractor}}/seed{{seed}}/{{clusterer}}.tsv"
    run:
        from deepclust.assignments import write_assignments

        rows = write_assignments(input.labels, input.data, output[0])
        Path(log[0]).write_text(f"{output[0]}: {rows} images from {input.labels}\n")


# An image folder's images, one folder per cluster of the chosen experiment (group.experiment,
# else the label-free pick of table.csv), at its lowest seed (deepclust.grouping). Links by
# default: seconds, in Snakemake's own process.
rule group:
    input:
        table="results/table.csv",
        assignments=lambda w: list(grouped_runs(w).values()),
    output:
        directory("results/{dataset}/clusters"),
    params:
        group=canonical(PLAN.config.get("group") or {}),
        path=lambda w: PLAN.config["datasets"][w.dataset]["path"],
    log:
        "results/logs/group/{dataset}.log",
    benchmark:
        "results/benchmarks/group/{dataset}.tsv"
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
        labels=f"{CONSENSUS_DIR}/labels.h5",
        metrics=f"{CONSENSUS_DIR}/metrics.json",
    params:
        consensus=canonical(config.get("consensus") or {}),
        run=consensus_info,
    threads: 1
    log:
        "results/logs/consensus/{dataset}/{extractor}/{clusterer}.log",
    benchmark:
        "results/benchmarks/consensus/{dataset}/{extractor}/{clusterer}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/consensus.py"


rule graph:
    input:
        "data/processed/{dataset}.h5",
    output:
        "results/{dataset}/graphs/knn{k}_{metric}.h5",
    threads: config["threads"]["graph"]
    log:
        "results/logs/graph/{dataset}/knn{k}_{metric}.log",
    benchmark:
        "results/benchmarks/graph/{dataset}/knn{k}_{metric}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/graph.py"


rule refine:
    input:
        unpack(refine_inputs),
    output:
        labels=f"{RUN_DIR}/{{clusterer}}/labels.h5",
        metrics=f"{RUN_DIR}/{{clusterer}}/metrics.json",
        model=f"{RUN_DIR}/{{clusterer}}/model.pt",
        refine_log=f"{RUN_DIR}/{{clusterer}}/refine_log.csv",
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
        f"results/logs/refine/{{dataset}}/{{extractor}}/seed{{seed}}/{{clusterer}}.log",
    benchmark:
        f"results/benchmarks/refine/{{dataset}}/{{extractor}}/seed{{seed}}/{{clusterer}}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/refine.py"


rule aggregate:
    input:
        metrics=all_metrics(),
        consensus=all_consensus(),
        paper_values=paper_values_file(),
    output:
        summary="results/summary.csv",
        table="results/table.csv",
        markdown="results/table.md",
    params:
        paper_names=canonical(paper_names(config)),
        runs=run_memberships(),
    log:
        "results/logs/aggregate.log",
    benchmark:
        "results/benchmarks/aggregate.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/aggregate.py"
