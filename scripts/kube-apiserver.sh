#!/usr/bin/env bash
# Real Kubernetes API server (1.20, Debian bookworm's `kubernetes` source
# package) + etcd on loopback, for dpuflow's integration tests.
#
#   scripts/kube-apiserver.sh build
#       Build kube-apiserver from Debian's source package and unpack Debian's
#       etcd into ${DPUFLOW_CACHE:-$HOME/.cache/dpuflow}/kube-1.20/bin.
#       Idempotent: returns at once when both binaries already work.
#   scripts/kube-apiserver.sh start <state-dir>
#       Start etcd + kube-apiserver on free 127.0.0.1 ports, wait for /readyz.
#       Writes into <state-dir>: server.url, ca.crt, admin.token,
#       limited.token, kubeconfig, etcd.pid, apiserver.pid, etcd.log,
#       apiserver.log (+ internal files: ports.env, apiserver.args, tokens.csv,
#       sa.key, sa.pub, pki/, etcd-data/).
#   scripts/kube-apiserver.sh stop <state-dir>
#       Stop both (by pid) and wait for them to exit.
#   scripts/kube-apiserver.sh restart-apiserver <state-dir>
#       Kill only kube-apiserver (if still running) and start it again with the
#       same flags, port and certificate; wait for /readyz.
#   scripts/kube-apiserver.sh status <state-dir>
#
# Environment:
#   DPUFLOW_CACHE           cache root (default $HOME/.cache/dpuflow)
#   DPUFLOW_DEBIAN_MIRROR   Debian mirror URI (default: taken from the
#                           system's APT sources, else http://deb.debian.org/debian)
#   DPUFLOW_KUBE_KEEP_WORK  set to 1 to keep the build work dir after success
#
# Only loopback is used at run time; the build downloads Debian packages with
# apt-get (private APT configuration, /etc/apt is not modified).

set -euo pipefail

readonly PROG="kube-apiserver.sh"
readonly DEB_SUITE="bookworm"
readonly KUBE_SRC_PKG="kubernetes"
readonly BUILD_DEBS=(golang-1.19-go golang-1.19-src rsync libpopt0 etcd-server
    golang-github-modern-go-reflect2-dev)
readonly GO_VERSION_DIR="go-1.19"
readonly READY_TIMEOUT=60
readonly ETCD_TIMEOUT=30

CACHE_ROOT="${DPUFLOW_CACHE:-${HOME:?HOME is not set}/.cache/dpuflow}"
KUBE_CACHE="${CACHE_ROOT}/kube-1.20"
BIN_DIR="${KUBE_CACHE}/bin"
WORK_DIR="${KUBE_CACHE}/work"
KUBE_APISERVER_BIN="${BIN_DIR}/kube-apiserver"
ETCD_BIN="${BIN_DIR}/etcd"

log() { printf '[%s %s] %s\n' "${PROG}" "$(date +%H:%M:%S)" "$*"; }
warn() { printf '[%s %s] WARNING: %s\n' "${PROG}" "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    printf '[%s %s] ERROR: %s\n' "${PROG}" "$(date +%H:%M:%S)" "$*" >&2
    exit 1
}

usage() {
    cat <<EOF
usage: scripts/${PROG} build
       scripts/${PROG} start <state-dir>
       scripts/${PROG} stop <state-dir>
       scripts/${PROG} restart-apiserver <state-dir>
       scripts/${PROG} status <state-dir>

Cache: ${KUBE_CACHE}  (override the root with DPUFLOW_CACHE)
EOF
}

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

# need_cmd CMD [DEBIAN-PACKAGE]: make sure CMD exists, installing the Debian
# package with apt-get when running as root.
need_cmd() {
    local cmd="$1" pkg="${2:-$1}"
    command -v "${cmd}" >/dev/null 2>&1 && return 0
    if [[ ${EUID} -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing missing tool '${cmd}' (Debian package ${pkg})"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkg}" >/dev/null ||
            die "apt-get install ${pkg} failed (needed for '${cmd}')"
        command -v "${cmd}" >/dev/null 2>&1 && return 0
    fi
    die "required command '${cmd}' not found (install Debian package '${pkg}')"
}

binaries_ok() {
    [[ -x ${KUBE_APISERVER_BIN} && -x ${ETCD_BIN} ]] || return 1
    "${KUBE_APISERVER_BIN}" --version >/dev/null 2>&1 || return 1
    "${ETCD_BIN}" --version >/dev/null 2>&1 || return 1
}

# Debian mirror (archive URI) for bookworm main, taken from the system's APT
# sources so that the same mirror/proxy is used.
debian_mirror() {
    if [[ -n ${DPUFLOW_DEBIAN_MIRROR:-} ]]; then
        printf '%s\n' "${DPUFLOW_DEBIAN_MIRROR%/}"
        return
    fi
    local f uri=""
    # deb822 *.sources: first stanza with "Types: deb" whose Suites lists a
    # plain release (not -security) and whose URI is not a security archive.
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -r ${f} ]] || continue
        uri="$(awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && suites ~ /(^| )[a-z]+( |$)/ &&
                    uris != "" && uris !~ /security/ && out == "") {
                    split(uris, u, " "); out = u[1]
                }
                types = ""; suites = ""; uris = ""
            }
            /^[ \t]*$/ { flush(); next }
            tolower($1) == "types:"  { $1 = ""; types = $0 }
            tolower($1) == "suites:" { $1 = ""; suites = $0 " " }
            tolower($1) == "uris:"   { $1 = ""; sub(/^ +/, ""); uris = $0 }
            END { flush(); if (out != "") print out }
        ' "${f}")"
        [[ -n ${uri} ]] && break
    done
    if [[ -z ${uri} ]]; then
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [[ -r ${f} ]] || continue
            uri="$(awk '
                $1 == "deb" {
                    i = 2
                    if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
                    if ($i !~ /security/ && $(i+1) !~ /-/) { print $i; exit }
                }' "${f}")"
            [[ -n ${uri} ]] && break
        done
    fi
    printf '%s\n' "${uri:-http://deb.debian.org/debian}" | sed 's:/*$::'
}

# ---------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------

setup_private_apt() {
    local apt_dir="$1" mirror="$2" keyring_opt="" f
    mkdir -p "${apt_dir}/lists/partial" "${apt_dir}/cache/archives/partial" \
        "${apt_dir}/sources.list.d" "${apt_dir}/preferences.d" "${apt_dir}/apt.conf.d"
    if [[ -r /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
        keyring_opt="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
    fi
    cat >"${apt_dir}/sources.list" <<EOF
deb ${keyring_opt}${mirror} ${DEB_SUITE} main
deb-src ${keyring_opt}${mirror} ${DEB_SUITE} main
EOF
    # Keep the system's apt.conf.d settings (proxies, Check-Valid-Until, ...)
    # but neutralize hooks and extra index downloads in a last-read file.
    rm -f "${apt_dir}/apt.conf.d/"*
    for f in /etc/apt/apt.conf.d/*; do
        [[ -f ${f} ]] && cp "${f}" "${apt_dir}/apt.conf.d/"
    done
    cat >"${apt_dir}/apt.conf.d/zzzz-dpuflow" <<'EOF'
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Post-Invoke;
#clear DPkg::Pre-Install-Pkgs;
Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled "false";
Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";
Acquire::Languages "none";
Acquire::Retries "3";
EOF
    {
        printf 'Dir::Etc::SourceList "%s";\n' "${apt_dir}/sources.list"
        printf 'Dir::Etc::SourceParts "%s";\n' "${apt_dir}/sources.list.d"
        printf 'Dir::Etc::Preferences "%s";\n' "${apt_dir}/preferences"
        printf 'Dir::Etc::PreferencesParts "%s";\n' "${apt_dir}/preferences.d"
        printf 'Dir::Etc::parts "%s";\n' "${apt_dir}/apt.conf.d"
        printf 'Dir::State::Lists "%s";\n' "${apt_dir}/lists"
        printf 'Dir::Cache "%s";\n' "${apt_dir}/cache"
        printf 'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
        if [[ ${EUID} -eq 0 ]]; then
            # private dirs under $HOME are not readable by the _apt user
            printf 'APT::Sandbox::User "root";\n'
        fi
    } >"${apt_dir}/apt.conf"
}

# Unpacked Go root may contain absolute symlinks into /usr/share/go-1.19
# (Debian splits GOROOT between golang-1.19-go and golang-1.19-src):
# repoint them into the unpacked tree.
fix_goroot_links() {
    local root="$1" goroot="$2" l target
    for l in "${goroot}"/*; do
        [[ -L ${l} ]] || continue
        target="$(readlink "${l}")"
        if [[ ${target} == /* ]]; then
            ln -sfn "${root}${target}" "${l}"
        fi
    done
}

# Make an `rsync` usable by the kubernetes build scripts: the system one, or
# the unpacked Debian one with its libpopt0 next to it.
setup_rsync() {
    local root="$1" tools="$2" popt_dir
    mkdir -p "${tools}"
    if command -v rsync >/dev/null 2>&1; then
        return 0
    fi
    [[ -x ${root}/usr/bin/rsync ]] || die "unpacked rsync missing in ${root}"
    popt_dir="$(dirname "$(find "${root}/usr/lib" "${root}/lib" -name 'libpopt.so.0*' 2>/dev/null | head -n1)")"
    cat >"${tools}/rsync" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="${popt_dir}\${LD_LIBRARY_PATH:+:\${LD_LIBRARY_PATH}}" exec "${root}/usr/bin/rsync" "\$@"
EOF
    chmod +x "${tools}/rsync"
    "${tools}/rsync" --version >/dev/null || die "unpacked rsync does not run"
}

do_build() {
    mkdir -p "${KUBE_CACHE}"
    if binaries_ok; then
        log "kube-apiserver and etcd already built in ${BIN_DIR}"
        return 0
    fi
    # One build at a time per cache dir.
    need_cmd flock util-linux
    exec 9>"${KUBE_CACHE}/.build.lock"
    if ! flock -n 9; then
        log "another build holds ${KUBE_CACHE}/.build.lock; waiting"
        flock 9
    fi
    if binaries_ok; then
        log "kube-apiserver and etcd were built by a concurrent run"
        exec 9>&-
        return 0
    fi

    local t0=${SECONDS}
    need_cmd apt-get apt
    need_cmd dpkg-source dpkg-dev
    need_cmd make make
    need_cmd xz xz-utils
    need_cmd find findutils

    local avail_kb
    avail_kb="$(df -Pk "${KUBE_CACHE}" | awk 'NR == 2 { print $4 }')"
    if [[ -n ${avail_kb} && ${avail_kb} -lt 4000000 ]]; then
        die "need about 4 GB free under ${KUBE_CACHE} for the build (have $((avail_kb / 1024)) MB)"
    fi

    local apt_dir="${WORK_DIR}/apt" debs_dir="${WORK_DIR}/debs"
    local root="${WORK_DIR}/root" src_dir="${WORK_DIR}/src" tools="${WORK_DIR}/tools"
    local tree="${WORK_DIR}/src/kubernetes"
    mkdir -p "${WORK_DIR}" "${debs_dir}" "${root}" "${src_dir}"
    log "build work dir: ${WORK_DIR}"

    local mirror
    mirror="$(debian_mirror)"
    setup_private_apt "${apt_dir}" "${mirror}"
    export APT_CONFIG="${apt_dir}/apt.conf"

    # 1. package indexes (private)
    if [[ ! -e ${WORK_DIR}/.stamp-apt-update ]]; then
        log "step 1/6: apt-get update (private lists, deb + deb-src ${DEB_SUITE} main from ${mirror})"
        apt-get -q -o Debug::NoLocking=1 update >"${WORK_DIR}/apt-update.log" 2>&1 || {
            tail -n 20 "${WORK_DIR}/apt-update.log" >&2
            die "apt-get update with the private APT config failed (log: ${WORK_DIR}/apt-update.log)"
        }
        touch "${WORK_DIR}/.stamp-apt-update"
    else
        log "step 1/6: package indexes already downloaded"
    fi

    # 2. build tool + etcd .debs, unpacked without installing
    if [[ ! -e ${WORK_DIR}/.stamp-debs ]]; then
        log "step 2/6: downloading and unpacking ${BUILD_DEBS[*]}"
        rm -f "${debs_dir}"/*.deb
        (cd "${debs_dir}" && apt-get -q -o Debug::NoLocking=1 download "${BUILD_DEBS[@]}") \
            >"${WORK_DIR}/apt-download.log" 2>&1 || {
            tail -n 20 "${WORK_DIR}/apt-download.log" >&2
            die "apt-get download failed (log: ${WORK_DIR}/apt-download.log)"
        }
        rm -rf "${root}"
        mkdir -p "${root}"
        local deb
        for deb in "${debs_dir}"/*.deb; do
            dpkg -x "${deb}" "${root}" || die "dpkg -x ${deb} failed"
        done
        touch "${WORK_DIR}/.stamp-debs"
    else
        log "step 2/6: build tools already unpacked"
    fi
    local goroot="${root}/usr/lib/${GO_VERSION_DIR}"
    fix_goroot_links "${root}" "${goroot}"
    [[ -x ${goroot}/bin/go ]] || die "Go toolchain missing at ${goroot}"
    "${goroot}/bin/go" version >/dev/null 2>&1 ||
        GOROOT="${goroot}" "${goroot}/bin/go" version ||
        die "unpacked Go toolchain does not run"
    [[ -x ${root}/usr/bin/etcd ]] || die "etcd missing in unpacked etcd-server"
    setup_rsync "${root}" "${tools}"

    # 3. kubernetes source package
    if [[ ! -e ${WORK_DIR}/.stamp-source ]]; then
        log "step 3/6: apt-get source --download-only ${KUBE_SRC_PKG} + dpkg-source -x"
        rm -rf "${src_dir}"
        mkdir -p "${src_dir}"
        (cd "${src_dir}" && apt-get -q -o Debug::NoLocking=1 source --download-only "${KUBE_SRC_PKG}") \
            >"${WORK_DIR}/apt-source.log" 2>&1 || {
            tail -n 20 "${WORK_DIR}/apt-source.log" >&2
            die "apt-get source failed (log: ${WORK_DIR}/apt-source.log)"
        }
        local dsc
        dsc="$(find "${src_dir}" -maxdepth 1 -name "${KUBE_SRC_PKG}_*.dsc" | head -n1)"
        [[ -n ${dsc} ]] || die "no ${KUBE_SRC_PKG}_*.dsc downloaded"
        (cd "${src_dir}" && dpkg-source -x "${dsc}" "${tree}") \
            >"${WORK_DIR}/dpkg-source.log" 2>&1 || {
            tail -n 20 "${WORK_DIR}/dpkg-source.log" >&2
            die "dpkg-source -x failed (log: ${WORK_DIR}/dpkg-source.log)"
        }
        # the tarballs are no longer needed
        find "${src_dir}" -maxdepth 1 -type f -delete
        [[ -d ${tree}/vendor && -f ${tree}/Makefile ]] ||
            die "unexpected source layout in ${tree} (no vendor/ or Makefile)"
        touch "${WORK_DIR}/.stamp-source"
    else
        log "step 3/6: kubernetes source already unpacked"
    fi

    # 4. source fix: vendored reflect2 1.0.1 crashes with Go >= 1.18
    local r2_vendor="${tree}/vendor/github.com/modern-go/reflect2"
    local r2_debian="${root}/usr/share/gocode/src/github.com/modern-go/reflect2"
    if [[ ! -e ${WORK_DIR}/.stamp-reflect2 ]]; then
        log "step 4/6: replacing vendor/github.com/modern-go/reflect2 with Debian's 1.0.2"
        [[ -d ${r2_vendor} && -d ${r2_debian} ]] || die "reflect2 dirs missing (${r2_vendor}, ${r2_debian})"
        find "${r2_vendor}" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) -delete
        find "${r2_debian}" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) ! -name '*_test.go' \
            -exec cp {} "${r2_vendor}/" \;
        touch "${WORK_DIR}/.stamp-reflect2"
    else
        log "step 4/6: reflect2 already replaced"
    fi

    # 5. build
    local upstream_version srcver
    srcver="$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "${tree}/debian/changelog" 2>/dev/null || true)"
    upstream_version="${srcver#*really}"
    upstream_version="${upstream_version%%-*}"
    upstream_version="${upstream_version%%+*}"
    [[ ${upstream_version} =~ ^1\.20\.[0-9]+$ ]] ||
        warn "unexpected kubernetes source version '${srcver}' (expected 1.20.x)"
    # Version stamping: the Debian tree is a `git archive` export whose
    # hack/lib/version.sh carries the expanded tag/commit. Only when that is
    # missing, feed the version from debian/changelog through a version file.
    local version_file=""
    if ! grep -q "^ *KUBE_GIT_COMMIT='[0-9a-f]\{40\}'" "${tree}/hack/lib/version.sh"; then
        version_file="${WORK_DIR}/kube-version.env"
        cat >"${version_file}" <<EOF
KUBE_GIT_COMMIT=''
KUBE_GIT_TREE_STATE='archive'
KUBE_GIT_VERSION='v${upstream_version}'
KUBE_GIT_MAJOR='${upstream_version%%.*}'
KUBE_GIT_MINOR='$(cut -d. -f2 <<<"${upstream_version}")'
EOF
    fi
    mkdir -p "${tree}/.go/src/k8s.io"
    ln -sfn "${tree}" "${tree}/.go/src/k8s.io/kubernetes"
    log "step 5/6: make WHAT=cmd/kube-apiserver (kubernetes ${srcver}; takes ~5-10 min on 2 cores; log: ${WORK_DIR}/make.log)"
    local rc=0
    (
        cd "${tree}/.go/src/k8s.io/kubernetes"
        export GOROOT="${goroot}"
        export PATH="${tools}:${goroot}/bin:${PATH}"
        export GOPATH="${tree}/.go"
        export GOCACHE="${WORK_DIR}/go-build-cache"
        export GOPROXY=off GOFLAGS=-mod=vendor CGO_ENABLED=0 GO111MODULE=on
        export GOTOOLCHAIN=local GOTELEMETRY=off
        if [[ -n ${version_file} ]]; then
            export KUBE_GIT_VERSION_FILE="${version_file}"
        fi
        unset GOBIN
        make WHAT=cmd/kube-apiserver
    ) >"${WORK_DIR}/make.log" 2>&1 &
    local make_pid=$!
    local ticks=0
    while kill -0 "${make_pid}" 2>/dev/null; do
        sleep 1
        if ((++ticks % 30 == 0)) && kill -0 "${make_pid}" 2>/dev/null; then
            log "  ... still building ($((SECONDS - t0)) s elapsed): $(tail -n 1 "${WORK_DIR}/make.log" | cut -c1-120)"
        fi
    done
    wait "${make_pid}" || rc=$?
    if [[ ${rc} -ne 0 ]]; then
        tail -n 40 "${WORK_DIR}/make.log" >&2
        die "kubernetes build failed (rc ${rc}; full log: ${WORK_DIR}/make.log; rerun 'build' to retry, downloads are kept)"
    fi
    local built
    built="$(find "${tree}/_output" -type f -name kube-apiserver -path '*/bin/*' 2>/dev/null | head -n1)"
    [[ -n ${built} && -x ${built} ]] || die "build finished but no kube-apiserver binary under ${tree}/_output"

    # 6. install binaries into the cache
    log "step 6/6: installing binaries into ${BIN_DIR}"
    mkdir -p "${BIN_DIR}"
    cp "${built}" "${BIN_DIR}/.kube-apiserver.tmp"
    cp "${root}/usr/bin/etcd" "${BIN_DIR}/.etcd.tmp"
    chmod 0755 "${BIN_DIR}/.kube-apiserver.tmp" "${BIN_DIR}/.etcd.tmp"
    mv -f "${BIN_DIR}/.kube-apiserver.tmp" "${KUBE_APISERVER_BIN}"
    mv -f "${BIN_DIR}/.etcd.tmp" "${ETCD_BIN}"
    {
        echo "kubernetes source package: ${srcver}"
        echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - t0)) s"
        echo "kube-apiserver: $("${KUBE_APISERVER_BIN}" --version 2>&1)"
        echo "etcd: $("${ETCD_BIN}" --version 2>&1 | head -n1)"
        echo "debs: $(find "${debs_dir}" -maxdepth 1 -name '*.deb' -printf '%f\n' | sort | tr '\n' ' ')"
    } >"${BIN_DIR}/BUILD-INFO"
    binaries_ok || die "installed binaries do not run (${BIN_DIR})"
    if [[ ${DPUFLOW_KUBE_KEEP_WORK:-0} != 1 ]]; then
        log "removing work dir ${WORK_DIR}"
        rm -rf "${WORK_DIR}"
    fi
    exec 9>&- # release the build lock (servers started later must not inherit it)
    log "build done in $((SECONDS - t0)) s: $("${KUBE_APISERVER_BIN}" --version 2>&1), $("${ETCD_BIN}" --version 2>&1 | head -n1)"
}

# ---------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------

# proc_state PID: one-letter process state (R, S, Z, ...), empty if gone
proc_state() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null || true)"
    [[ -n ${stat} ]] || return 0
    stat="${stat##*) }"
    printf '%s\n' "${stat%% *}"
}

# pid_alive PIDFILE NAME: the pid in PIDFILE is a live (non-zombie) process
# running binary NAME (guards against pid reuse)
pid_alive() {
    local pidfile="$1" name="$2" pid exe state
    [[ -s ${pidfile} ]] || return 1
    pid="$(<"${pidfile}")"
    [[ ${pid} =~ ^[0-9]+$ ]] || return 1
    kill -0 "${pid}" 2>/dev/null || return 1
    state="$(proc_state "${pid}")"
    [[ -n ${state} && ${state} != Z && ${state} != X ]] || return 1
    exe="$(readlink "/proc/${pid}/exe" 2>/dev/null || true)"
    [[ -z ${exe} || ${exe} == *"/${name}" || ${exe} == *"/${name} (deleted)" ]]
}

# stop_pid PIDFILE NAME: SIGTERM, wait up to 20 s, then SIGKILL; wait for exit
stop_pid() {
    local pidfile="$1" name="$2" pid i
    if ! pid_alive "${pidfile}" "${name}"; then
        rm -f "${pidfile}"
        return 0
    fi
    pid="$(<"${pidfile}")"
    log "stopping ${name} (pid ${pid})"
    kill -TERM "${pid}" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        kill -0 "${pid}" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "${pid}" 2>/dev/null; then
        warn "${name} (pid ${pid}) did not exit after SIGTERM; sending SIGKILL"
        kill -KILL "${pid}" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "${pid}" 2>/dev/null || break
            sleep 0.1
        done
    fi
    kill -0 "${pid}" 2>/dev/null && die "${name} (pid ${pid}) is still running"
    rm -f "${pidfile}"
}

# free_ports N: print N distinct currently free TCP ports on 127.0.0.1
free_ports() {
    local n="$1"
    if command -v python3 >/dev/null 2>&1 &&
        python3 - "${n}" <<'EOF' 2>/dev/null; then
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
        return 0
    fi
    # fallback: random high ports that nothing answers on
    local ports=() p tries=0
    while ((${#ports[@]} < n)); do
        ((tries++ < 1000)) || die "could not find free ports"
        p=$((20000 + RANDOM % 30000))
        [[ " ${ports[*]} " == *" ${p} "* ]] && continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/${p}") 2>/dev/null; then
            ports+=("${p}")
        fi
    done
    echo "${ports[*]}"
}

state_abs() {
    local dir="$1"
    [[ -n ${dir} ]] || die "missing <state-dir>"
    mkdir -p "${dir}"
    (cd "${dir}" && pwd -P)
}

# launch PIDFILE LOG CMD...: start CMD detached (own session), record its pid
launch() {
    local pidfile="$1" logfile="$2"
    shift 2
    local bin pid i exe
    bin="$(readlink -f "$1")"
    setsid "$@" </dev/null >>"${logfile}" 2>&1 9>&- &
    pid=$!
    # wait until setsid has exec'ed the server (same pid), so that pid_alive
    # sees the server binary and not setsid
    for ((i = 0; i < 100; i++)); do
        exe="$(readlink "/proc/${pid}/exe" 2>/dev/null || true)"
        [[ -z ${exe} || ${exe} == "${bin}" || ${exe} == "${bin} (deleted)" ]] && break
        sleep 0.02
    done
    echo "${pid}" >"${pidfile}"
}

wait_etcd() {
    local state="$1" port="$2" i
    for ((i = 0; i < ETCD_TIMEOUT * 5; i++)); do
        if ! pid_alive "${state}/etcd.pid" etcd; then
            tail -n 30 "${state}/etcd.log" >&2 || true
            die "etcd exited during startup (log: ${state}/etcd.log)"
        fi
        if curl -fsS --max-time 2 "http://127.0.0.1:${port}/health" 2>/dev/null | grep -q '"health":"true"'; then
            return 0
        fi
        sleep 0.2
    done
    tail -n 30 "${state}/etcd.log" >&2 || true
    die "etcd not healthy after ${ETCD_TIMEOUT} s (log: ${state}/etcd.log)"
}

start_apiserver() {
    local state="$1" args=()
    mapfile -t args <"${state}/apiserver.args"
    {
        echo "---- $(date -u +%Y-%m-%dT%H:%M:%SZ) starting kube-apiserver"
    } >>"${state}/apiserver.log"
    launch "${state}/apiserver.pid" "${state}/apiserver.log" "${KUBE_APISERVER_BIN}" "${args[@]}"
}

wait_apiserver_ready() {
    local state="$1" port token i body
    # shellcheck source=/dev/null
    port="$(. "${state}/ports.env" && echo "${APISERVER_PORT}")"
    token="$(<"${state}/admin.token")"
    for ((i = 0; i < READY_TIMEOUT * 4; i++)); do
        if ! pid_alive "${state}/apiserver.pid" kube-apiserver; then
            tail -n 30 "${state}/apiserver.log" >&2 || true
            die "kube-apiserver exited during startup (log: ${state}/apiserver.log)"
        fi
        if [[ ! -s ${state}/ca.crt && -s ${state}/pki/apiserver.crt ]]; then
            cp "${state}/pki/apiserver.crt" "${state}/ca.crt.tmp"
            mv -f "${state}/ca.crt.tmp" "${state}/ca.crt"
        fi
        if [[ -s ${state}/ca.crt ]]; then
            body="$(curl -sS --max-time 3 --cacert "${state}/ca.crt" \
                -H "Authorization: Bearer ${token}" \
                "https://127.0.0.1:${port}/readyz" 2>/dev/null || true)"
            if [[ ${body} == ok ]]; then
                return 0
            fi
        fi
        sleep 0.25
    done
    tail -n 30 "${state}/apiserver.log" >&2 || true
    die "kube-apiserver not ready after ${READY_TIMEOUT} s (log: ${state}/apiserver.log; last /readyz: ${body:-none})"
}

write_kubeconfig() {
    local state="$1" url="$2" token ca_b64
    token="$(<"${state}/admin.token")"
    ca_b64="$(base64 -w0 <"${state}/ca.crt")"
    umask 077
    cat >"${state}/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: dpuflow-test
  cluster:
    server: ${url}
    certificate-authority-data: ${ca_b64}
users:
- name: admin
  user:
    token: ${token}
contexts:
- name: dpuflow-test
  context:
    cluster: dpuflow-test
    user: admin
    namespace: default
current-context: dpuflow-test
EOF
}

do_start() {
    local state
    state="$(state_abs "${1:-}")"
    need_cmd curl curl
    need_cmd openssl openssl
    need_cmd setsid util-linux
    need_cmd base64 coreutils
    if pid_alive "${state}/apiserver.pid" kube-apiserver || pid_alive "${state}/etcd.pid" etcd; then
        die "already running in ${state} (run: scripts/${PROG} stop ${state})"
    fi
    binaries_ok || {
        log "binaries missing in ${BIN_DIR}; building first"
        do_build
    }

    log "preparing state dir ${state}"
    rm -rf "${state}/etcd-data" "${state}/pki"
    rm -f "${state}/ca.crt" "${state}/server.url" "${state}/kubeconfig" \
        "${state}/etcd.pid" "${state}/apiserver.pid"
    mkdir -p "${state}/pki"
    chmod 700 "${state}/pki"
    : >"${state}/etcd.log"
    : >"${state}/apiserver.log"

    local etcd_port peer_port api_port
    read -r etcd_port peer_port api_port <<<"$(free_ports 3)"
    [[ -n ${api_port} ]] || die "could not pick free ports"
    cat >"${state}/ports.env" <<EOF
ETCD_CLIENT_PORT=${etcd_port}
ETCD_PEER_PORT=${peer_port}
APISERVER_PORT=${api_port}
EOF

    # static tokens: admin (system:masters) and limited (no privileged group)
    local admin_token limited_token
    admin_token="$(openssl rand -hex 24)"
    limited_token="$(openssl rand -hex 24)"
    (
        umask 077
        printf '%s\n' "${admin_token}" >"${state}/admin.token"
        printf '%s\n' "${limited_token}" >"${state}/limited.token"
        {
            printf '%s,admin,uid-admin,"system:masters"\n' "${admin_token}"
            printf '%s,limited,uid-limited\n' "${limited_token}"
        } >"${state}/tokens.csv"
        openssl genrsa -out "${state}/sa.key" 2048 2>/dev/null
        openssl rsa -in "${state}/sa.key" -pubout -out "${state}/sa.pub" 2>/dev/null
    ) || die "could not create tokens / service-account key"

    log "starting etcd on 127.0.0.1:${etcd_port} (peer ${peer_port})"
    launch "${state}/etcd.pid" "${state}/etcd.log" "${ETCD_BIN}" \
        --name default \
        --data-dir "${state}/etcd-data" \
        --listen-client-urls "http://127.0.0.1:${etcd_port}" \
        --advertise-client-urls "http://127.0.0.1:${etcd_port}" \
        --listen-peer-urls "http://127.0.0.1:${peer_port}" \
        --initial-advertise-peer-urls "http://127.0.0.1:${peer_port}" \
        --initial-cluster "default=http://127.0.0.1:${peer_port}" \
        --initial-cluster-state new \
        --logger zap --log-outputs stderr
    wait_etcd "${state}" "${etcd_port}"

    # one argument per line; reused verbatim by restart-apiserver
    cat >"${state}/apiserver.args" <<EOF
--etcd-servers=http://127.0.0.1:${etcd_port}
--bind-address=127.0.0.1
--advertise-address=127.0.0.1
--secure-port=${api_port}
--insecure-port=0
--cert-dir=${state}/pki
--token-auth-file=${state}/tokens.csv
--authorization-mode=RBAC
--service-cluster-ip-range=10.96.0.0/16
--service-account-issuer=https://kubernetes.default.svc.cluster.local
--service-account-key-file=${state}/sa.pub
--service-account-signing-key-file=${state}/sa.key
--disable-admission-plugins=ServiceAccount
--endpoint-reconciler-type=none
--allow-privileged=true
--profiling=false
EOF
    log "starting kube-apiserver on https://127.0.0.1:${api_port}"
    start_apiserver "${state}"
    wait_apiserver_ready "${state}"
    printf 'https://127.0.0.1:%s\n' "${api_port}" >"${state}/server.url"
    write_kubeconfig "${state}" "https://127.0.0.1:${api_port}"
    log "ready: $(<"${state}/server.url") (state: ${state}; etcd pid $(<"${state}/etcd.pid"), kube-apiserver pid $(<"${state}/apiserver.pid"))"
}

do_stop() {
    local state
    [[ -n ${1:-} ]] || die "missing <state-dir>"
    [[ -d $1 ]] || {
        log "no state dir $1; nothing to stop"
        return 0
    }
    state="$(state_abs "$1")"
    stop_pid "${state}/apiserver.pid" kube-apiserver
    stop_pid "${state}/etcd.pid" etcd
    log "stopped (state: ${state})"
}

do_restart_apiserver() {
    local state
    [[ -n ${1:-} && -d $1 ]] || die "missing or nonexistent <state-dir>"
    state="$(state_abs "$1")"
    [[ -s ${state}/apiserver.args && -s ${state}/ports.env ]] ||
        die "${state} was not set up by 'start'"
    pid_alive "${state}/etcd.pid" etcd || die "etcd is not running in ${state}; use 'start'"
    binaries_ok || die "binaries missing in ${BIN_DIR}"
    stop_pid "${state}/apiserver.pid" kube-apiserver
    log "restarting kube-apiserver at $(<"${state}/server.url")"
    start_apiserver "${state}"
    wait_apiserver_ready "${state}"
    cmp -s "${state}/pki/apiserver.crt" "${state}/ca.crt" ||
        warn "serving certificate changed across restart"
    log "ready again: $(<"${state}/server.url") (kube-apiserver pid $(<"${state}/apiserver.pid"))"
}

do_status() {
    local state
    [[ -n ${1:-} && -d $1 ]] || die "missing or nonexistent <state-dir>"
    state="$(state_abs "$1")"
    local rc=0
    if pid_alive "${state}/etcd.pid" etcd; then
        echo "etcd: running (pid $(<"${state}/etcd.pid"))"
    else
        echo "etcd: not running"
        rc=1
    fi
    if pid_alive "${state}/apiserver.pid" kube-apiserver; then
        echo "kube-apiserver: running (pid $(<"${state}/apiserver.pid")) at $(cat "${state}/server.url" 2>/dev/null)"
    else
        echo "kube-apiserver: not running"
        rc=1
    fi
    return "${rc}"
}

main() {
    local cmd="${1:-}"
    shift || true
    case "${cmd}" in
    build) do_build ;;
    start) do_start "$@" ;;
    stop) do_stop "$@" ;;
    restart-apiserver) do_restart_apiserver "$@" ;;
    status) do_status "$@" ;;
    -h | --help | help)
        usage
        ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
}

main "$@"
