"""Hume's management API for prompts, tools and configs: `/v0/evi/prompts`, `/v0/evi/tools`, `/v0/evi/configs`.

A thin synchronous client (for the CLI): one method per endpoint, list endpoints followed through every
page. Any answer other than success raises `HumeApiError`, whose message is one readable line made from
Hume's error body. What to create or change is decided elsewhere (`evi_toolhost.sync`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from service.evi.control_plane import API_KEY_HEADER

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
PAGE_SIZE = 100
MAX_PAGES = 1000
_MAX_MESSAGE = 500


class HumeApiError(Exception):
    """Hume answered `status` to `method path` (or could not be reached: `status` None); `message` is
    Hume's own explanation, on one line."""

    def __init__(self, status: int | None, method: str, path: str, message: str) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.message = message
        if status is None:
            text = f"cannot reach the Hume API on {method} {path}: {message}"
        else:
            text = f"Hume API error {status} on {method} {path}: {message}"
        super().__init__(text)


class ToolVersion(BaseModel):
    """One version of a user-defined tool (`return_user_defined_tool`), the fields we use."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    version: int
    name: str
    parameters: str
    description: str | None = None
    fallback_content: str | None = None
    version_description: str | None = None
    version_type: str | None = None


class HumeManagementClient:
    """`X-Hume-Api-Key`-authenticated calls to `{base_url}/v0/evi/prompts...`, `/tools...` and `/configs...`.

    Pass `client` to supply the `httpx.Client` (e.g. with a mock transport); otherwise one is created
    and closed by `close()` / the `with` block.
    """

    def __init__(self, base_url: str, api_key: str, *, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=DEFAULT_TIMEOUT)

    def __repr__(self) -> str:
        return f"HumeManagementClient(base_url={self.base_url!r})"

    def __enter__(self) -> HumeManagementClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # --- tools ---------------------------------------------------------------------------------------

    def list_tools(self, *, name: str | None = None, restrict_to_most_recent: bool = True) -> list[ToolVersion]:
        """`GET /v0/evi/tools`, every page; with `name`, Hume filters by name."""
        params: dict[str, str] = {"restrict_to_most_recent": _flag(restrict_to_most_recent)}
        if name is not None:
            params["name"] = name
        return self._tools(self.pages("/v0/evi/tools", "tools_page", params))

    def list_tool_versions(self, tool_id: str, *, restrict_to_most_recent: bool = False) -> list[ToolVersion]:
        """`GET /v0/evi/tools/{id}`, every page."""
        params = {"restrict_to_most_recent": _flag(restrict_to_most_recent)}
        return self._tools(self.pages(f"/v0/evi/tools/{segment(tool_id)}", "tools_page", params))

    def get_tool_version(self, tool_id: str, version: int) -> ToolVersion:
        path = f"/v0/evi/tools/{segment(tool_id)}/version/{int(version)}"
        return self._tool(self._request("GET", path), "GET", path)

    def create_tool(self, body: Mapping[str, Any]) -> ToolVersion:
        """`POST /v0/evi/tools` with a `posted_user_defined_tool`; the answer is version 0."""
        return self._tool(self._request("POST", "/v0/evi/tools", body), "POST", "/v0/evi/tools")

    def create_tool_version(self, tool_id: str, body: Mapping[str, Any]) -> ToolVersion:
        """`POST /v0/evi/tools/{id}` with a `posted_user_defined_tool_version`."""
        path = f"/v0/evi/tools/{segment(tool_id)}"
        return self._tool(self._request("POST", path, body), "POST", path)

    # --- prompts -------------------------------------------------------------------------------------

    def list_prompts(self, *, name: str | None = None) -> list[dict[str, Any]]:
        """`GET /v0/evi/prompts`, every page, the latest version of each (`return_prompt`); Hume filters by name."""
        params = {"restrict_to_most_recent": "true", **({"name": name} if name is not None else {})}
        return self.pages("/v0/evi/prompts", "prompts_page", params)

    def create_prompt(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /v0/evi/prompts` with a `posted_prompt`; the answer is version 0."""
        return _object(self._request("POST", "/v0/evi/prompts", body), "POST", "/v0/evi/prompts")

    def create_prompt_version(self, prompt_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /v0/evi/prompts/{id}` with a `posted_prompt_version`."""
        path = f"/v0/evi/prompts/{segment(prompt_id)}"
        return _object(self._request("POST", path, body), "POST", path)

    # --- configs -------------------------------------------------------------------------------------

    def list_configs(self, *, name: str | None = None) -> list[dict[str, Any]]:
        """`GET /v0/evi/configs`, every page, the latest version of each; Hume filters by name."""
        params = {"restrict_to_most_recent": "true", **({"name": name} if name is not None else {})}
        return self.pages("/v0/evi/configs", "configs_page", params)

    def create_config(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /v0/evi/configs` with a `posted_config`; the answer is the `return_config`."""
        return _object(self._request("POST", "/v0/evi/configs", body), "POST", "/v0/evi/configs")

    def list_config_versions(self, config_id: str, *, restrict_to_most_recent: bool = False) -> list[dict[str, Any]]:
        """`GET /v0/evi/configs/{id}`, every page (`return_config` objects, in Hume's order)."""
        params = {"restrict_to_most_recent": _flag(restrict_to_most_recent)}
        return self.pages(f"/v0/evi/configs/{segment(config_id)}", "configs_page", params)

    def get_config_version(self, config_id: str, version: int) -> dict[str, Any]:
        path = f"/v0/evi/configs/{segment(config_id)}/version/{int(version)}"
        return _object(self._request("GET", path), "GET", path)

    def create_config_version(self, config_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /v0/evi/configs/{id}` with a `posted_config_version`."""
        path = f"/v0/evi/configs/{segment(config_id)}"
        return _object(self._request("POST", path, body), "POST", path)

    # --- plumbing ------------------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """One `GET` whose answer is a JSON object (`path` with its segments quoted, see `segment`)."""
        return _object(self._request("GET", path, params=params), "GET", path)

    def _request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, params: Mapping[str, str] | None = None
    ) -> Any:
        try:
            response = self._client.request(
                method,
                self.base_url + path,
                json=dict(body) if body is not None else None,
                params=params,
                headers={API_KEY_HEADER: self._api_key},
            )
        except httpx.HTTPError as exc:
            raise HumeApiError(None, method, path, self._redact(_exception_text(exc))) from None
        if not response.is_success:
            raise HumeApiError(response.status_code, method, path, self._redact(error_message(response)))
        try:
            return response.json()
        except ValueError:
            raise HumeApiError(response.status_code, method, path, "the answer is not JSON") from None

    def pages(self, path: str, items_key: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every item of a paged list, following `total_pages` from page 0."""
        items: list[dict[str, Any]] = []
        page_number = 0
        while page_number < MAX_PAGES:
            query = {**params, "page_number": str(page_number), "page_size": str(PAGE_SIZE)}
            body = _object(self._request("GET", path, params=query), "GET", path)
            page = body.get(items_key)
            total_pages = body.get("total_pages")
            if not isinstance(page, list) or not isinstance(total_pages, int):
                raise HumeApiError(200, "GET", path, f"the answer is not a page of {items_key}")
            items.extend(_object(item, "GET", path) for item in page)
            page_number += 1
            if not page or page_number >= total_pages:
                break
        return items

    def _tools(self, items: list[dict[str, Any]]) -> list[ToolVersion]:
        return [self._tool(item, "GET", "/v0/evi/tools") for item in items]

    @staticmethod
    def _tool(item: Any, method: str, path: str) -> ToolVersion:
        try:
            return ToolVersion.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise HumeApiError(200, method, path, f"the answer is not a tool ({problems})") from None

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text


def error_message(response: httpx.Response) -> str:
    """Hume's explanation in one line: `loc: msg` items of an `HTTPValidationError`, a `detail` string,
    the API gateway's `fault.faultstring`, or else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message: str | None = None
    if isinstance(body, dict):
        detail = body.get("detail")
        fault = body.get("fault")
        if isinstance(detail, list) and detail:
            message = "; ".join(_validation_item(item) for item in detail)
        elif isinstance(detail, str) and detail:
            message = detail
        elif isinstance(fault, dict) and fault.get("faultstring"):
            message = str(fault["faultstring"])
        else:
            for key in ("message", "error", "title"):
                if isinstance(body.get(key), str) and body[key]:
                    message = body[key]
                    break
    if message is None:
        message = response.text or response.reason_phrase or "no explanation given"
    return _one_line(message)


def _validation_item(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    loc = item.get("loc")
    where = ".".join(str(part) for part in loc) if isinstance(loc, list) else ""
    msg = str(item.get("msg", item))
    return f"{where}: {msg}" if where else msg


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"


def _exception_text(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _object(value: Any, method: str, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise HumeApiError(200, method, path, f"expected a JSON object, got {type(value).__name__}")
    return value


def segment(value: str) -> str:
    """An id as one path segment."""
    return quote(value, safe="")


def _flag(value: bool) -> str:
    return "true" if value else "false"
