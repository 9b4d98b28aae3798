"""The live-socket relay: holds control-plane sockets for active chats, shared out by Redis leases."""
