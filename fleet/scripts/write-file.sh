#!/bin/sh
# Writes standard input to a file atomically (temporary file + rename) with the given mode.
# The content arrives on stdin, never on a command line, so secrets stay out of process lists,
# shell history and Pulumi's record of the command.
#   AF_PATH  destination file
#   AF_MODE  octal mode, e.g. 0600 or 0755
#   AF_DIR_MODE  mode of the parent directory when it has to be created (default 0755)
set -eu
: "${AF_PATH:?AF_PATH is required}"
: "${AF_MODE:?AF_MODE is required}"
umask 077
dir=$(dirname "$AF_PATH")
if [ ! -d "$dir" ]; then
  install -d -m "${AF_DIR_MODE:-0755}" "$dir"
fi
tmp="$AF_PATH.tmp.$$"
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
chmod "$AF_MODE" "$tmp"
mv "$tmp" "$AF_PATH"
trap - EXIT
echo "wrote $AF_PATH"
