"""The staff web dashboard: aiohttp serving server-rendered, autoescaped pages."""
