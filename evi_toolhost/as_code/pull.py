"""`pull`: a config as Hume has it (its latest version) turned into the `evi.yaml` that declares it, every setting
included, so that `plan` on the written file shows no difference and the team starts from what it clicked.

Its prompt is written under the prompt's name with the text the config uses; its tools by name (pinned with
`{name, version}` when the config lists a version older than the tool's latest).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from evi_toolhost.as_code import AsCodeError
from evi_toolhost.as_code.evi_file import SETTINGS
from evi_toolhost.sync import SyncError
from evi_toolhost.sync.attach import latest_config
from evi_toolhost.sync.config_shape import posted_config_version
from evi_toolhost.sync.tools import find_tool
from service.evi.management import HumeManagementClient

HEADER = """\
# EVI configuration as code, pulled by `evi-toolhost pull --config-id {config_id}` (version {version}).
# `evi-toolhost plan` shows how Hume differs from this file, `evi-toolhost apply` makes Hume match it.
# Add `tool_modules: [your.tools]` to have apply sync your @tool functions too.
"""


class _Literal(str):
    """A string written as a YAML block (`|`), for prompt texts."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|" if "\n" in value else None)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)


def _tools(client: HumeManagementClient, config: Mapping[str, Any]) -> list[Any]:
    entries: list[Any] = []
    for tool in config.get("tools") or []:
        latest = find_tool(client, str(tool["name"]))
        pinned = tool.get("version_type") != "LATEST" and (latest is None or latest.version != tool["version"])
        entries.append({"name": tool["name"], "version": tool["version"]} if pinned else tool["name"])
    return entries


def pulled_file(client: HumeManagementClient, config_id: str) -> tuple[dict[str, Any], Mapping[str, Any]]:
    """The file's content for the config, and the config version it was made from."""
    try:
        config = latest_config(client, config_id)
    except SyncError as exc:
        raise AsCodeError(str(exc)) from None
    posted = posted_config_version(config)
    entry: dict[str, Any] = {"evi_version": config.get("evi_version", "3")}
    document: dict[str, Any] = {}
    prompt = config.get("prompt")
    if isinstance(prompt, Mapping) and prompt.get("name"):
        document["prompts"] = {prompt["name"]: {"text": _Literal(prompt.get("text", ""))}}
        entry["prompt"] = prompt["name"]
    voice = config.get("voice")
    if isinstance(voice, Mapping) and voice.get("name"):
        entry["voice"] = {"name": voice["name"], "provider": voice.get("provider", "CUSTOM_VOICE")}
    for name in SETTINGS:
        if name != "voice" and name in posted:
            entry[name] = posted[name]
    entry["tools"] = _tools(client, config)
    document["configs"] = {config["name"]: entry}
    return document, config


def pulled_text(client: HumeManagementClient, config_id: str) -> str:
    document, config = pulled_file(client, config_id)
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return HEADER.format(config_id=config["id"], version=config["version"]) + body
