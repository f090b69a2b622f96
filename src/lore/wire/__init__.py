"""Wire models: the one JSON shape of each object, served by the HTTP API (and documented in its OpenAPI) and
printed by the CLI's `--json` alike. Plain pydantic, no FastAPI, so the CLI imports them at no extra cost."""
