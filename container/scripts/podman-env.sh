# Sourced by the image scripts: make podman usable on this kind of machine (see README).
# Installs podman/runc/mmdebstrap when missing, and points podman at a containers.conf without
# default ulimits (crun/runc fail on setrlimit here); containers run with --runtime runc.
_jaxsm_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
missing=()
for tool in podman runc mmdebstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if (( ${#missing[@]} )); then
  echo "[image] installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq podman runc mmdebstrap >/dev/null
fi
mkdir -p "$_jaxsm_root/.podman"
printf '[containers]\ndefault_ulimits = []\n' > "$_jaxsm_root/.podman/containers.conf"
export CONTAINERS_CONF="$_jaxsm_root/.podman/containers.conf"
