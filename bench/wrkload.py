"""Run wrk with a generated Lua script (W1, W2 and the ceiling) and read its JSON line."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import shutil
import subprocess
from typing import Any

LUA = pathlib.Path(__file__).resolve().parent / "lua"
INSTALL_HINT = "wrk is missing: apt-get update && apt-get install -y wrk"


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Lua string literal for ASCII


def script(workload: str, fixtures: dict[str, Any], tokens: list[str] | None = None) -> str:
    """The workload part of the script, followed by the shared part."""
    if workload == "W1":
        basic = "Basic " + base64.b64encode(
            f"{fixtures['client_id']}:{fixtures['client_secret']}".encode()).decode()
        head = f"""
expected = 200
wrk.method = "POST"
wrk.path = "/oauth/token"
wrk.body = "grant_type=client_credentials&scope={fixtures['scope']}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = {_lua_string(basic)}
"""
    elif workload == "W2":
        assert tokens, "W2 needs a pool of access tokens"
        pool = ",\n  ".join(_lua_string("Bearer " + t) for t in tokens)
        head = f"""
expected = 200
local pool = {{
  {pool}
}}
-- Built once per thread (wrk runs the script in each) instead of a wrk.format() per
-- request, which cost wrk CPU on the cores the server is measured on. prepare() is
-- called by common.lua's init(), once wrk has set the Host header. Written out rather
-- than through wrk.format(), whose header order follows Lua's table iteration.
local requests = {{}}
function prepare()
  local host = wrk.headers["Host"]
  for i, value in ipairs(pool) do
    requests[i] = "GET /api/me HTTP/1.1\\r\\nHost: " .. host .. "\\r\\nAuthorization: " .. value
      .. "\\r\\n\\r\\n"
  end
end
local n = 0
function request()
  n = n + 1
  return requests[(n % #requests) + 1]
end
"""
    elif workload == "C-GET":
        head = 'expected = 200\nwrk.method = "GET"\nwrk.path = "/ping"\n'
    elif workload == "C-POST":
        head = """
expected = 200
wrk.method = "POST"
wrk.path = "/echo"
wrk.body = "grant_type=client_credentials&scope=profile"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""
    else:
        raise ValueError(f"{workload} is not a wrk workload")
    return head + (LUA / "common.lua").read_text()


class WrkRun:
    """One wrk process; ``wait()`` gives its JSON and its own CPU time (from wait4)."""

    def __init__(self, port: int, script_path: pathlib.Path, seconds: float, *,
                 threads: int, connections: int, out: pathlib.Path) -> None:
        self.out = out
        self._stdout = out.open("w")
        cmd = [wrk_path() or "wrk", "-t", str(threads), "-c", str(connections),
               "-d", f"{max(1, round(seconds))}s", "--timeout", "10s",
               "-s", str(script_path), f"http://127.0.0.1:{port}"]
        self.process = subprocess.Popen(cmd, stdout=self._stdout, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait(self) -> tuple[dict[str, Any], float]:
        _, status, usage = os.wait4(self.process.pid, 0)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        self._stdout.close()
        text = self.out.read_text()
        for line in text.splitlines():
            if line.startswith("BENCHJSON "):
                return json.loads(line[len("BENCHJSON "):]), usage.ru_utime + usage.ru_stime
        raise RuntimeError(f"wrk gave no result (exit {self.process.returncode}):\n{text[-2000:]}")
