"""Helpers the test suite shares: a real Redis server, a real uvicorn server, signed webhooks."""
