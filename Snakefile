from snakemake.utils import min_version

min_version("9.0")


include: "rules/common.smk"


# Only the modules listed in `modules:` are parsed: another module's rules, manifests and input
# functions are never read (the list of modules itself is the schema's, atmo.settings.workflow.MODULES).
for module in config["modules"]:

    include: f"rules/{module}.smk"


include: "rules/comparisons.smk"
include: "rules/summary.smk"


report: "report/workflow.rst"


rule all:
    default_target: True
    input:
        all_targets,
        report_table_pages(),
        rules.summary.output.markdown,


onsuccess:
    print(
        f"summary: {RESULTS}/summary.md; HTML report: make report (results/report.html)"
    )
