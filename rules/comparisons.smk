"""Every experiment's comparisons: one rule for all of them, fed by what each module registers.

A module calls ``register_comparisons(module, unit_stats, kinds, settings)`` in its .smk:
``unit_stats()`` -> ``{entry: {seed: unit statistics file}}`` (atmo.metrics.unit_stats),
``kinds()`` -> ``{entry: model | baseline | ablation | oracle}`` and ``settings()`` -> the config
its ``atmo.<module>.comparison.plan`` reads. The rule writes ``comparisons.json`` (what the
summary, the score tables and the README read) and ``comparisons.md``.
"""


rule comparisons:
    input:
        comparison_unit_files,
    output:
        json=f"{RESULTS}/{{module}}/comparisons.json",
        markdown=report(
            f"{RESULTS}/{{module}}/comparisons.md",
            caption="../report/comparisons.rst",
            category="{module}",
            subcategory="table",
        ),
    log:
        f"{LOGS}/{{module}}/comparisons.log",
    benchmark:
        f"{BENCHMARKS}/{{module}}/comparisons.tsv"
    wildcard_constraints:
        module="|".join(MODULES),
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        module=comparison_module,
        unit_stats=comparison_unit_stats,
        kinds=comparison_kinds,
        settings=comparison_settings,
        bootstrap=comparison_bootstrap,
    script:
        "../workflow_scripts/comparisons.py"
