"""The run's summary: every enabled experiment's headline and the provenance, the last target of `rule all`.

Both rules here read and write a few small text files: they run where Snakemake runs (localrule),
never as cluster jobs that would wait in a queue for seconds of work.
"""


rule summary:
    input:
        unpack(summary_inputs),
    output:
        markdown=report(
            f"{RESULTS}/summary.md",
            caption="../report/summary.rst",
            category="summary",
        ),
        html=report(
            f"{RESULTS}/summary.html",
            caption="../report/summary.rst",
            category="summary",
        ),
        json=f"{RESULTS}/summary.json",
    log:
        f"{LOGS}/summary.log",
    localrule: True
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        config=config,
        config_files=summary_config_files(),
        sources=summary_sources(),
        benchmarks=BENCHMARKS,
    script:
        "../workflow_scripts/summary.py"


rule report_table_page:
    input:
        f"{RESULTS}/{{module}}/{{name}}.md",
    output:
        report(
            f"{RESULTS}/{{module}}/{{name}}.html",
            caption="../report/table_page.rst",
            category="{module}",
            subcategory="table",
        ),
    log:
        f"{LOGS}/report_table_page/{{module}}/{{name}}.log",
    wildcard_constraints:
        module="|".join(MODULES),
        name=r"[A-Za-z0-9_]+",
    localrule: True
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../workflow_scripts/markdown_page.py"
