# Shared by scripts/start and scripts/test: install npm packages when the lockfile changed.
# onnxruntime-node must not try to download CUDA files (no network but the registries).
export ONNXRUNTIME_NODE_INSTALL=skip
export npm_config_onnxruntime_node_install=skip
# The console's browser tests drive Debian's chromium (ensure_chromium); never download a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

ensure_node_modules() {
  local stamp=node_modules/.bettong-lock.sha256
  local want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing npm packages (npm ci)"
    npm ci --no-audit --no-fund
    echo "$want" > "$stamp"
  fi
}

ensure_python_venv() {
  local stamp=.venv/.bettong-req.sha256
  local want
  want=$(cat "$@" | sha256sum | cut -d' ' -f1)
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    python3 -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing Python packages"
    .venv/bin/pip install --quiet --disable-pip-version-check $(printf -- '-r %s ' "$@")
    echo "$want" > "$stamp"
  fi
}

# The metrics test scrapes the server with a real Prometheus (Debian package), as CI does on a fresh machine.
ensure_prometheus() {
  command -v prometheus >/dev/null 2>&1 && return 0
  echo "==> installing prometheus (apt-get)"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends prometheus
}

# Custom code (JavaScript/Python steps) runs in a bubblewrap sandbox: install it where apt can.
ensure_bubblewrap() {
  command -v bwrap >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing bubblewrap (the sandbox for custom code)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap >/dev/null 2>&1 ||
      { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap >/dev/null 2>&1; } ||
      echo "warning: could not install bubblewrap; custom code will be refused (or use --unsandboxed-custom-code)"
  else
    echo "warning: bubblewrap (bwrap) is not installed; custom code will be refused (or use --unsandboxed-custom-code)"
  fi
}

# The Python that Python steps run with (pandas, numpy, pyarrow), in .venv-steps. It is built on
# the system's /usr/bin/python3 when there is one: the sandbox's user must be able to read the
# interpreter, and a Python under /root (pyenv) is out of its reach.
ensure_step_python() {
  local stamp=.venv-steps/.bettong-req.sha256
  local want base
  want=$(sha256sum src/runtimes/python/requirements.txt | cut -d' ' -f1)
  base=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3 )
  # As root with the checkout where other users cannot read (under /root), the venv lives in
  # /var/cache/bettong and .venv-steps links to it: the sandbox's own user must reach it.
  if [ ! -e .venv-steps ] && [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
     ! setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$PWD/src/runtimes/python/requirements.txt" 2>/dev/null; then
    local shared="/var/cache/bettong/venv-steps-$(echo "$PWD" | sha256sum | cut -c1-12)"
    mkdir -p "$shared" && chmod 755 /var/cache/bettong && ln -s "$shared" .venv-steps
  fi
  if [ ! -x .venv-steps/bin/python ]; then
    echo "==> creating .venv-steps (the Python of Python steps)"
    "$base" -m venv "$(readlink -f .venv-steps)" 2>/dev/null || {
      [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv >/dev/null 2>&1
      "$base" -m venv --clear "$(readlink -f .venv-steps)"
    }
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing the Python steps' packages"
    .venv-steps/bin/pip install --quiet --disable-pip-version-check -r src/runtimes/python/requirements.txt
    echo "$want" > "$stamp"
  fi
}

# PostgreSQL's server binaries (initdb, pg_ctl): Debian keeps them under /usr/lib/postgresql/<major>/bin.
postgres_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

# The PostgreSQL test runs start their own throwaway cluster (scripts/with-postgres): install the
# server from Debian's packages without the cluster and service the package would otherwise start.
ensure_postgres() {
  local bin
  bin=$(postgres_bin)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] && return 0
  echo "==> installing postgresql (apt-get)"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo mkdir -p /etc/postgresql-common
  echo 'create_main_cluster = false' | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends postgresql
}

# The cluster test runs three servers behind a real HAProxy (Debian package) on loopback.
ensure_haproxy() {
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] && return 0
  echo "==> installing haproxy (apt-get)"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends haproxy >/dev/null 2>&1 ||
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends haproxy; }
}

# The web console's browser tests (test/console.test.ts) drive Debian's chromium with playwright-core.
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "==> installing chromium (apt-get), for the console's browser tests"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 ||
    { $sudo apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } ||
    echo "warning: could not install chromium; the console's browser tests will be skipped"
}

# Go tools the tests run, built once from the Go module proxy and kept in the user's cache:
# Helm renders and lints the chart; SeaweedFS is the S3-compatible store the artifact tests use.
BETTONG_BIN="${XDG_CACHE_HOME:-$HOME/.cache}/bettong/bin"
HELM_VERSION=v3.22.0
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6
export PATH="$BETTONG_BIN:$PATH"

GO_TOOLCHAIN=go1.26.8

# Go 1.21 and later fetch the toolchain a module asks for (GOTOOLCHAIN=auto). Debian bookworm's Go
# (1.19) predates that: it only downloads a current toolchain, itself a module on the Go proxy.
ensure_go() {
  if command -v go >/dev/null 2>&1 && go env GOTOOLCHAIN >/dev/null 2>&1 && [ -n "$(go env GOTOOLCHAIN)" ]; then return 0; fi
  local goroot="${BETTONG_BIN%/bin}/$GO_TOOLCHAIN"
  if [ ! -x "$goroot/bin/go" ]; then
    if ! command -v go >/dev/null 2>&1; then
      echo "==> installing Go (apt-get)"
      local sudo=""
      [ "$(id -u)" -ne 0 ] && sudo="sudo"
      $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends golang-go ca-certificates
    fi
    echo "==> fetching the Go toolchain $GO_TOOLCHAIN (a module on the Go proxy)"
    local dir
    dir=$(cd /tmp && go mod download -json "golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.$(go env GOOS)-$(go env GOARCH)" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    mkdir -p "$(dirname "$goroot")" && rm -rf "$goroot.tmp" && cp -r "$dir" "$goroot.tmp" && chmod -R u+w "$goroot.tmp"
    # Module zips keep no file modes.
    chmod +x "$goroot.tmp"/bin/* "$goroot.tmp"/pkg/tool/*/*
    mv "$goroot.tmp" "$goroot"
  fi
  export PATH="$goroot/bin:$PATH"
}

ensure_helm() {
  [ -x "$BETTONG_BIN/helm" ] && return 0
  ensure_go
  echo "==> building helm $HELM_VERSION (once; cached in $BETTONG_BIN)"
  mkdir -p "$BETTONG_BIN"
  GOBIN="$BETTONG_BIN" GOTOOLCHAIN=auto go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

# SeaweedFS's go.mod has replace directives, which `go install pkg@version` refuses: build in its module directory.
ensure_seaweedfs() {
  [ -x "$BETTONG_BIN/weed" ] && return 0
  ensure_go
  echo "==> building SeaweedFS weed $SEAWEEDFS_VERSION (once, several minutes; cached in $BETTONG_BIN)"
  mkdir -p "$BETTONG_BIN"
  local dir
  dir=$(cd /tmp && GOTOOLCHAIN=auto go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  (cd "$dir" && GOTOOLCHAIN=auto go build -o "$BETTONG_BIN/weed.tmp" ./weed) && mv "$BETTONG_BIN/weed.tmp" "$BETTONG_BIN/weed"
}
