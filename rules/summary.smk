"""The run's summary: every enabled experiment's headline and the provenance, the last target of `rule all`."""


rule summary:
    input:
        unpack(summary_inputs),
    output:
        markdown=report(
            f"{RESULTS}/summary.md",
            caption="../report/summary.rst",
            category="0 summary",
        ),
        json=f"{RESULTS}/summary.json",
    log:
        f"{LOGS}/summary.log",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        config=config,
        config_files=summary_config_files(),
        sources=summary_sources(),
        riskseg=summary_riskseg_roles(),
        downscale_scores=summary_downscale_scores(),
        benchmarks=BENCHMARKS,
    script:
        "../workflow_scripts/summary.py"
