"""One summary of every experiment a run made: headline tables, who won, and where the numbers come from.

:mod:`atmo.summary.headlines` reads each module's own metrics files (nothing is recomputed) into a
:class:`~atmo.summary.headlines.Headline`, under the title the experiment declares in its own folder
(:mod:`atmo.summary.declared`: nothing here names an experiment); :mod:`atmo.summary.provenance`
records the config, its hash, the git commit, the data sources, the date, the machine and the run's
wall time; :mod:`atmo.summary.render` writes ``results/summary.md`` and ``results/summary.json``.
"""
