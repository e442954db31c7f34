"""Who may read the plugin's non-public pages: a user signed in to Airflow (the UI's cookie or
a bearer token from ``/auth/token``) whom Airflow's auth manager authorizes for the page's
custom view (``Contracts``, ``Feedback``)."""

from __future__ import annotations

from collections.abc import Callable

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import HTTPException


def signed_in_for(view: str, method: str = "GET") -> Callable[[GetUserDep], None]:
    """A FastAPI dependency: 401 without a signed-in user, 403 when the auth manager does not
    give the user ``method`` on ``view``."""

    def authorized(user: GetUserDep) -> None:
        allowed = get_auth_manager().is_authorized_custom_view(
            method=method,  # type: ignore[arg-type]
            resource_name=view,
            user=user,
        )
        if not allowed:
            raise HTTPException(status_code=403, detail=f"not authorized for the {view} view")

    return authorized
