#!/usr/bin/env bash
# Installs the Debian 12 packages opencv_anomaly needs, skipping those already present.
# Uses sudo when not run as root. Safe to run repeatedly. Extra package names may be given as
# arguments (CI adds clang for the fuzzers).
set -euo pipefail

packages=(
  build-essential cmake pkg-config python3 ca-certificates
  libopencv-dev libopencv-contrib-dev   # runtime module, samples (OpenCV 4.6)
  libtorch-dev libopenblas0-pthread     # training tool; OpenBLAS: ~50x faster matmuls than the reference BLAS
  libonnx-dev libprotobuf-dev           # writing ONNX models
  libgtest-dev                          # tests
  darknet                               # sample photos used by the backbone classification checks
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install_deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install_deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install_deps: done"
