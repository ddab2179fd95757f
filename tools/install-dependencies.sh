#!/usr/bin/env bash
# Installs the Debian packages onnxrun builds against, when missing (needs root or sudo; apt-get only).
set -euo pipefail
needed=()
for package in libprotobuf-c-dev libjpeg62-turbo-dev libpng-dev pkg-config; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || needed+=("$package")
done
[ ${#needed[@]} -eq 0 ] && exit 0
echo "installing ${needed[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${needed[@]}" >/dev/null
