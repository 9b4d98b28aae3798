"""Hume's tools and configs made to match the code: each operation is a plan (what differs, field by field),
then its application, so a dry run shows exactly what a real run would change.

- `changes`: what differs between two JSON values, and how a change is shown;
- `tools`: the registered tools against Hume's tools (create, version, keep);
- `config_shape`: a config as Hume returns it, turned back into what a new version must post;
- `attach`: the next version of a config, with our tools and webhook.
"""


class SyncError(Exception):
    """Hume's state does not allow the operation (a tool never synced, a name used twice, ...)."""
