"""Hume's tools and configs made to match the code: plans (what differs, field by field) and their application."""
