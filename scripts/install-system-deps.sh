#!/usr/bin/env bash
# Installs the Debian packages bmcemu needs on the machine itself (not the
# npm ones), only those that are missing. Idempotent and fast when everything
# is present: one dpkg-query, no apt, no network.
#
#   scripts/install-system-deps.sh          install what is missing
#   scripts/install-system-deps.sh --check  only report; exit 1 if something is missing
#   scripts/install-system-deps.sh --test   also what the tests need (make test)
#
# What and why:
#   qemu-system-x86  the x86_64 host machine (brings SeaBIOS, iPXE ROMs, 9p/virtfs)
#   util-linux       setpriv --pdeathsig: QEMU dies with bmcemu even on kill -9
#   dpkg             dpkg-deb unpacks the guest kernel and busybox packages
#   apt              apt-get download fetches them (images/ builds the guest image)
#   ipmitool         the IPMI client: the guest runs it from the machine's root
#                    (mounted read-only over 9p) against the BMC through
#                    /dev/ipmi0, and users run it against the LAN channel
# and, with --test:
#   chromium         the headless browser the dashboard test drives (playwright-core
#                    launches /usr/bin/chromium; it never downloads a browser)
#   fonts-dejavu-core  a font for it, so the screenshot check sees real glyphs
#   openipmi         ipmi_sim, the reference BMC the IPMI benchmark runs beside bmcemu
#   socat            a pty at a fixed path relayed to a socket: the serial-device tests'
#                    stand-in for a cable (bmcemu run --mctp-serial)
# The guest image needs no host tools beyond these: images/ writes the cpio
# archive and gzips it in TypeScript, and the kernel and busybox packages are
# downloaded by apt-get into bmcemu's cache (they are not installed).
#
# Environment: BMCEMU_SKIP_SYSTEM_DEPS=1 skips everything (for machines whose
# packages are managed elsewhere).
set -euo pipefail

PACKAGES=(qemu-system-x86 util-linux dpkg apt ipmitool)

say() { printf 'install-system-deps: %s\n' "$*"; }
die() { printf 'install-system-deps: ERROR: %s\n' "$*" >&2; exit 1; }

check_only=0
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    --test) PACKAGES+=(chromium fonts-dejavu-core openipmi socat) ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$arg' (use --check, --test, or no option)" ;;
  esac
done

if [ "${BMCEMU_SKIP_SYSTEM_DEPS:-}" = 1 ]; then
  say "BMCEMU_SKIP_SYSTEM_DEPS=1: not checking Debian packages"
  exit 0
fi

command -v dpkg-query >/dev/null 2>&1 \
  || die "dpkg-query not found: bmcemu expects a Debian (bookworm) or Debian-based machine. Install by hand: ${PACKAGES[*]}"

# One dpkg-query for all packages. Unknown packages print nothing for their
# name (and an error we discard), so compare against the list.
installed=$({ dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true; } | awk '$2 == "installed" { print $1 }')
missing=()
for p in "${PACKAGES[@]}"; do
  grep -qxF "$p" <<<"$installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  [ "$check_only" = 1 ] && say "all present: ${PACKAGES[*]}"
  exit 0
fi

if [ "$check_only" = 1 ]; then
  say "missing: ${missing[*]} (run scripts/install-system-deps.sh as root, or: sudo apt-get install ${missing[*]})"
  exit 1
fi

say "missing Debian packages: ${missing[*]}"

# Root for apt: as root directly, else passwordless sudo, else tell the user.
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    die "installing ${missing[*]} needs root. Run: sudo apt-get update && sudo apt-get install --no-install-recommends ${missing[*]}"
  fi
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q --no-install-recommends -o Dpkg::Use-Pty=0)

updated=0
apt_update() {
  say "apt-get update"
  if ! "${SUDO[@]}" apt-get update -q >/tmp/bmcemu-apt-update.$$ 2>&1; then
    cat /tmp/bmcemu-apt-update.$$ >&2
    rm -f /tmp/bmcemu-apt-update.$$
    die "apt-get update failed (see above). Check the network/proxy and /etc/apt/sources.list, then run: sudo apt-get update && sudo apt-get install --no-install-recommends ${missing[*]}"
  fi
  rm -f /tmp/bmcemu-apt-update.$$
  updated=1
}

# Update first only when apt does not know a package we want (empty or
# stale lists); otherwise try to install straight away and update only if
# that fails (a stale list pointing at versions the mirror no longer has).
for p in "${missing[@]}"; do
  cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
    apt_update
    break
  fi
done

install() {
  say "apt-get install ${missing[*]}"
  "${SUDO[@]}" apt-get install "${APT_OPTS[@]}" "${missing[@]}"
}

if ! install; then
  [ "$updated" = 1 ] && die "apt-get install ${missing[*]} failed (see above). Fix apt (sudo apt-get update; check /etc/apt/sources.list), then run this script again"
  say "install failed; refreshing the package lists and trying once more"
  apt_update
  install || die "apt-get install ${missing[*]} failed (see above). Fix apt (check /etc/apt/sources.list and the network), then run this script again"
fi

# Verify rather than trust exit codes.
for p in "${missing[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed \
    || die "$p is still not installed after apt-get install"
done
command -v qemu-system-x86_64 >/dev/null 2>&1 || die "qemu-system-x86_64 is not on PATH after installing qemu-system-x86"
say "installed: ${missing[*]}"
