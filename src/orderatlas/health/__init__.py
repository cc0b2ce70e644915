"""Health: /healthz (the process answers) and /readyz (its PostgreSQL and Redis answer too)."""
