"""Run in a process of its own with Airflow's settings in its environment: builds Airflow's
own API app (``create_app``: the auth manager, its middleware and the project's plugin, as the
api-server serves them) and asks the Contracts and Feedback pages as nobody, with a forged
token and signed in; prints what each answer was, as JSON (``tests/airflow/test_end_to_end.py``)."""

from __future__ import annotations

import json
import sys

from airflow.api_fastapi.app import create_app
from fastapi.testclient import TestClient


def main(user: str, password: str) -> None:
    client = TestClient(create_app())
    token = client.post("/auth/token", json={"username": user, "password": password})
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    forged = {"Authorization": "Bearer not-a-token"}
    answers = {
        "anonymous": client.get("/opencrime/contracts").status_code,
        "anonymous_json": client.get("/opencrime/api/contracts").status_code,
        "forged": client.get("/opencrime/api/contracts", headers=forged).status_code,
        "page": client.get("/opencrime/contracts", headers=bearer).text,
        "report": client.get("/opencrime/api/contracts", headers=bearer).json(),
        "releases_open_to_all": client.get("/opencrime/api/releases").status_code,
        "feedback_anonymous": client.get("/opencrime/feedback").status_code,
        "answer_anonymous": client.patch(
            "/opencrime/api/feedback/1", json={"status": "closed"}
        ).status_code,
        "feedback_signed_in": client.get("/opencrime/feedback", headers=bearer).status_code,
    }
    print(json.dumps(answers))


if __name__ == "__main__":
    main(*sys.argv[1:3])
