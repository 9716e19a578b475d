"""The production shape on one machine: PostgreSQL, a real Temporal server on it (with fairness),
its Web UI, the QBO sandbox, two workers and two APIs, all child processes of one command.

`make up-cluster` runs it until Ctrl-C; `make test-cluster` and `make bench-cluster` start it for
their runs. Data (Postgres cluster: Temporal's two databases and the service store) stays in the data
directory, so a restart keeps every workflow and every link.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg
import yaml
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    GetSystemInfoRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from config import REPO_ROOT, Settings
from devstack.postgres import INSTALL_HINT, PostgresServer, install_postgres
from devstack.stack import Proc, Stack, port_is_free, register_search_attributes
from devstack.temporal_server import TemporalServerBuild, resolve_temporal_server
from devstack.versions import DYNAMIC_CONFIG_FILE, TEMPORAL_SERVER_VERSION
from temporal_platform.converter import data_converter_for

# The one dynamic config file of the production shape: docker-compose mounts it too.
DYNAMIC_CONFIG = REPO_ROOT / DYNAMIC_CONFIG_FILE
TEMPORAL_DATABASES = ("temporal", "temporal_visibility")
STORE_DATABASE = "skimmer"
HISTORY_SHARDS = 4  # fixed for the life of a cluster's database
NAMESPACE_RETENTION_SECONDS = 3 * 24 * 3600


class PostgresMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class ClusterPorts:
    """Every port the cluster listens on (127.0.0.1 only). `api` and `api + 1` for the two APIs."""

    temporal: int = 7233
    temporal_ui: int = 8233
    sandbox: int = 8765
    api: int = 8000
    postgres: int = 5433
    temporal_http: int = 7243
    history: int = 7234
    matching: int = 7235
    temporal_worker: int = 7239
    frontend_membership: int = 6933
    history_membership: int = 6934
    matching_membership: int = 6935
    worker_membership: int = 6939
    metrics: int = 9091
    codec: int = 8234

    @classmethod
    def free(cls) -> ClusterPorts:
        """Free ports below 32768: Temporal stores its services' ports as SQL smallints."""
        rng = random.SystemRandom()
        chosen: set[int] = set()
        values: dict[str, int] = {}
        for name in cls.__dataclass_fields__:
            port = rng.randrange(20000, 32000)
            while port in chosen or port + 1 in chosen or not port_is_free(port):
                port = rng.randrange(20000, 32000)
            chosen.add(port)
            if name == "api":  # and the second API's
                chosen.add(port + 1)
            values[name] = port
        return cls(**values)

    @property
    def apis(self) -> tuple[int, int]:
        return (self.api, self.api + 1)

    def check_free(self) -> None:
        wanted = {**self.__dict__, "second api": self.api + 1}
        busy = [f"{name} {port}" for name, port in wanted.items() if not port_is_free(port)]
        if busy:
            raise RuntimeError(
                f"ports in use: {', '.join(busy)} (is another stack running? stop it, or set "
                "TEMPORAL_PORT / TEMPORAL_UI_PORT / QBO_SANDBOX_PORT / API_PORT / POSTGRES_PORT)"
            )


def server_config(ports: ClusterPorts, dynamic_config: Path) -> dict[str, Any]:
    """The Temporal server's static config: both stores on our Postgres, all four services."""

    def store(database: str, max_conns: int) -> dict[str, Any]:
        return {
            "sql": {
                "pluginName": "postgres12",
                "databaseName": database,
                "connectAddr": f"127.0.0.1:{ports.postgres}",
                "connectProtocol": "tcp",
                "user": "postgres",
                "password": "",
                "maxConns": max_conns,
                "maxIdleConns": max_conns,
                "maxConnLifetime": "1h",
            }
        }

    def service(grpc: int, membership: int, **extra: int) -> dict[str, Any]:
        rpc = {"grpcPort": grpc, "membershipPort": membership, "bindOnLocalHost": True}
        return {"rpc": {**rpc, **extra}}

    return {
        "log": {"stdout": True, "level": "warn"},
        "persistence": {
            "defaultStore": "postgres-default",
            "visibilityStore": "postgres-visibility",
            "numHistoryShards": HISTORY_SHARDS,
            "datastores": {
                "postgres-default": store("temporal", 20),
                "postgres-visibility": store("temporal_visibility", 10),
            },
        },
        "global": {
            "membership": {"maxJoinDuration": "30s", "broadcastAddress": "127.0.0.1"},
            "metrics": {
                "prometheus": {
                    "framework": "tally",
                    "timerType": "histogram",
                    "listenAddress": f"127.0.0.1:{ports.metrics}",
                }
            },
        },
        "services": {
            "frontend": service(
                ports.temporal, ports.frontend_membership, httpPort=ports.temporal_http
            ),
            "history": service(ports.history, ports.history_membership),
            "matching": service(ports.matching, ports.matching_membership),
            "worker": service(ports.temporal_worker, ports.worker_membership),
        },
        "clusterMetadata": {
            "enableGlobalNamespace": False,
            "failoverVersionIncrement": 10,
            "masterClusterName": "active",
            "currentClusterName": "active",
            "clusterInformation": {
                "active": {
                    "enabled": True,
                    "initialFailoverVersion": 1,
                    "rpcName": "frontend",
                    "rpcAddress": f"127.0.0.1:{ports.temporal}",
                    "httpAddress": f"127.0.0.1:{ports.temporal_http}",
                }
            },
        },
        "dcRedirectionPolicy": {"policy": "noop"},
        "dynamicConfigClient": {"filepath": str(dynamic_config), "pollInterval": "10s"},
    }


def ui_config(ports: ClusterPorts) -> dict[str, Any]:
    return {
        "temporalGrpcAddress": f"127.0.0.1:{ports.temporal}",
        "host": "127.0.0.1",
        "port": ports.temporal_ui,
        "enableUi": True,
        "defaultNamespace": "default",
        "disableNewsFetch": True,  # no internet here, and none needed
        "notifyOnNewVersion": False,
        "cors": {"allowOrigins": [f"http://127.0.0.1:{ports.temporal_ui}"]},
        # Payloads are encrypted: the browser asks the codec server to show them.
        "codec": {"endpoint": f"http://127.0.0.1:{ports.codec}"},
    }


@dataclass
class ClusterStack(Stack):
    """`Stack`'s processes, but a real Temporal server on Postgres and two of each service."""

    cluster_ports: ClusterPorts = field(default_factory=ClusterPorts)
    workers: int = 2
    apis: int = 2
    # Extra dynamic config values on top of DYNAMIC_CONFIG (tests shorten continue-as-new).
    dynamic_config_extra: dict[str, Any] = field(default_factory=dict)
    build: TemporalServerBuild | None = None
    postgres: PostgresServer | None = None
    worker_procs: list[Proc] = field(default_factory=list)
    api_procs: list[Proc] = field(default_factory=list)
    _next_kill: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        p = self.cluster_ports
        self.ports = replace(
            self.ports,
            temporal=p.temporal,
            temporal_ui=p.temporal_ui,
            sandbox=p.sandbox,
            api=p.api,
            codec=p.codec,
        )
        self.temporal_address = f"127.0.0.1:{p.temporal}"

    @property
    def address(self) -> str:
        """The Temporal server's frontend."""
        return f"127.0.0.1:{self.cluster_ports.temporal}"

    @property
    def api_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.cluster_ports.apis[: self.apis]]

    @property
    def database_url(self) -> str:
        return (
            f"postgresql+psycopg://postgres@127.0.0.1:{self.cluster_ports.postgres}/"
            f"{STORE_DATABASE}"
        )

    @property
    def settings(self) -> Settings:
        base = super().settings
        return base.model_copy(update={"database_url": self.database_url})

    # --- start -----------------------------------------------------------------------------

    async def start(self, cli: Any = None) -> None:
        await self.start_platform()
        await self.start_services()

    async def start_platform(self) -> Client:
        """PostgreSQL, Temporal's schemas, the Temporal server, the namespace and the search
        attributes; returns a client of the server (tests run their own workers on it)."""
        self.lock()
        self.build = await asyncio.to_thread(resolve_temporal_server, progress=self.say)
        await asyncio.to_thread(self._start_postgres)
        await asyncio.to_thread(self._create_schemas)
        self.temporal = self._spawn_temporal()
        await self._wait(self.temporal, self._server_up, timeout=120)
        client = await Client.connect(
            self.address, data_converter=data_converter_for(self.settings)
        )
        await self._ensure_namespace(client)
        added = await register_search_attributes(client)
        if added:
            self.say(f"Registered search attributes: {', '.join(added)}")
        self.say(
            f"Temporal server v{TEMPORAL_SERVER_VERSION} on {self.address} "
            f"(Postgres 127.0.0.1:{self.cluster_ports.postgres}, fairness from {DYNAMIC_CONFIG.name})"
        )
        return client

    async def start_services(self) -> None:
        """The Web UI, the QBO sandbox, the APIs and the workers."""
        ui = self._spawn_ui()
        sandbox = self.spawn(
            "qbo-sandbox",
            [
                sys.executable, "-m", "qbo_sandbox", "--host", "127.0.0.1",
                "--port", str(self.ports.sandbox), *self.sandbox_args,
            ],
        )  # fmt: skip
        await self._wait(sandbox, self._http_ok(f"{self.sandbox_url}/__sandbox/health"), timeout=30)
        await self.start_codec_server()
        await self._wait(ui, self._http_ok(self.temporal_ui_url), timeout=60)
        self.say(f"Temporal Web UI {self.temporal_ui_url}; QBO sandbox on {self.sandbox_url}")
        # One API first: it creates the store's tables, so two processes never race to do it.
        for index, port in enumerate(self.cluster_ports.apis[: self.apis]):
            api = self.spawn(
                f"api-{index + 1}",
                [sys.executable, "-m", "starter.api"],
                extra_env={"API_PORT": str(port)},
            )
            self.api_procs.append(api)
            await self._wait(api, self._http_ok(f"http://127.0.0.1:{port}/healthz"), timeout=60)
        for _ in range(self.workers):
            self.start_worker()
        await asyncio.sleep(0.5)
        for worker in self.worker_procs:
            if worker.process.poll() is not None:
                raise RuntimeError(f"{worker.name} exited early:\n{worker.tail()}")
        self.say(
            f"{len(self.worker_procs)} workers on task queue {self.settings.task_queue!r}; "
            f"APIs on {', '.join(self.api_urls)}"
        )
        self.say_admin_key()
        self.say(f"Logs in {self.data_dir / 'logs'}")

    def _start_postgres(self) -> None:
        bin_dir = install_postgres(progress=self.say)
        if bin_dir is None:
            raise PostgresMissing(INSTALL_HINT)
        self.postgres = PostgresServer(
            bin_dir, self.data_dir / "postgres", self.cluster_ports.postgres
        )
        self.postgres.start()
        for name in (*TEMPORAL_DATABASES, STORE_DATABASE):
            self.postgres.ensure_database(name)
        if self.data_lock is not None and self.postgres.process is not None:
            self.data_lock.note_child("postgres", self.postgres.process.pid)
        self.say(
            f"PostgreSQL on 127.0.0.1:{self.cluster_ports.postgres} ({self.postgres.data_dir})"
        )

    def _create_schemas(self) -> None:
        """Temporal's schemas by its own tool: versioning tables once, then every update (a no-op
        when the database is current, so a newer server release upgrades the schema here)."""
        assert self.build is not None and self.postgres is not None
        for database, schema in (
            ("temporal", "postgresql/v12/temporal"),
            ("temporal_visibility", "postgresql/v12/visibility"),
        ):
            common = [
                str(self.build.sql_tool), "--plugin", "postgres12", "--ep", "127.0.0.1",
                "-p", str(self.cluster_ports.postgres), "-u", "postgres", "--db", database,
            ]  # fmt: skip
            if not self._has_schema_version(database):
                self._run_tool([*common, "setup-schema", "-v", "0.0"])
            self._run_tool([*common, "update-schema", "--schema-name", schema])

    def _has_schema_version(self, database: str) -> bool:
        assert self.postgres is not None
        url = self.postgres.url.rsplit("/", 1)[0] + f"/{database}"
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            found = conn.execute("SELECT to_regclass('public.schema_version')").fetchone()
        return found is not None and found[0] is not None

    def _run_tool(self, args: list[str]) -> None:
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / "temporal-sql-tool.log").open("ab") as log:
            done = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            tail = (logs / "temporal-sql-tool.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"temporal-sql-tool failed ({' '.join(args[-4:])}):\n{tail}")

    def _dynamic_config_file(self) -> Path:
        if not self.dynamic_config_extra:
            return DYNAMIC_CONFIG
        merged = yaml.safe_load(DYNAMIC_CONFIG.read_text()) or {}
        for key, value in self.dynamic_config_extra.items():
            merged[key] = [{"value": value, "constraints": {}}]
        path = self.data_dir / "temporal" / "dynamicconfig.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(merged, sort_keys=True))
        return path

    def _spawn_temporal(self) -> Proc:
        assert self.build is not None
        config_file = self.data_dir / "temporal" / "config.yaml"
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config = server_config(self.cluster_ports, self._dynamic_config_file())
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        return self.spawn(
            "temporal-server",
            [str(self.build.server), "--config-file", str(config_file), "--allow-no-auth", "start"],
        )

    def _spawn_ui(self) -> Proc:
        assert self.build is not None
        root = self.data_dir / "temporal-ui"
        (root / "config").mkdir(parents=True, exist_ok=True)
        (root / "config" / "cluster.yaml").write_text(yaml.safe_dump(ui_config(self.cluster_ports)))
        return self.spawn(
            "temporal-ui",
            [str(self.build.ui_server), "--root", str(root), "--config", "config", "--env", "cluster",
             "start"],
        )  # fmt: skip

    async def _ensure_namespace(self, client: Client) -> None:
        """Register `default` once; a real server has no namespace until one is registered."""
        from google.protobuf.duration_pb2 import Duration

        namespace = self.settings.temporal_namespace
        try:
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace)
            )
            return
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace=namespace,
                workflow_execution_retention_period=Duration(seconds=NAMESPACE_RETENTION_SECONDS),
            )
        )
        # The frontend's namespace cache learns of it within seconds; wait until it serves it.
        for _ in range(150):
            if await self._temporal_ready():
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"namespace {namespace!r} registered but not served after 30 s")

    async def _server_up(self) -> bool:
        """The frontend answers (a fresh server has no namespace to ask about yet)."""
        try:
            client = await Client.connect(
                self.address, data_converter=data_converter_for(self.settings)
            )
            await client.workflow_service.get_system_info(GetSystemInfoRequest())
            return True
        except Exception:
            return False

    async def _temporal_ready(self) -> bool:
        """The server serves the namespace: workflows can be listed in it."""
        try:
            client = await Client.connect(
                self.address, data_converter=data_converter_for(self.settings)
            )
            await client.count_workflows()
            return True
        except Exception:
            return False

    # --- processes ---------------------------------------------------------------------------

    def start_worker(self) -> Proc:
        index = len([p for p in self.procs if p.name.startswith("worker")]) + 1
        worker = self.spawn(f"worker-{index}", [sys.executable, "worker.py"])
        self.worker_procs.append(worker)
        self.worker = worker
        return worker

    def kill_worker(self) -> Proc:
        """SIGKILL one worker (each in turn) and start a fresh one in its place at once."""
        alive = [w for w in self.worker_procs if w.process.poll() is None]
        if alive:
            victim = alive[self._next_kill % len(alive)]
            self._next_kill += 1
            victim.process.send_signal(signal.SIGKILL)
            victim.process.wait(timeout=10)
            self.worker_procs.remove(victim)
            self.procs.remove(victim)
        return self.start_worker()

    async def restart_temporal(self, down_for: float = 0.0) -> None:
        """Stop the Temporal server (SIGTERM, as a deploy does) and start it again on the same
        Postgres databases `down_for` seconds later."""
        if self.temporal is not None:
            self.stop_proc(self.temporal, grace=30)
        await asyncio.sleep(down_for)
        self.temporal = self._spawn_temporal()
        await self._wait(self.temporal, self._temporal_ready, timeout=120)

    async def stop(self) -> None:
        self._stop_processes()
        self.worker_procs.clear()
        self.api_procs.clear()
        if self.postgres is not None:
            await asyncio.to_thread(self.postgres.stop)
        if self.data_lock is not None:
            self.data_lock.release()


def cluster_ports_from_env() -> ClusterPorts:
    d = ClusterPorts()
    return replace(
        d,
        temporal=int(os.environ.get("TEMPORAL_PORT", d.temporal)),
        temporal_ui=int(os.environ.get("TEMPORAL_UI_PORT", d.temporal_ui)),
        sandbox=int(os.environ.get("QBO_SANDBOX_PORT", d.sandbox)),
        api=int(os.environ.get("API_PORT", d.api)),
        postgres=int(os.environ.get("POSTGRES_PORT", d.postgres)),
        codec=int(os.environ.get("CODEC_SERVER_PORT", d.codec)),
    )
