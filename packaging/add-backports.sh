#!/usr/bin/env bash
# Adds Debian's bookworm-backports suite to apt's sources (Mesa's lavapipe for the WebGPU tests comes
# from there), on the mirror this machine's apt already uses for bookworm: the repository names no
# mirror. Does nothing when a backports source exists. Needs root.
set -euo pipefail
dest=/etc/apt/sources.list.d/backports.sources
if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then exit 0; fi
uri=""
# deb822 files: the URIs of the first stanza whose Suites has plain bookworm
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  uri=$(awk 'BEGIN { RS = "" } /(^|\n)Suites:[^\n]*bookworm([ \t]|\n|$)/ && !/Suites:[^\n]*security/ {
    n = split($0, line, "\n"); for (i = 1; i <= n; i++) if (line[i] ~ /^URIs:/) { split(line[i], w, /[ \t]+/); print w[2]; exit } }' "$f")
  [ -n "$uri" ] && break
done
# one-line sources: deb [options] URI bookworm components
if [ -z "$uri" ]; then
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -E 's/\[[^]]*\]//' | awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }')
fi
if [ -z "$uri" ]; then
  echo "add-backports: no bookworm source in /etc/apt to take the mirror from; add bookworm-backports to apt's sources by hand" >&2
  exit 1
fi
printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" > "$dest"
echo "add-backports: bookworm-backports from $uri ($dest)"
