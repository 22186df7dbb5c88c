#!/usr/bin/env bash
# Puts the `bmcemu` command on PATH, so the README's commands work as written
# in any shell: a symlink to this checkout's bin/bmcemu.js, which runs the
# compiled CLI (dist/cli/bmcemu.js; `make build` keeps it current, the link
# never needs redoing). `make run` runs this; `make install-bin` alone.
#
# Where: $BMCEMU_BIN_DIR if set; else /usr/local/bin when writable (as root it
# is); else ~/.local/bin. Idempotent: silent once the link is in place. A
# link to another checkout is repointed, and said so; a file that is not a
# symlink is never replaced.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
target="$root/bin/bmcemu.js"

if [[ -n "${BMCEMU_BIN_DIR:-}" ]]; then
  dir="$BMCEMU_BIN_DIR"
elif [[ -d /usr/local/bin && -w /usr/local/bin ]]; then
  dir=/usr/local/bin
else
  dir="$HOME/.local/bin"
fi
link="$dir/bmcemu"

if [[ -L "$link" && "$(readlink "$link")" == "$target" ]]; then
  : # already there
elif [[ -L "$link" ]]; then
  previous="$(readlink "$link")"
  ln -sfn "$target" "$link"
  echo "==> bmcemu command: $link now points at this checkout ($target; it pointed at $previous)"
elif [[ -e "$link" ]]; then
  echo "==> bmcemu command: $link exists and is not a symlink; left alone (this checkout's CLI: node $root/dist/cli/bmcemu.js)" >&2
  exit 0
else
  mkdir -p "$dir"
  ln -s "$target" "$link"
  echo "==> bmcemu command: installed $link -> $target"
fi

# Said every time until it is fixed: the README's `bmcemu ...` fails without it.
case ":$PATH:" in
  *":$dir:"*)
    found="$(command -v bmcemu || true)"
    if [[ -n "$found" && "$found" != "$link" ]]; then
      echo "==> bmcemu command: note: $found comes before $link on your PATH" >&2
    fi
    ;;
  *) echo "==> bmcemu command: $dir is not on your PATH; add it (export PATH=\"$dir:\$PATH\") or run $link" >&2 ;;
esac
