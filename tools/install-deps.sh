#!/bin/sh
# Install what tl needs to build, test and run its quickstart on Debian 12.
# Runs apt-get as root, through sudo when started by another user. Used by the
# README's first command and by CI.
set -e
if [ "$(id -u)" = 0 ]; then as_root=; else as_root=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get update -qq
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  build-essential autoconf automake libtool pkg-config \
  libglib2.0-dev libxml2-dev libxml2-utils libopenblas-dev zlib1g-dev \
  libopenmpi-dev openmpi-bin \
  dataset-fashion-mnist \
  python3 python3-numpy python3-torch \
  >/dev/null
echo "install-deps: done"
