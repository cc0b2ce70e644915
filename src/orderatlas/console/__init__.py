"""The operator console: a static bundle of plain ES modules, a client of the JSON API."""
