#!/usr/bin/env bash
# Set-up on a fresh Debian 12 machine: installs the Debian packages norma needs (only
# those missing), builds it in build/, and runs it on a bundled model against the
# outputs PyTorch produced for it.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config libprotobuf-c-dev protobuf-c-compiler
          libcmocka-dev libonnx-dev libonnx-testdata python3
          clang libclang-rt-14-dev valgrind) # the last three: sanitizer/fuzz stage of tools/check.sh
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${NORMA_CMAKE_FLAGS:-} >/dev/null
cmake --build build -j"$(nproc)"

./build/norma test models/resnet
