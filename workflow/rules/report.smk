# Figures and the HTML report. Each figure is its own job and output, so it is cached like
# everything else; the report only asks for the figures of each experiment's lowest seed.


rule plot_training:
    input:
        f"{RUN_DIR}/train_log.csv",
    output:
        report(
            f"{RUN_DIR}/plots/training.png",
            category="Pretraining",
            labels={"dataset": "{dataset}", "extractor": "{extractor}", "seed": "{seed}"},
        ),
    log:
        f"results/logs/plot/{{dataset}}/{{extractor}}/seed{{seed}}/training.log",
    benchmark:
        f"results/benchmarks/plot/{{dataset}}/{{extractor}}/seed{{seed}}/training.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/plot_training.py"


rule embed_2d:
    input:
        f"{RUN_DIR}/features.h5",
    output:
        f"{RUN_DIR}/plots/embedding_2d.h5",
    log:
        f"results/logs/plot/{{dataset}}/{{extractor}}/seed{{seed}}/embedding_2d.log",
    benchmark:
        f"results/benchmarks/plot/{{dataset}}/{{extractor}}/seed{{seed}}/embedding_2d.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/embed_2d.py"


rule plot_run:
    input:
        data="data/processed/{dataset}.h5",
        embedding=f"{RUN_DIR}/plots/embedding_2d.h5",
        labels=f"{RUN_DIR}/{{clusterer}}/labels.h5",
    output:
        embedding=report(
            f"{RUN_DIR}/{{clusterer}}/plots/embedding.png",
            category="Embeddings",
            labels={"dataset": "{dataset}", "run": "{extractor} + {clusterer}", "seed": "{seed}"},
        ),
        confusion=report(
            f"{RUN_DIR}/{{clusterer}}/plots/confusion.png",
            category="Confusion matrices",
            labels={"dataset": "{dataset}", "run": "{extractor} + {clusterer}", "seed": "{seed}"},
        ),
        samples=report(
            f"{RUN_DIR}/{{clusterer}}/plots/samples.png",
            category="Samples per cluster",
            labels={"dataset": "{dataset}", "run": "{extractor} + {clusterer}", "seed": "{seed}"},
        ),
    log:
        f"results/logs/plot/{{dataset}}/{{extractor}}/seed{{seed}}/{{clusterer}}.log",
    benchmark:
        f"results/benchmarks/plot/{{dataset}}/{{extractor}}/seed{{seed}}/{{clusterer}}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/plot_run.py"


rule plot_refinement:
    input:
        f"{RUN_DIR}/{{clusterer}}/refine_log.csv",
    output:
        report(
            f"{RUN_DIR}/{{clusterer}}/plots/refinement.png",
            category="Refinement",
            labels={"dataset": "{dataset}", "run": "{extractor} + {clusterer}", "seed": "{seed}"},
        ),
    wildcard_constraints:
        clusterer=_alternatives(REFINING_CLUSTERERS),
    log:
        f"results/logs/plot/{{dataset}}/{{extractor}}/seed{{seed}}/{{clusterer}}-refinement.log",
    benchmark:
        f"results/benchmarks/plot/{{dataset}}/{{extractor}}/seed{{seed}}/{{clusterer}}-refinement.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/plot_refinement.py"


rule plot_sweep:
    input:
        "results/table.csv",
    output:
        report("results/plots/sweep_{experiment}.png", category="Sweeps"),
    params:
        group=lambda wildcards: canonical(SWEEPS[wildcards.experiment]),
    wildcard_constraints:
        experiment=_alternatives(SWEEPS),
    log:
        "results/logs/plot/sweep_{experiment}.log",
    benchmark:
        "results/benchmarks/plot/sweep_{experiment}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/plot_sweep.py"


rule plot_crossover:
    input:
        summary="results/summary.csv",
        table="results/table.csv",
    output:
        report("results/plots/crossover_{dataset}.png", category="Networks x clusterers"),
    params:
        order=canonical(config.get("crossover")),  # rows and columns in the grid's order
    log:
        "results/logs/plot/crossover_{dataset}.log",
    benchmark:
        "results/benchmarks/plot/crossover_{dataset}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/plot_crossover.py"


rule report:
    input:
        table="results/table.csv",
        summary="results/summary.csv",
        metrics=all_metrics(),
        figures=report_figures(),
    output:
        report("results/report.html", category="Report"),
    params:
        runs=report_runs(),
        benchmarks=report_benchmarks(),
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/report.py"
