#!/bin/sh
# Install what tl needs to build, test and run its quickstart on Debian 12.
# Run as root (or through sudo). Used by the README's first command and by CI.
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential autoconf automake libtool pkg-config \
  libglib2.0-dev libxml2-dev libxml2-utils libopenblas-dev zlib1g-dev \
  libopenmpi-dev openmpi-bin \
  dataset-fashion-mnist \
  python3 python3-numpy python3-torch \
  >/dev/null
echo "install-deps: done"
