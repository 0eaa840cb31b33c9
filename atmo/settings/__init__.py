"""Settings: every config key is declared once, in the JSON schema of the package that reads it.

- :mod:`~atmo.settings.schema`: where the schemas live (``atmo/<package>/settings.schema.yaml``) and
  how a block inside one is found;
- :mod:`~atmo.settings.classes`: the settings classes generated from a schema block
  (:func:`settings_block`), validated on construction;
- :mod:`~atmo.settings.blocks`: a config mapping built into its class (:func:`build_block`);
- :mod:`~atmo.settings.workflow`: the workflow config validated, defaults filled, at parse time;
- :mod:`~atmo.settings.experiments`: every block of every enabled module built at parse time, from
  what each experiment's ``spec.py`` declares;
- :mod:`~atmo.settings.checks`: checks across blocks (comparison names, devices);
- :mod:`~atmo.settings.errors`: every problem as one line naming the key;
- :mod:`~atmo.settings.run_only`: the train keys a rule's ``params`` leave out;
- :mod:`~atmo.settings.describe`: the key tables of ``config/README.md``, generated from the schemas.
"""

from atmo.settings.blocks import build_block
from atmo.settings.classes import Check, SettingsBlock, settings_block
from atmo.settings.schema import schema_default

__all__ = ["Check", "SettingsBlock", "build_block", "schema_default", "settings_block"]
