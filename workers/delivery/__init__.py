"""Getting a message into a live chat once: over the relay's socket when it holds one, else by HTTP send."""

from workers.delivery.relay_socket import RelaySocket
from workers.delivery.routing import Delivery, Sent, Transport

__all__ = ["Delivery", "RelaySocket", "Sent", "Transport"]
