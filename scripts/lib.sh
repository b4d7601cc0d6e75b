# Shared bootstrap for scripts/serve-demo and scripts/test (sourced, not run).
#
# Everything here must work on a fresh machine that has only Python 3.11+ and bash:
# it finds Python, makes .venv, installs the project when pyproject.toml changed, and
# (for the tests) installs Debian packages when run as root and starts a throwaway
# PostgreSQL. Functions print what they do, so a newcomer can see where time goes.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.consulink-installed"

# Debian packages the full test suite uses: Chromium for page tests, PostgreSQL for the
# second database backend, Apertium's English-Spanish pair for caption translation,
# coturn for the relay-only call through a real TURN server, DejaVu and Noto fonts for PDF
# exports of names and transcripts in any script (Sinhala, Devanagari, Bengali, ...),
# iproute2 and nftables for the call that loses its UDP in a network namespace (ICE restart).
# Add a package here when a test needs one.
TEST_APT_PACKAGES=(chromium postgresql apertium-eng-spa coturn fonts-dejavu-core fonts-noto-core
    iproute2 nftables)

# PDF exports need a Unicode TrueType font (interviews/export_pdf.py looks here).
warn_missing_fonts() {
    [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] ||
        warn "PDF exports need fonts-dejavu-core (and fonts-noto-core for non-Latin scripts): apt-get install fonts-dejavu-core fonts-noto-core"
}

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

is_root() { [ "$(id -u)" = "0" ]; }

# A Python interpreter of version 3.11 or newer, printed as a path or command name.
# $PYTHON wins; then 3.11 (the version the project is developed and checked on), newer
# ones, plain python3, and finally pyenv installs that are not on PATH.
find_python() {
    local candidate
    local -a candidates=()
    [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
    candidates+=(python3.11 python3.12 python3.13 python3.14 python3)
    for candidate in "$HOME"/.pyenv/versions/3.1[1-9]*/bin/python3 \
        /usr/local/bin/python3.1[1-9] /usr/bin/python3.1[1-9]; do
        [ -x "$candidate" ] && candidates+=("$candidate")
    done
    for candidate in "${candidates[@]}"; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

apt_install() {
    # Installs the given Debian packages (root only); `apt-get update` runs once per call.
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
        die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" ||
        die "apt-get install $* failed"
}

make_venv() {
    local python
    python="$(find_python)" ||
        die "consulink needs Python 3.11 or newer (set PYTHON=/path/to/python3.11 if it is not on PATH)"
    say "creating .venv with $python ($("$python" --version 2>&1))"
    if "$python" -m venv "$VENV"; then
        return 0
    fi
    rm -rf "$VENV"
    # Debian's own Python ships venv support in a separate package.
    local version
    version="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    if is_root && command -v apt-get >/dev/null 2>&1; then
        apt_install "python${version}-venv"
        "$python" -m venv "$VENV" || die "could not create .venv with $python"
    else
        die "could not create .venv; install your distribution's venv package (Debian: python${version}-venv)"
    fi
}

# ensure_venv [EXTRAS]: a working .venv with the project installed (editable) with the
# given extras ("test,captions"). Skipped when pyproject.toml is unchanged since the last
# install that covered these extras.
ensure_venv() {
    local extras="${1:-}"
    if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
        warn ".venv is broken (its Python no longer runs); making a new one"
        rm -rf "$VENV"
    fi
    [ -x "$VENV/bin/python" ] || make_venv

    local digest
    digest="$("$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$ROOT/pyproject.toml")"
    if stamp_covers "$digest" "$extras" && [ -x "$VENV/bin/consulink" ]; then
        return 0
    fi
    local target="$ROOT"
    [ -n "$extras" ] && target="$ROOT[$extras]"
    say "installing consulink${extras:+ [$extras]} into .venv (first time takes a minute or two)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -e "$target" ||
        die "pip install failed"
    printf '%s %s\n' "$digest" "$extras" >"$STAMP"
}

# stamp_covers DIGEST EXTRAS: the last install was of this pyproject.toml and included
# every requested extra (a test install also serves the demo, which needs none).
stamp_covers() {
    local digest="$1" wanted="$2" stamp_digest stamp_extras extra
    [ -f "$STAMP" ] || return 1
    read -r stamp_digest stamp_extras <"$STAMP" || true
    [ "$stamp_digest" = "$digest" ] || return 1
    local IFS=,
    for extra in $wanted; do
        case ",${stamp_extras:-}," in
        *",$extra,"*) ;;
        *) return 1 ;;
        esac
    done
    return 0
}

# Installs missing TEST_APT_PACKAGES when root; otherwise says which are missing.
ensure_test_packages() {
    local -a missing=()
    local package
    command -v dpkg-query >/dev/null 2>&1 || {
        say "not a Debian-like system: install Chromium and PostgreSQL yourself for the full suite"
        return 0
    }
    for package in "${TEST_APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$package")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if is_root && command -v apt-get >/dev/null 2>&1; then
        apt_install "${missing[@]}"
    else
        say "not root, so not installing Debian packages: ${missing[*]}"
        say "  (sudo apt-get install ${missing[*]}; tests that need them are skipped or fail)"
    fi
}

# The bin folder of the newest PostgreSQL server installed, or nothing.
postgres_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && {
            printf '%s\n' "$dir"
            return 0
        }
    done
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    return 1
}

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

PG_TMP=""
PG_AS=()

stop_postgres() {
    [ -n "$PG_TMP" ] || return 0
    if [ -f "$PG_TMP/data/postmaster.pid" ]; then
        (cd / && ${PG_AS[@]+"${PG_AS[@]}"} "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w stop >/dev/null 2>&1) || true
    fi
    rm -rf "$PG_TMP"
    PG_TMP=""
}

# start_postgres: a throwaway PostgreSQL on 127.0.0.1 for this run, stopped on exit.
# Exports CONSULINK_TEST_DATABASE_URL, or returns 1 (with the reason printed) when it
# cannot run here. initdb and postgres refuse to run as root, so root runs them as the
# `postgres` system user (the Debian package creates it).
start_postgres() {
    PG_BIN="$(postgres_bindir)" || {
        say "PostgreSQL is not installed (Debian: apt-get install postgresql)"
        return 1
    }
    if is_root; then
        id postgres >/dev/null 2>&1 || {
            say "running as root but there is no 'postgres' user to run PostgreSQL as"
            return 1
        }
        PG_AS=(runuser -u postgres --)
    else
        PG_AS=()
    fi
    # As root, under /tmp: the postgres user must be able to reach the folder.
    local parent="${TMPDIR:-/tmp}"
    is_root && parent=/tmp
    PG_TMP="$(mktemp -d "$parent/consulink-pg.XXXXXX")"
    chmod 700 "$PG_TMP"
    is_root && chown postgres: "$PG_TMP"
    trap stop_postgres EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    local port
    port="$(free_port)"
    say "starting a throwaway PostgreSQL ($("$PG_BIN/postgres" --version)) on 127.0.0.1:$port"
    if ! (cd / && ${PG_AS[@]+"${PG_AS[@]}"} "$PG_BIN/initdb" -D "$PG_TMP/data" -U consulink -A trust \
        -E UTF8 --locale=C --no-sync --no-instructions >"$PG_TMP/initdb.log" 2>&1); then
        cat "$PG_TMP/initdb.log" >&2
        say "initdb failed"
        stop_postgres
        return 1
    fi
    # Durability off: this database lives for one test run only.
    local options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_TMP"
    options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    options+=" -c max_connections=300 -c shared_buffers=32MB"
    if ! (cd / && ${PG_AS[@]+"${PG_AS[@]}"} "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" \
        -o "$options" -w -t 60 start >/dev/null); then
        cat "$PG_TMP/server.log" >&2
        say "PostgreSQL did not start"
        stop_postgres
        return 1
    fi
    export CONSULINK_TEST_DATABASE_URL="postgresql+asyncpg://consulink@127.0.0.1:$port/postgres"
}
