"""Getting a message into a live chat once: over the relay's socket when it holds one, else by HTTP send."""
