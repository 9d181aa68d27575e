#!/bin/sh
# make-kit.sh — prepare .gpu-kit/ for tests/gpu/check.sh on a GPU machine
# that has CUDA and PyTorch but none of tl's build dependencies and no
# package registry (this project's lent device machines). Run it here, on a
# Debian 12 machine with apt and autotools, at the repository root:
#
#     sh tests/gpu/make-kit.sh
#
# It writes .gpu-kit/ (ignored by git; about 30 MB):
#   debs/      the Debian 12 packages of GLib, libxml2, OpenBLAS, zlib and
#              pkgconf with the runtime libraries they need (apt-get download;
#              never installed: check.sh unpacks them into its build directory)
#   autotools/ configure, Makefile.in, aclocal.m4, config.h.in, build-aux/,
#              m4/ as ./autogen.sh generates them (the GPU machine has no
#              autotools)
# Then carry `.gpu-kit` to the GPU machine and run `bash tests/gpu/check.sh`.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
kit=$root/.gpu-kit
rm -rf "$kit"
mkdir -p "$kit/debs" "$kit/autotools"
[ -x "$root/configure" ] && [ -f "$root/Makefile.in" ] || (cd "$root" && ./autogen.sh)
(cd "$root" && cp -a configure Makefile.in aclocal.m4 config.h.in build-aux m4 "$kit/autotools/")
cd "$kit/debs"
apt-get download \
  libglib2.0-dev libglib2.0-0 libpcre2-dev libpcre2-8-0 \
  libxml2-dev libxml2 libicu72 liblzma5 liblzma-dev \
  libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libgfortran5 libgomp1 \
  zlib1g-dev zlib1g \
  pkgconf pkgconf-bin libpkgconf3 pkg-config
du -sh "$kit"
