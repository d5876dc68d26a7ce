"""The internal API as one signed-in user sees it, in tests that act as several users on one app."""

from litestar.testing import TestClient

from tests.conftest import PASSWORD


class SignedIn:
    def __init__(self, client: TestClient, username: str, password: str = PASSWORD) -> None:
        token = client.post("/api/session", json={"username": username, "password": password}).json()["token"]
        self._client, self._headers = client, {"authorization": f"Bearer {token}"}

    def get(self, path: str, **kwargs):
        return self._client.get(path, headers=self._headers, **kwargs)

    def post(self, path: str, **kwargs):
        return self._client.post(path, headers=self._headers, **kwargs)

    def put(self, path: str, **kwargs):
        return self._client.put(path, headers=self._headers, **kwargs)

    def delete(self, path: str, **kwargs):
        return self._client.delete(path, headers=self._headers, **kwargs)
