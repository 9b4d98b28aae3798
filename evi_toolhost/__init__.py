"""evi-toolhost: run your own Python functions as tools inside Hume's Empathic Voice Interface."""
