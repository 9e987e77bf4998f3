# Shared by Scripts/run and Scripts/test: find the toolchain and install missing system packages.
# shellcheck shell=bash

log() { printf '%s\n' "[$(basename "$0")] $*" >&2; }

ensure_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        for dir in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
            if [ -x "$dir/swift" ]; then export PATH="$dir:$PATH"; break; fi
        done
    fi
    command -v swift >/dev/null 2>&1 || { log "swift not found: install the Swift 6.2+ toolchain first"; exit 1; }
}

# ensure_apt "<check command>" package… — installs the packages when the check fails.
ensure_apt() {
    local check="$1"; shift
    if eval "$check" >/dev/null 2>&1; then return 0; fi
    log "installing $* (apt)"
    local sudo=""
    if [ "$(id -u)" != "0" ]; then
        command -v sudo >/dev/null 2>&1 || { log "need root or sudo to apt-get install $*"; exit 1; }
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq || log "apt-get update failed; trying the install anyway"
    $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    eval "$check" >/dev/null 2>&1 || { log "installed $* but '$check' still fails"; exit 1; }
}

# A Python package for the tests (PyPI), installed with pip when `import MODULE` fails. The interpreter is exported
# as TICKPLEX_PYTHON (its real path, not a pyenv shim), so that the tests run the one that has the package.
ensure_pip() {
    local module="$1" package="$2" python
    python="$(python3 -c 'import sys; print(sys.executable)')"
    export TICKPLEX_PYTHON="$python"
    if "$python" -c "import $module" >/dev/null 2>&1; then return 0; fi
    log "installing $package (pip, into $python)"
    "$python" -m pip install -q --disable-pip-version-check "$package" >/dev/null 2>&1 \
        || "$python" -m pip install -q --disable-pip-version-check --break-system-packages "$package" >/dev/null
    "$python" -c "import $module" >/dev/null 2>&1 || { log "installed $package but 'import $module' still fails"; exit 1; }
}

ensure_hiredis() {
    ensure_apt "test -f /usr/include/hiredis/hiredis.h" libhiredis-dev
}

ensure_redis_server() {
    ensure_apt "command -v redis-server && command -v redis-cli" redis-server redis-tools
    # The Redis TLS tests make a throwaway CA with it.
    ensure_apt "command -v openssl" openssl
}

# The benchmark peer: nginx with the nchan module (one worker, fed by HTTP POSTs).
ensure_nchan() {
    ensure_apt "command -v nginx && test -e /usr/lib/nginx/modules/ngx_nchan_module.so" nginx-light libnginx-mod-nchan
}

# The live-page test loads / in headless Chromium (Debian's package).
ensure_chromium() {
    ensure_apt "command -v chromium || command -v chromium-browser" chromium
}
