"""``make compose-env``: print .env.example with its empty secrets filled by random values."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

GENERATORS = {
    "POSTGRES_PASSWORD": lambda: secrets.token_urlsafe(24),
    "AIRFLOW_JWT_SECRET": lambda: secrets.token_urlsafe(48),
    "AIRFLOW_FERNET_KEY": lambda: Fernet.generate_key().decode(),
    "AIRFLOW_ADMIN_PASSWORD": lambda: secrets.token_urlsafe(16),
}


def filled(example: str) -> str:
    lines = []
    for line in example.splitlines():
        key, _, value = line.partition("=")
        if key in GENERATORS and not value:
            line = f"{key}={GENERATORS[key]()}"
        lines.append(line)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(filled(Path(sys.argv[1]).read_text(encoding="utf-8")))
