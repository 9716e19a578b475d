"""docker-compose.yml, the Dockerfile and deploy/ checked against each other, the repo and the
versions and dynamic config of the local cluster (devstack/versions.py).

Each test guards a mistake that `docker compose up` would only reveal minutes in (or never): a
dependency on a service that is not there, a mounted file that does not exist, a module the image
does not contain, a search attribute the setup job forgot, two services on one host port, a compose
stack that drifted from the versions and settings the local cluster runs.
"""

from __future__ import annotations

import ast
import ipaddress
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from config import Settings
from devstack.versions import (
    DYNAMIC_CONFIG_FILE,
    POSTGRES_MAJOR,
    TEMPORAL_SERVER_VERSION,
    TEMPORAL_UI_VERSION,
)
from workflows.search import ALL_KEYS, registration

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"

# Two api and two worker processes, as the local cluster runs them; api-1 starts first.
APIS = ("api-1", "api-2")
WORKERS = ("worker-1", "worker-2")
API_COMMAND = ["python", "-m", "starter.api"]
WORKER_COMMAND = ["python", "worker.py"]
FIRST_API_HOST_PORT = 8000  # the local cluster's first api too

STACK_SERVICES = {
    "postgres",
    "temporal-schema",
    "temporal",
    "temporal-namespace",
    "temporal-ui",
    "qbo-sandbox",
    *APIS,
    *WORKERS,
}
PYTHON_SERVICES = (*APIS, *WORKERS, "qbo-sandbox")
MUST_HAVE_HEALTHCHECK = ("postgres", "temporal", "qbo-sandbox")
DEPENDENCY_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
TEMPORAL_DATABASES = ("temporal", "temporal_visibility")

# From 1.30 on, temporalio/server is Alpine with temporal-server alone (the temporal repo's
# docker/targets/server.Dockerfile): busybox applets, no Temporal CLI to run a health check with.
SERVER_IMAGE_PROGRAMS = {"nc", "wget", "sh", "temporal-server"}

# The service's configuration as api and worker must see it; None = any non-empty value.
SERVICE_ENV: dict[str, str | None] = {
    "TEMPORAL_ADDRESS": "temporal:7233",
    "TEMPORAL_NAMESPACE": "default",
    "TEMPORAL_TASK_QUEUE": "qbo-sync",
    "TEMPORAL_UI_URL": "http://localhost:8233",
    "DATABASE_URL": "postgresql+psycopg://skimmer:skimmer@postgres:5432/skimmer",
    "QBO_BASE_URL": "http://qbo-sandbox:8765",
    "QBO_TOKEN_URL": "http://qbo-sandbox:8765/oauth2/v1/tokens/bearer",
    "QBO_REVOKE_URL": "http://qbo-sandbox:8765/v2/oauth2/tokens/revoke",
    "QBO_AUTHORIZE_URL": "http://localhost:8765/connect/oauth2",
    "QBO_REDIRECT_URI": "http://localhost:8000/quickbooks/callback",
    "CONNECTED_REDIRECT_URL": "/companies/{company_id}/quickbooks/settings",
    "QBO_CLIENT_ID": None,
    "QBO_CLIENT_SECRET": None,
    "TOKEN_ENCRYPTION_KEY": None,
    "PAYLOAD_ENCRYPTION_KEYS": None,
}
# Where a worker listens for metrics scrapes (0.0.0.0: every interface); the API serves them on
# its own port. A place to listen, not to reach.
WORKER_ONLY = {"METRICS_ADDRESS"}
OPTIONAL_SERVICE_ENV = ("EVENTS_SIGNING_SECRET", "ADMIN_API_KEY")

# Settings that the operator's browser opens, not the container: a port published on the host,
# with the service behind it (None: a path on the api the browser is already on).
BROWSER_URLS: dict[str, str | None] = {
    "TEMPORAL_UI_URL": "temporal-ui",
    "QBO_AUTHORIZE_URL": "qbo-sandbox",
    "QBO_REDIRECT_URI": APIS[0],
    "CONNECTED_REDIRECT_URL": None,
}

# What the image must contain: every room of the codebase (ARCHITECTURE.md) and the entry files.
IMAGE_CODE = (
    "billing/",
    "workflows/",
    "activities/",
    "qbo/",
    "qbo_sandbox/",
    "store/",
    "starter/",
    "devstack/",
    "temporal_platform/",
    "worker.py",
    "config.py",
)

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


# --- reading the files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(compose, dict) and isinstance(compose.get("services"), dict)
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


@pytest.fixture(scope="module")
def declared_volumes() -> set[str]:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    return set(compose.get("volumes") or {})


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def default_value(value: str) -> str:
    """A compose value as it resolves with nothing set on the host (`:?` required -> marker)."""

    def resolve(match: re.Match[str]) -> str:
        op, arg = match["op"], match["arg"] or ""
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            return f"<required:{match['name']}>"
        return ""

    return INTERPOLATION.sub(resolve, value)


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return {name: value for name, value in pairs}
    return {name: None if value is None else str(value) for name, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Dependency name -> condition (the short list form means service_started)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume entry, short or long syntax."""
    result = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            result.append((str(entry.get("source", "")), str(entry["target"])))
        elif ":" in entry:
            source, target = entry.split(":")[:2]
            result.append((source, target))
        else:
            result.append(("", entry))  # anonymous volume
    return result


def is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def repo_binds(service: dict[str, Any]) -> list[tuple[Path, str]]:
    return [(REPO_ROOT / source, target) for source, target in mounts(service) if is_bind(source)]


def argv(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def job_text(service: dict[str, Any]) -> str:
    """Everything a one-shot job runs: its command, entrypoint and the scripts mounted into it."""
    parts = [*argv(service.get("entrypoint")), *argv(service.get("command"))]
    parts += [host.read_text() for host, _ in repo_binds(service) if host.is_file()]
    return re.sub(r"\s*\\\n\s*", " ", "\n".join(parts))  # join shell line continuations


def published_ports(service: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(host ip, host port, protocol) of each published port, short or long syntax."""
    result = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                result.append(
                    (
                        str(entry.get("host_ip", "")),
                        int(entry["published"]),
                        str(entry.get("protocol", "tcp")),
                    )
                )
            continue
        spec, _, protocol = str(entry).partition("/")
        pieces = spec.rsplit(":", 2)
        if len(pieces) == 1:
            continue  # container port only: docker picks a free host port
        host_ip = pieces[0] if len(pieces) == 3 else ""
        result.append((host_ip, int(pieces[-2]), protocol or "tcp"))
    return result


def container_ports(service: dict[str, Any]) -> list[int]:
    """The container side of each published port, short or long syntax."""
    result = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            result.append(int(entry["target"]))
        else:
            result.append(int(str(entry).partition("/")[0].rsplit(":", 1)[-1]))
    return result


def url_settings() -> list[str]:
    """The variables of every setting that names a place to reach: URLs, URIs, addresses."""
    suffixes = ("_url", "_uri", "_address")
    return [Settings.env_var(name) for name in Settings.model_fields if name.endswith(suffixes)]


def host_and_port(value: str) -> tuple[str, int | None]:
    """The host and port of a URL or of a bare host:port address."""
    parts = urlsplit(value if "://" in value else f"//{value}")
    return parts.hostname or "", parts.port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def header_comment() -> str:
    """The comment block that opens docker-compose.yml, joined into one line."""
    lines = []
    for line in COMPOSE_FILE.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines)


def copy_sources(dockerfile: list[str]) -> set[str]:
    """Paths the Dockerfile copies from the build context (not from other stages)."""
    return {
        source
        for line in dockerfile
        if line.upper().startswith("COPY ") and "--from" not in line
        for source in line.split()[1:-1]
        if not source.startswith("--")
    }


def module_file(module: str, *, main: bool = False) -> Path | None:
    """The repo file that `import module` (or `python -m module` with main=True) runs."""
    path = REPO_ROOT.joinpath(*module.split("."))
    candidates = [path / "__main__.py"] if main else [path / "__init__.py"]
    candidates.append(path.with_suffix(".py"))
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def first_party_imports(entry: Path) -> set[str]:
    """Top-level repo modules and packages that running `entry` imports, directly or not."""
    seen: set[Path] = set()
    top_levels: set[str] = set()
    pending = [entry]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        package = ".".join(path.relative_to(REPO_ROOT).parent.parts)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(part for part in (*parent, base) if part)
                names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                parts = name.split(".")
                # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
                files = [module_file(".".join(parts[:i])) for i in range(1, len(parts) + 1)]
                found = [file for file in files if file is not None]
                if found:
                    top_levels.add(parts[0])
                    pending.extend(found)
    return top_levels


def service_by_image(services: dict[str, dict[str, Any]], repository: str) -> list[str]:
    return [
        name
        for name, service in services.items()
        if str(service.get("image", "")).split(":")[0] == repository
    ]


def image_tag(service: dict[str, Any]) -> str:
    return str(service["image"]).rpartition(":")[2]


# --- the stack's shape ----------------------------------------------------------------------------


def test_every_part_of_the_stack_is_defined(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) >= STACK_SERVICES, f"missing: {sorted(STACK_SERVICES - set(services))}"


def test_dependencies_name_defined_services_with_valid_conditions(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for dependency, condition in depends_on(service).items():
            assert dependency in services, f"{name} depends on undefined service {dependency!r}"
            assert condition in DEPENDENCY_CONDITIONS, f"{name} -> {dependency}: {condition!r}"


def test_waiting_for_healthy_needs_a_healthcheck_and_waiting_for_completion_a_one_shot_job(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for dependency, condition in depends_on(service).items():
            target = services[dependency]
            if condition == "service_healthy":
                assert target.get("healthcheck"), f"{name} waits for {dependency}'s healthcheck"
                assert not target["healthcheck"].get("disable"), dependency
            if condition == "service_completed_successfully":
                restart = str(target.get("restart", "no"))
                assert restart in ("no", "on-failure") or restart.startswith("on-failure:"), (
                    f"{name} waits for {dependency} to complete, but it restarts ({restart})"
                )


def test_start_order_has_no_cycles(services: dict[str, dict[str, Any]]) -> None:
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        if name not in done:
            for dependency in depends_on(services[name]):
                visit(dependency, (*path, name))
            done.add(name)

    for name in services:
        visit(name, ())


def test_the_stack_starts_in_order(services: dict[str, dict[str, Any]]) -> None:
    expected = {
        ("temporal-schema", "postgres"): "service_healthy",
        ("temporal", "temporal-schema"): "service_completed_successfully",
        ("temporal-namespace", "temporal"): "service_healthy",
        ("temporal-ui", "temporal"): "service_healthy",
        ("temporal-ui", "temporal-namespace"): "service_completed_successfully",
    }
    for name in (*APIS, *WORKERS):
        expected[name, "postgres"] = "service_healthy"
        expected[name, "temporal-namespace"] = "service_completed_successfully"
        expected[name, "qbo-sandbox"] = "service_healthy"
    # The first api creates the store's tables; the other processes open the store after it.
    for name in (*APIS[1:], *WORKERS):
        expected[name, APIS[0]] = "service_healthy"
    for (name, dependency), condition in expected.items():
        assert depends_on(services[name]).get(dependency) == condition, f"{name} -> {dependency}"


def test_healthchecks_guard_the_services_others_wait_on(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in MUST_HAVE_HEALTHCHECK:
        test = (services[name].get("healthcheck") or {}).get("test")
        assert test and test != ["NONE"], f"{name} needs a healthcheck"
    sandbox_check = " ".join(argv(services["qbo-sandbox"]["healthcheck"]["test"]))
    assert "/__sandbox/health" in sandbox_check


def test_server_healthcheck_runs_a_program_the_server_image_has(
    services: dict[str, dict[str, Any]],
) -> None:
    (server,) = service_by_image(services, "temporalio/server")
    kind, *command = argv(services[server]["healthcheck"]["test"])
    assert kind in ("CMD", "CMD-SHELL") and command, kind
    program = shlex.split(command[0])[0] if kind == "CMD-SHELL" else command[0]
    assert program in SERVER_IMAGE_PROGRAMS, (
        f"the {server} healthcheck runs {program!r}, which temporalio/server does not contain "
        "(the CLI is in admin-tools: the namespace job waits for the cluster's health)"
    )


# --- images and the Dockerfile --------------------------------------------------------------------


def test_every_image_is_pinned_or_built_from_a_dockerfile_in_the_repo(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        build = service.get("build")
        if build is not None:
            context = REPO_ROOT / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
            assert (context / (dockerfile or "Dockerfile")).is_file(), f"{name}: no Dockerfile"
            continue
        image = str(service.get("image", ""))
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest" and "$" not in tag, f"{name}: image {image!r} is not pinned"


def test_images_are_the_versions_the_local_cluster_runs(
    services: dict[str, dict[str, Any]],
) -> None:
    (server,) = service_by_image(services, "temporalio/server")
    assert image_tag(services[server]) == TEMPORAL_SERVER_VERSION
    admin_tools = service_by_image(services, "temporalio/admin-tools")
    assert set(admin_tools) >= {"temporal-schema", "temporal-namespace"}, admin_tools
    for name in admin_tools:
        # From 1.30 the tag is the server's version (1.32.0; 1.29 had 1.29.7-tctl-1.18.4-cli-1.7.2):
        # its temporal-sql-tool installs the schema of its own release, so it must be the server's.
        assert image_tag(services[name]).split("-")[0] == TEMPORAL_SERVER_VERSION, name
    (ui,) = service_by_image(services, "temporalio/ui")
    assert image_tag(services[ui]) == TEMPORAL_UI_VERSION
    (postgres,) = service_by_image(services, "postgres")
    major = re.match(r"\d+", image_tag(services[postgres]))
    assert major and int(major[0]) == POSTGRES_MAJOR, image_tag(services[postgres])


def test_header_comment_names_the_versions_the_stack_runs() -> None:
    header = header_comment()
    for version in (
        f"Temporal server {TEMPORAL_SERVER_VERSION}",
        f"Web UI {TEMPORAL_UI_VERSION}",
        f"PostgreSQL {POSTGRES_MAJOR}",
    ):
        assert version in header, f"docker-compose.yml's header should say {version!r}"


def test_python_services_run_the_repo_image(services: dict[str, dict[str, Any]]) -> None:
    for name in PYTHON_SERVICES:
        assert services[name].get("build") is not None, f"{name} must be built from this repo"
    assert len({str(services[name].get("image")) for name in PYTHON_SERVICES}) == 1


@pytest.mark.parametrize("name", PYTHON_SERVICES)
def test_python_command_runs_repo_code_that_the_image_contains(
    services: dict[str, dict[str, Any]], dockerfile: list[str], name: str
) -> None:
    command = argv(services[name].get("command"))
    assert command[:1] == ["python"] and len(command) > 1, f"{name}: {command}"
    if command[1] == "-m":
        entry = module_file(command[2], main=True)
        assert entry, (
            f"{name}: no module {command[2]} in the repo ({command[2]}/__main__.py or .py)"
        )
    else:
        entry = REPO_ROOT / command[1]
        assert entry.is_file(), f"{name}: no file {command[1]} in the repo"
    copied = copy_sources(dockerfile)
    for top_level in sorted(first_party_imports(entry)):
        assert f"{top_level}/" in copied or f"{top_level}.py" in copied, (
            f"{name} imports {top_level}, which the Dockerfile does not copy into the image"
        )


def test_dockerfile_installs_the_locked_dependencies(dockerfile: list[str]) -> None:
    froms = [line.split()[1] for line in dockerfile if line.upper().startswith("FROM ")]
    assert froms and all(image.startswith("python:3.11-slim") for image in froms), froms
    uv_install = [line for line in dockerfile if "pip install" in line and " uv" in line]
    assert uv_install and re.search(r"\buv==\d+\.\d+\.\d+", uv_install[0]), "pin uv's version"
    (sync,) = [line for line in dockerfile if "uv sync" in line]
    for flag in ("--frozen", "--no-dev", "--extra postgres"):
        assert flag in sync, f"uv sync needs {flag}"
    assert any("COPY pyproject.toml uv.lock" in line for line in dockerfile)


def test_dockerfile_copies_every_code_folder(dockerfile: list[str]) -> None:
    copied = copy_sources(dockerfile)
    for path in IMAGE_CODE:
        assert path in copied, f"Dockerfile does not copy {path}"


def test_everything_the_dockerfile_copies_is_in_the_build_context(dockerfile: list[str]) -> None:
    ignored = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines()}
    for source in copy_sources(dockerfile):
        assert (REPO_ROOT / source).exists(), f"COPY {source}: not in the repo, the build fails"
        assert source.rstrip("/") not in ignored, f"COPY {source}: excluded by .dockerignore"


def test_image_runs_as_non_root_with_the_venv_on_path(dockerfile: list[str]) -> None:
    users = [line.split()[1] for line in dockerfile if line.upper().startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), users
    assert "WORKDIR /app" in dockerfile
    assert any(
        line.startswith("ENV ") and "PATH=/app/.venv/bin:$PATH" in line for line in dockerfile
    )


def test_build_context_leaves_out_local_state_and_secrets() -> None:
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    for entry in (".venv", ".data", ".git", ".env", "tests", "**/__pycache__"):
        assert entry in ignored, f".dockerignore should list {entry}"


# --- volumes, mounts and ports --------------------------------------------------------------------


def test_bind_mounted_files_exist_and_named_volumes_are_declared(
    services: dict[str, dict[str, Any]], declared_volumes: set[str]
) -> None:
    for name, service in services.items():
        for source, target in mounts(service):
            if is_bind(source):
                assert (REPO_ROOT / source).exists(), f"{name} mounts missing {source}"
            elif source:
                assert source in declared_volumes, f"{name} uses undeclared volume {source!r}"
            assert target.startswith("/"), f"{name}: mount target {target!r} is not absolute"


def test_published_host_ports_do_not_collide(services: dict[str, dict[str, Any]]) -> None:
    seen: dict[tuple[int, str], str] = {}
    for name, service in services.items():
        for _host_ip, port, protocol in published_ports(service):
            assert (port, protocol) not in seen, f"{name} and {seen[port, protocol]} publish {port}"
            seen[port, protocol] = name


# --- PostgreSQL and Temporal ----------------------------------------------------------------------


def test_postgres_init_script_creates_every_database_the_stack_uses(
    services: dict[str, dict[str, Any]],
) -> None:
    init_scripts = [
        host
        for host, target in repo_binds(services["postgres"])
        if target.startswith("/docker-entrypoint-initdb.d/")
    ]
    assert init_scripts, "postgres needs an init script in /docker-entrypoint-initdb.d"
    text = "\n".join(path.read_text() for path in init_scripts)
    database_url = urlsplit(SERVICE_ENV["DATABASE_URL"] or "")
    for database in (*TEMPORAL_DATABASES, database_url.path.lstrip("/")):
        assert re.search(rf"CREATE DATABASE {database}\b", text), f"no database {database}"
    assert re.search(rf"CREATE ROLE {database_url.username}\b", text)
    # The passwords the init script reads must be the ones the clients use.
    postgres_env = environment(services["postgres"])
    for variable in re.findall(r"\$(\w+_DB_PASSWORD)", text):
        assert postgres_env.get(variable), f"postgres does not set {variable}"
    assert postgres_env["SKIMMER_DB_PASSWORD"] == database_url.password
    assert postgres_env["TEMPORAL_DB_PASSWORD"] == environment(services["temporal"])["POSTGRES_PWD"]


def test_schema_job_sets_up_both_temporal_databases_with_the_schema_of_its_own_release(
    services: dict[str, dict[str, Any]],
) -> None:
    # The script as it runs with nothing overridden: ${DBNAME:-temporal} -> temporal.
    text = default_value(job_text(services["temporal-schema"])).replace('"', "")
    assert "--plugin postgres12" in text
    server_env = environment(services["temporal"])
    databases = (
        (server_env.get("DBNAME") or "temporal", "temporal"),
        (server_env.get("VISIBILITY_DBNAME") or "temporal_visibility", "visibility"),
    )
    for database, schema in databases:
        assert re.search(rf"--db {database} setup-schema -v 0\.0", text), database
        # The schema embedded in the tool, not a directory of one image: the same script then
        # works with a locally built tool, and the schema is always the tool's release.
        embedded = f"postgresql/v12/{schema}"
        assert re.search(rf"--db {database} update-schema --schema-name {embedded}\b", text), (
            database
        )
    env = environment(services["temporal-schema"])
    assert env["SQL_HOST"] == "postgres" and env["SQL_USER"] == "temporal"


def test_temporal_server_uses_postgres_and_the_local_clusters_dynamic_config(
    services: dict[str, dict[str, Any]],
) -> None:
    env = environment(services["temporal"])
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] in services
    assert env["BIND_ON_IP"] == "0.0.0.0"
    assert env.get("DBNAME", "temporal") == "temporal"
    assert env.get("VISIBILITY_DBNAME", "temporal_visibility") == "temporal_visibility"
    config_path = env["DYNAMIC_CONFIG_FILE_PATH"] or ""
    host_files = [
        host / Path(config_path).relative_to(target)
        for host, target in repo_binds(services["temporal"])
        if Path(config_path).is_relative_to(target)
    ]
    assert host_files and host_files[0].is_file(), f"{config_path} is not mounted from the repo"
    assert host_files[0].resolve() == (REPO_ROOT / DYNAMIC_CONFIG_FILE).resolve(), (
        f"the server loads {host_files[0]}, the local cluster {DYNAMIC_CONFIG_FILE}"
    )
    dynamic_config = yaml.safe_load(host_files[0].read_text())
    for key, values in dynamic_config.items():
        assert isinstance(values, list), key
        assert all("value" in item for item in values), key


def test_dynamic_config_turns_on_task_queue_fairness_everywhere() -> None:
    loaded = yaml.safe_load((REPO_ROOT / DYNAMIC_CONFIG_FILE).read_text())
    # The server reads keys case-insensitively.
    config = {key.lower(): values for key, values in loaded.items()}
    fairness = config.get("matching.enablefairness") or []
    assert any(item["value"] is True and not item.get("constraints") for item in fairness), (
        "matching.enableFairness must be true with no constraints (every task queue)"
    )
    assert all(item["value"] is True for item in fairness), "no constraint may turn it off"
    # With autoEnableV2 on, each queue's stored fairness state would override enableFairness.
    assert all(item["value"] is not True for item in config.get("matching.autoenablev2", []))


def test_setup_job_creates_the_namespace_and_registers_the_search_attributes(
    services: dict[str, dict[str, Any]],
) -> None:
    job = services["temporal-namespace"]
    env = environment(job)
    assert env["TEMPORAL_ADDRESS"] == SERVICE_ENV["TEMPORAL_ADDRESS"]
    assert env["TEMPORAL_NAMESPACE"] == SERVICE_ENV["TEMPORAL_NAMESPACE"]
    text = job_text(job)
    assert "temporal operator namespace create" in text
    assert "temporal operator search-attribute create" in text and "--type" in text
    assert "temporal operator cluster health" in text, "the job must wait for the server"
    for key in ALL_KEYS:  # each with its type: a KeywordList registered as Keyword cannot be set
        assert re.search(rf"\b{registration(key)}\b", text), f"{registration(key)} not registered"


def test_web_ui_points_at_the_server_and_is_where_the_service_links_to(
    services: dict[str, dict[str, Any]],
) -> None:
    (ui,) = service_by_image(services, "temporalio/ui")
    (server,) = service_by_image(services, "temporalio/server")
    env = environment(services[ui])
    host, _, port = (env["TEMPORAL_ADDRESS"] or "").partition(":")
    assert host == server and port == "7233"
    ui_url = urlsplit(SERVICE_ENV["TEMPORAL_UI_URL"] or "")
    assert any(published == ui_url.port for _, published, _ in published_ports(services[ui]))
    assert f"{ui_url.scheme}://{ui_url.netloc}" in (env["TEMPORAL_CORS_ORIGINS"] or "").split(",")


# --- the service's own configuration --------------------------------------------------------------


@pytest.mark.parametrize("name", [*APIS, *WORKERS])
def test_service_configuration_is_complete(services: dict[str, dict[str, Any]], name: str) -> None:
    env = environment(services[name])
    for variable, expected in SERVICE_ENV.items():
        assert variable in env, f"{name} does not set {variable}"
        value = default_value(env[variable] or "")
        assert value, f"{name}: {variable} is empty"
        if expected is not None:
            assert value == expected, f"{name}: {variable}={value!r}, expected {expected!r}"
    for variable in OPTIONAL_SERVICE_ENV:
        assert variable in env, f"{name} should pass {variable} through from the host"


@pytest.mark.parametrize("name", [*APIS, *WORKERS])
def test_every_url_setting_is_passed(services: dict[str, dict[str, Any]], name: str) -> None:
    assert set(BROWSER_URLS) < set(url_settings()), "the settings lost a URL setting"
    env = environment(services[name])
    for variable in url_settings():
        if variable in WORKER_ONLY and name in APIS:
            continue
        # Unset, it would be the default: 127.0.0.1 or localhost, the container itself.
        assert default_value(env.get(variable) or ""), f"{name} does not set {variable}"


@pytest.mark.parametrize("name", [*APIS, *WORKERS])
def test_urls_the_containers_call_point_at_services_never_their_own_loopback(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    env = environment(services[name])
    for variable in url_settings():
        if variable in WORKER_ONLY:
            continue
        if variable in BROWSER_URLS:
            continue
        host, _ = host_and_port(default_value(env[variable] or ""))
        assert not is_loopback(host), f"{name}: {variable} points at its own container ({host})"
        assert host in services, f"{name}: {variable} points at {host!r}, not a service"


def test_urls_the_browser_opens_point_at_ports_published_on_the_host(
    services: dict[str, dict[str, Any]],
) -> None:
    env = environment(services[APIS[0]])
    for variable, service in BROWSER_URLS.items():
        value = default_value(env[variable] or "")
        if service is None:
            assert value.startswith("/"), f"{variable}={value!r}: a path on the api"
            continue
        host, port = host_and_port(value)
        assert is_loopback(host), (
            f"{variable}: the browser reaches {host!r}? (host ports: loopback)"
        )
        published = [number for _, number, _ in published_ports(services[service])]
        assert port in published, f"{variable}: port {port} is not {service}'s on the host"
    callback = urlsplit(default_value(env["QBO_REDIRECT_URI"] or "")).path
    assert callback == "/quickbooks/callback", f"QBO_REDIRECT_URI: {callback} is not the callback"


def test_service_urls_point_at_services_of_the_stack(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services[APIS[0]])
    sandbox = argv(services["qbo-sandbox"]["command"])
    sandbox_port = sandbox[sandbox.index("--port") + 1]
    assert urlsplit(env["QBO_BASE_URL"] or "").port == int(sandbox_port)
    temporal_host = (env["TEMPORAL_ADDRESS"] or "").partition(":")[0]
    assert services[temporal_host]["image"].startswith("temporalio/server:")


@pytest.mark.parametrize("name", APIS)
def test_api_listens_on_all_interfaces_inside_its_container(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    env = environment(services[name])
    assert env.get("API_HOST") == "0.0.0.0"
    port = int(env.get("API_PORT") or 8000)
    assert port in container_ports(services[name]), f"{name} publishes no port to {port}"
    healthcheck = " ".join(argv(services[name]["healthcheck"]["test"]))
    assert f"127.0.0.1:{port}/healthz" in healthcheck


def test_two_apis_run_the_same_app_on_their_own_loopback_host_ports(
    services: dict[str, dict[str, Any]],
) -> None:
    apis = [
        name for name, service in services.items() if argv(service.get("command")) == API_COMMAND
    ]
    assert sorted(apis) == sorted(APIS)
    first, second = (services[name] for name in APIS)
    assert environment(first) == environment(second)
    assert first.get("healthcheck") == second.get("healthcheck")
    host_ports = {name: published_ports(services[name]) for name in APIS}
    assert [port for _, port, _ in host_ports[APIS[0]]] == [FIRST_API_HOST_PORT]
    assert len(host_ports[APIS[1]]) == 1 and host_ports[APIS[1]] != host_ports[APIS[0]]
    for name, ports in host_ports.items():
        assert all(host_ip == "127.0.0.1" for host_ip, _, _ in ports), f"{name}: loopback only"


def test_two_workers_run_the_same_process_with_the_same_configuration(
    services: dict[str, dict[str, Any]],
) -> None:
    workers = [
        name for name, service in services.items() if argv(service.get("command")) == WORKER_COMMAND
    ]
    assert sorted(workers) == sorted(WORKERS)
    first, second = (services[name] for name in WORKERS)
    for key in ("build", "image", "command", "environment", "depends_on", "stop_grace_period"):
        assert first.get(key) == second.get(key), f"{WORKERS[0]} and {WORKERS[1]} differ in {key}"
    for name in WORKERS:
        worker = services[name]
        # Each is one process: replicas would multiply them, a fixed container name forbids it.
        assert (worker.get("deploy") or {}).get("replicas", 1) == 1, name
        assert "container_name" not in worker, name
        assert not worker.get("ports"), f"{name} serves nothing: it publishes no port"
        assert worker.get("stop_grace_period"), f"{name} needs time to finish its activities"
    # Both poll the queue the apis start workflows on.
    queue = environment(services[APIS[0]])["TEMPORAL_TASK_QUEUE"]
    assert all(environment(services[name])["TEMPORAL_TASK_QUEUE"] == queue for name in WORKERS)


def test_secrets_have_no_baked_in_production_value(services: dict[str, dict[str, Any]]) -> None:
    key = environment(services[APIS[0]])["TOKEN_ENCRYPTION_KEY"] or ""
    assert default_value(key) == "<required:TOKEN_ENCRYPTION_KEY>", (
        "TOKEN_ENCRYPTION_KEY must come from the host (the apis encrypt, the workers decrypt)"
    )
    for name in (*APIS, *WORKERS):
        assert environment(services[name])["TOKEN_ENCRYPTION_KEY"] == key, name
    keys = environment(services[APIS[0]])["PAYLOAD_ENCRYPTION_KEYS"] or ""
    assert default_value(keys) == "<required:PAYLOAD_ENCRYPTION_KEYS>", (
        "PAYLOAD_ENCRYPTION_KEYS must come from the host (the apis encrypt, the workers decrypt)"
    )
    for name in (*APIS, *WORKERS):
        assert environment(services[name])["PAYLOAD_ENCRYPTION_KEYS"] == keys, name
