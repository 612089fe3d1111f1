# The tables (summary.csv, table.csv/.md), the figures and the HTML report. Each figure is its
# own job and output, so it is cached like everything else; the report only asks for the
# figures of each experiment's lowest seed.


rule aggregate:
    input:
        metrics=all_metrics(),
        consensus=all_consensus(),
        paper_values=paper_values_file(),
        # the pixel kNN graph of each dataset, on which the label-free pick scores every run
        graphs=list(pick_graphs().values()),
    output:
        summary=PATHS["summary"],
        table=PATHS["table"],
        markdown=PATHS["table_md"],
    params:
        paper_names=canonical(paper_names(config)),
        runs=run_memberships(),
        sweeps=canonical(SWEEPS),  # a sweep over K gets its scores over K in table.md
        graphs=pick_graphs(),  # {dataset: its pixel kNN graph}, the inputs' `graphs`
    log:
        job_log("aggregate"),
    benchmark:
        job_benchmark("aggregate"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/aggregate.py"


rule plot_training:
    input:
        PATHS["train_log"],
    output:
        report(
            PATHS["training_plot"],
            category="Pretraining",
            labels={"dataset": "{dataset}", "extractor": "{extractor}", "seed": "{seed}"},
        ),
    log:
        job_log("plot_training"),
    benchmark:
        job_benchmark("plot_training"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/plot_training.py"


rule embed_2d:
    input:
        PATHS["features"],
    output:
        PATHS["embedding_2d"],
    log:
        job_log("embed_2d"),
    benchmark:
        job_benchmark("embed_2d"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/embed_2d.py"


rule plot_run:
    input:
        data=PATHS["processed"],
        embedding=PATHS["embedding_2d"],
        labels=PATHS["labels"],
    output:
        embedding=report(
            PATHS["embedding_plot"],
            category="Embeddings",
            labels={"dataset": "{dataset}", "run": "{extractor} + {clusterer}", "seed": "{seed}"},
        ),
        confusion=report(
            PATHS["confusion_plot"],
            category="Confusion matrices",
            labels={"dataset": "{dataset}", "run": "{extractor} + {clusterer}", "seed": "{seed}"},
        ),
        samples=report(
            PATHS["samples_plot"],
            category="Samples per cluster",
            labels={"dataset": "{dataset}", "run": "{extractor} + {clusterer}", "seed": "{seed}"},
        ),
    log:
        job_log("plot_run"),
    benchmark:
        job_benchmark("plot_run"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/plot_run.py"


rule plot_refinement:
    input:
        PATHS["refine_log"],
    output:
        report(
            PATHS["refinement_plot"],
            category="Refinement",
            labels={"dataset": "{dataset}", "run": "{extractor} + {clusterer}", "seed": "{seed}"},
        ),
    wildcard_constraints:
        clusterer=_alternatives(REFINING_CLUSTERERS),
    log:
        job_log("plot_refinement"),
    benchmark:
        job_benchmark("plot_refinement"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/plot_refinement.py"


rule plot_sweep:
    input:
        PATHS["table"],
    output:
        report(PATHS["sweep_plot"], category="Sweeps"),
    params:
        group=lambda wildcards: canonical(SWEEPS[wildcards.experiment]),
    wildcard_constraints:
        experiment=_alternatives(SWEEPS),
    log:
        job_log("plot_sweep"),
    benchmark:
        job_benchmark("plot_sweep"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/plot_sweep.py"


rule plot_crossover:
    input:
        summary=PATHS["summary"],
        table=PATHS["table"],
    output:
        report(PATHS["crossover_plot"], category="Networks x clusterers"),
    params:
        order=canonical(config.get("crossover")),  # rows and columns in the grid's order
    log:
        job_log("plot_crossover"),
    benchmark:
        job_benchmark("plot_crossover"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/plot_crossover.py"


rule report:
    input:
        table=PATHS["table"],
        summary=PATHS["summary"],
        metrics=all_metrics(),
        figures=report_figures(),
    output:
        report(PATHS["report"], category="Report"),
    params:
        runs=report_runs(),
        benchmarks=report_benchmarks(),
        sweeps=canonical(SWEEPS),
    log:
        job_log("report"),
    benchmark:
        job_benchmark("report"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/report.py"
