"""A local EVI: Hume's control plane (HTTP and socket), chat history, tools and configs, plus an admin
API and a player that runs scripted conversations against the service with signed webhooks."""

from evi_toolhost.simulator.app import create_simulator_app
from evi_toolhost.simulator.player import PlayerError, play, play_sync
from evi_toolhost.simulator.report import CallReport, PlayReport, WebhookDelivery
from evi_toolhost.simulator.script import Script, ScriptError, load_script, parse_script
from evi_toolhost.simulator.state import Chat, ReceivedMessage, SimulatorState, Subscription

__all__ = [
    "CallReport",
    "Chat",
    "PlayReport",
    "PlayerError",
    "ReceivedMessage",
    "Script",
    "ScriptError",
    "SimulatorState",
    "Subscription",
    "WebhookDelivery",
    "create_simulator_app",
    "load_script",
    "parse_script",
    "play",
    "play_sync",
]
