rule cluster:
    input:
        features=f"{RUN_DIR}/features.h5",
    output:
        labels=f"{RUN_DIR}/{{clusterer}}/labels.h5",
        metrics=f"{RUN_DIR}/{{clusterer}}/metrics.json",
    params:
        clusterer=clusterer_params,
        run=run_info,
    threads: config["threads"]["cluster"]
    log:
        f"results/logs/cluster/{{dataset}}/{{extractor}}/seed{{seed}}/{{clusterer}}.log",
    benchmark:
        f"results/benchmarks/cluster/{{dataset}}/{{extractor}}/seed{{seed}}/{{clusterer}}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/cluster.py"


rule aggregate:
    input:
        all_metrics(),
    output:
        "results/summary.csv",
    log:
        "results/logs/aggregate.log",
    benchmark:
        "results/benchmarks/aggregate.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/aggregate.py"
