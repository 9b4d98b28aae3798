"""Configs: Hume's nine config routes (`records_api`), answering `return_config_public` (`return_config` in pages).

What a posted version must be is in `config_rules`, how its references resolve and what it keeps in
`config_store`, how it is returned in `config_json`.
"""

from __future__ import annotations

from evi_toolhost.simulator.config_json import config_json
from evi_toolhost.simulator.config_store import add_config_version, create_config
from evi_toolhost.simulator.records_api import RecordKind, records_routes

CONFIGS = RecordKind(
    plural="configs",
    catalog=lambda state: state.configs,
    render=config_json,
    render_listed=config_json,
    create=create_config,
    add_version=add_config_version,
)

routes = records_routes(CONFIGS)
