"""`docker` for the local CodeBuild's build shell, served by podman with this machine's settings.

The buildspec's own commands run here unchanged: `docker login`, `docker build`, `docker tag`, `docker push`,
`docker inspect` (and `images`, `version`, `info`, `run`, `rmi`, `ps`, `rm`, `logs` passed to podman as they are).

- login: records the credentials in $DOCKER_CONFIG/config.json (docker's own file) after checking there is a
  password, as docker does; `push` to a registry nobody logged in to fails with docker's "no basic auth credentials".
- build: container/scripts/build-image.sh (podman `--isolation chroot`, the CA bundle and the prebuilt wheels mounted
  at build time, the local Debian base). Local builds are CPU-only and cannot pull from public registries, so
  `JAX_VARIANT` is built as `cpu` and a `BASE_IMAGE` outside `localhost/` becomes the local base; each substitution
  is printed.
- push: an ECR reference (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`) is pushed by the local CodeBuild
  service (the build's agent): to the stack's OCI registry, authorized as the project's service role like an ECR
  push, and recorded in ECR with the registry's digest.
- inspect: podman's answer, with the digests pushed in this build in RepoDigests (as docker records them).

podman and its companions are installed on the first command that needs them (container/scripts/local-tools.sh), so
a buildspec that never calls docker needs no podman. Errors read like docker's and exit non-zero, so the buildspec
command fails its phase.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
LOCAL_BASE = "localhost/debian-python:bookworm-tini"
PASSTHROUGH = {"images", "version", "info", "rmi", "ps", "rm", "logs", "run", "history", "save", "load"}


def fail(message: str, code: int = 1) -> None:
    print(message, file=sys.stderr, flush=True)
    sys.exit(code)


def podman(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], check=False, **kw)


def config_path() -> str:
    return os.path.join(os.environ.get("DOCKER_CONFIG") or os.path.join(os.environ["HOME"], ".docker"), "config.json")


def read_config() -> dict:
    try:
        with open(config_path()) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def pushes_path() -> str:
    return os.path.join(os.path.dirname(config_path()), "local-codebuild-pushes.json")


def registry_of(ref: str) -> str | None:
    first, sep, _ = ref.partition("/")
    return first if sep and ("." in first or ":" in first or first == "localhost") else None


def take(args: list[str], i: int, flag: str) -> tuple[str, int]:
    """The value of a flag given as `--flag value` or `--flag=value`."""
    a = args[i]
    if "=" in a and a.startswith("--"):
        return a.split("=", 1)[1], i + 1
    if i + 1 >= len(args):
        fail(f'flag needs an argument: "{flag}"', 125)
    return args[i + 1], i + 2


def login(args: list[str]) -> None:
    user, password, stdin, registry = "", None, False, None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-u", "--username") or a.startswith("--username="):
            user, i = take(args, i, "--username")
        elif a in ("-p", "--password") or a.startswith("--password="):
            password, i = take(args, i, "--password")
        elif a == "--password-stdin":
            stdin, i = True, i + 1
        elif a.startswith("-"):
            fail(f"unknown flag: {a}", 125)
        else:
            registry, i = a, i + 1
    if stdin:
        password = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    if not password:
        # docker prompts for a missing password, which a build (no TTY) cannot answer.
        fail("Error: Cannot perform an interactive login from a non TTY device")
    registry = registry or "https://index.docker.io/v1/"
    cfg = read_config()
    cfg.setdefault("auths", {})[registry] = {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
    os.makedirs(os.path.dirname(config_path()), exist_ok=True)
    with open(config_path(), "w") as f:
        json.dump(cfg, f, indent=1)
    print(f"WARNING! Your password will be stored unencrypted in {config_path()}.", file=sys.stderr)
    print("Login Succeeded", flush=True)


def build(args: list[str]) -> None:
    tags: list[str] = []
    extra: list[str] = []
    dockerfile = None
    context = None
    base = None
    variant = None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-t", "--tag") or a.startswith("--tag="):
            value, i = take(args, i, "--tag")
            tags.append(value)
        elif a in ("-f", "--file") or a.startswith("--file="):
            dockerfile, i = take(args, i, "--file")
        elif a == "--build-arg" or a.startswith("--build-arg="):
            value, i = take(args, i, "--build-arg")
            key, eq, val = value.partition("=")
            if not eq:  # `--build-arg NAME` takes the value from the environment, as docker does
                if key not in os.environ:
                    continue
                val = os.environ[key]
            if key == "BASE_IMAGE":
                base = val
            elif key == "JAX_VARIANT":
                variant = val
            elif key in ("PIP_CERT", "PIP_FIND_LINKS"):
                print(f"[local] --build-arg {key}: the local build mounts its own (CA bundle, prebuilt wheels)")
            else:
                extra += ["--build-arg", f"{key}={val}"]
        elif a in ("--label", "--target") or a.startswith(("--label=", "--target=")):
            flag = a.split("=", 1)[0]
            value, i = take(args, i, flag)
            extra += [flag, value]
        elif a in ("--no-cache", "-q", "--quiet"):
            extra.append(a)
            i += 1
        elif a == "--pull" or a.startswith("--pull="):
            print("[local] --pull ignored: there is no public registry to pull base images from")
            i += 1
        elif a in ("--platform",) or a.startswith("--platform="):
            value, i = take(args, i, "--platform")
            if value not in ("linux/amd64", "linux/x86_64"):
                fail(f"[local] --platform {value}: the local CodeBuild builds linux/amd64 only")
        elif a in ("--progress", "--network") or a.startswith(("--progress=", "--network=")):
            _, i = take(args, i, a.split("=", 1)[0])
        elif a.startswith("-"):
            fail(
                f"unknown flag: {a} (the local CodeBuild's docker build serves -t, -f, --build-arg, --label, "
                "--target, --no-cache, --pull, --platform, --progress, --network, -q)",
                125,
            )
        else:
            if context is not None:
                fail('"docker build" requires exactly 1 argument.', 1)
            context, i = a, i + 1
    if context is None:
        fail('"docker build" requires exactly 1 argument.', 1)
    if context == "-" or "://" in context:
        fail(f"[local] build context {context}: the local CodeBuild builds from a directory only")
    context = os.path.abspath(context)
    dockerfile = os.path.abspath(dockerfile) if dockerfile else os.path.join(context, "Dockerfile")
    # This machine's pip/TLS/proxy settings (LOCAL_CODEBUILD_TOOL_ENV) under the build's own variables.
    with open(os.environ["LOCAL_CODEBUILD_TOOL_ENV"]) as f:
        env = {**json.load(f), **os.environ}
    if variant not in (None, "cpu"):
        print(f"[local] JAX_VARIANT={variant} requested; local builds are CPU-only, building JAX_VARIANT=cpu")
    env["JAX_VARIANT"] = "cpu"
    if base and base.startswith("localhost/"):
        env["BASE_IMAGE"] = base
    else:
        what = f"BASE_IMAGE={base}" if base else "the Dockerfile's default BASE_IMAGE"
        print(f"[local] {what} cannot be pulled here (no public registry); using the local Debian base {LOCAL_BASE}")
        env["BASE_IMAGE"] = LOCAL_BASE
    env["DOCKERFILE"] = dockerfile
    tag = tags[0] if tags else f"localhost/local-codebuild/untagged:{uuid.uuid4().hex[:12]}"
    for t in tags[1:]:
        extra += ["-t", t]
    script = os.environ["LOCAL_CODEBUILD_IMAGE_SCRIPT"]
    sys.stdout.flush()
    sys.exit(subprocess.run(["bash", script, tag, context, "--", *extra], check=False, env=env).returncode)


def agent(operation: str, body: dict) -> dict:
    req = urllib.request.Request(
        f"{os.environ['LOCAL_CODEBUILD_AGENT_URL']}/{operation}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Local-CodeBuild-Token": os.environ["LOCAL_CODEBUILD_AGENT_TOKEN"],
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=3600) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        try:
            message = json.load(e).get("message", "")
        except ValueError:
            message = ""
        fail(message or f"the local CodeBuild refused the {operation}: HTTP {e.code}")
    except OSError as e:
        fail(f"the local CodeBuild service cannot be reached for the {operation}: {e}")
    raise AssertionError("unreachable")


def push(args: list[str]) -> None:
    refs = [a for a in args if not a.startswith("-")]
    flags = [a for a in args if a.startswith("-")]
    if flags:
        fail(f"unknown flag: {flags[0]} (the local CodeBuild's docker push takes one image reference)", 125)
    if len(refs) != 1:
        fail('"docker push" requires exactly 1 argument.')
    ref = refs[0]
    registry = registry_of(ref)
    if not registry or not ECR_HOST.match(registry):
        fail(
            f"[local] docker push {ref}: the local CodeBuild pushes to Amazon ECR only "
            "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>)"
        )
    auth = read_config().get("auths", {}).get(registry, {}).get("auth")
    if not auth:
        fail("no basic auth credentials")
    repo = ref.rsplit("@", 1)[0]
    name, _, tag = repo.rpartition(":") if ":" in repo.split("/")[-1] else (repo, "", "latest")
    print(f"The push refers to repository [{name}]", flush=True)
    out = agent("push", {"image": ref if ":" in repo.split("/")[-1] else f"{ref}:latest", "auth": auth})
    try:
        with open(pushes_path()) as f:
            pushes = json.load(f)
    except FileNotFoundError:
        pushes = {}
    pushes.setdefault(out["imageId"], [])
    entry = f"{name}@{out['digest']}"
    if entry not in pushes[out["imageId"]]:
        pushes[out["imageId"]].insert(0, entry)
    with open(pushes_path(), "w") as f:
        json.dump(pushes, f)
    print(f"{tag}: digest: {out['digest']} size: {out['size']}", flush=True)


def lookup(value, path: str):
    for part in filter(None, path.split(".")):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


def render(value) -> str:
    """How Go's text/template prints a value."""
    if isinstance(value, list):
        return "[" + " ".join(render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{render(v)}" for k, v in sorted(value.items())) + "]"
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def template(fmt: str, obj: dict) -> str:
    """The subset of Go templates buildspecs use: `.Path`, `index .List N`, `json .X`."""

    def action(m: re.Match) -> str:
        words = m[1].split()
        if len(words) == 1 and words[0].startswith("."):
            return render(lookup(obj, words[0]))
        if len(words) == 3 and words[0] == "index" and words[2].isdigit():
            seq = lookup(obj, words[1])
            n = int(words[2])
            if not isinstance(seq, list) or n >= len(seq):
                raise IndexError(f"error calling index: index out of range: {n}")
            return render(seq[n])
        if len(words) == 2 and words[0] == "json":
            return json.dumps(lookup(obj, words[1]), separators=(",", ":"))
        raise ValueError(m[0])

    return ACTION.sub(action, fmt.replace("\\n", "\n"))


def inspect(args: list[str]) -> None:
    fmt = None
    refs = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-f", "--format") or a.startswith("--format="):
            fmt, i = take(args, i, "--format")
        elif a == "--type" or a.startswith("--type="):
            _, i = take(args, i, "--type")
        elif a.startswith("-"):
            fail(f"unknown flag: {a}", 125)
        else:
            refs.append(a)
            i += 1
    if not refs:
        fail('"docker inspect" requires at least 1 argument.')
    got = podman("image", "inspect", *refs, capture_output=True, text=True)
    if got.returncode != 0:
        missing = refs[0]
        fail(
            f"Error: No such object: {missing}"
            if "unknown" in got.stderr or "no such" in got.stderr.lower()
            else got.stderr
        )
    images = json.loads(got.stdout)
    try:
        with open(pushes_path()) as f:
            pushes = json.load(f)
    except FileNotFoundError:
        pushes = {}
    for img in images:
        known = pushes.get(img.get("Id", ""), [])
        img["RepoDigests"] = known + [d for d in img.get("RepoDigests") or [] if d not in known]
    if fmt is None:
        print(json.dumps(images, indent=4))
        return
    for img in images:
        try:
            print(template(fmt, img))
        except (KeyError, IndexError, ValueError) as e:
            fail(f"template: {fmt}: {e}")


def ensure_tools() -> None:
    """podman, runc and the local registry, installed on the build's first podman-backed command (once per build)."""
    marker = os.path.join(os.path.dirname(config_path()), "local-tools.ok")
    if os.path.exists(marker):
        return
    got = subprocess.run(
        ["bash", os.environ["LOCAL_CODEBUILD_TOOLS_SCRIPT"]], capture_output=True, text=True, check=False
    )
    for line in got.stdout.splitlines():
        if line.startswith("["):
            print(line, flush=True)
    if got.returncode != 0:
        why = (got.stderr or got.stdout).strip()[-800:]
        fail(f"[local] the local CodeBuild's docker needs podman, which could not be set up: {why}")
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    open(marker, "w").close()


def main() -> None:
    args = sys.argv[1:]
    if not args:
        fail("Usage:  docker [OPTIONS] COMMAND (the local CodeBuild's docker, served by podman)")
    sub, rest = args[0], args[1:]
    if sub == "image" and rest and rest[0] in ("build", "push", "inspect", "tag"):
        sub, rest = rest[0], rest[1:]
    if sub not in ("login", "logout"):
        ensure_tools()
    if sub == "login":
        login(rest)
    elif sub == "build":
        build(rest)
    elif sub == "push":
        push(rest)
    elif sub == "inspect":
        inspect(rest)
    elif sub == "tag":
        if len(rest) != 2:
            fail('"docker tag" requires exactly 2 arguments.')
        sys.exit(podman("tag", *rest).returncode)
    elif sub == "logout":
        print("Removing login credentials")
    elif sub in PASSTHROUGH:
        extra = ["--runtime", "runc"] if sub == "run" else []
        sys.exit(podman(sub, *extra, *rest).returncode)
    else:
        fail(
            f"[local] docker {sub} is not served by the local CodeBuild's docker (podman): "
            f"login, build, tag, push, inspect, {', '.join(sorted(PASSTHROUGH))}"
        )


if __name__ == "__main__":
    main()
