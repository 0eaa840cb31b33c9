"""cbh_folds: one leave-one-flight-out fold per flight of the cache, written once as a table."""

from atmo.cbh.cache import read_cache_table
from atmo.cbh.folds import ValidationSettings, make_folds, write_fold_table
from atmo.runlog import log_to
from atmo.settings import build_block

log = log_to(snakemake.log[0])
validation = build_block(ValidationSettings, snakemake.params.validation, "cbh.validation")
folds = make_folds(read_cache_table(snakemake.input.cache), validation, source=snakemake.input.cache)
write_fold_table(snakemake.output.folds, folds)
for fold in folds:
    log.info(
        "fold %d: test %s (%d), train %d, validate %d",
        fold.fold_id,
        fold.test_flight,
        fold.n_test,
        fold.n_train,
        fold.n_val,
    )
