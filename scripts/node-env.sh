# Sourced by the project's scripts: makes sure the pinned Node (.nvmrc) is installed and puts it first on PATH, so
# every later step (npm ci, eslint, jest, tsc, tsx and whatever they spawn through PATH or process.execPath) runs on
# it, whatever Node started `npm run`.
_node_env_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$_node_env_root/scripts/bootstrap-node.sh" --quiet || return 1 2>/dev/null || exit 1
export PATH="$_node_env_root/.node/bin:$PATH"
# npm passes the Node that runs npm itself to scripts in these two; tools that read them get the pinned one instead.
export NODE="$_node_env_root/.node/bin/node" npm_node_execpath="$_node_env_root/.node/bin/node"
unset _node_env_root
