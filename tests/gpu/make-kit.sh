#!/bin/sh
# make-kit.sh — prepare .gpu-kit/ for tests/gpu/check.sh on a GPU machine
# that has CUDA and PyTorch but none of tl's build dependencies and no
# package registry (this project's lent device machines). Run it here, on a
# Debian 12 machine with apt and autotools, at the repository root:
#
#     sh tests/gpu/make-kit.sh
#
# It writes .gpu-kit/ (ignored by git; about 47 MB):
#   debs/      the Debian 12 packages of GLib, libxml2, OpenBLAS, zlib and
#              pkgconf with the runtime libraries they need, and the ICU
#              headers that libxml2's include (apt-get download;
#              never installed: check.sh unpacks them into its build directory)
#   mpi-debs/  Open MPI 4.1 (libopenmpi-dev, libopenmpi3, openmpi-bin,
#              openmpi-common) with its PMIx, hwloc, libevent and the
#              transport libraries its components link (libfabric, UCX,
#              verbs, PSM; about 7 MB): check.sh unpacks them apart, relocates
#              and validates them, only where the machine has no usable Open
#              MPI of its own
#   autotools/ configure, Makefile.in, aclocal.m4, config.h.in, build-aux/,
#              m4/ as ./autogen.sh generates them (the GPU machine has no
#              autotools)
# Then carry `.gpu-kit` to the GPU machine and run `bash tests/gpu/check.sh`.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
kit=$root/.gpu-kit
rm -rf "$kit"
mkdir -p "$kit/debs" "$kit/mpi-debs" "$kit/autotools"
# regenerate the autotools files when missing or older than their sources
stale=$(cd "$root" && { [ -x configure ] && [ -f Makefile.in ] || echo missing; } &&
        find . -path ./.gpu-kit -prune -o \( -name '*.mk' -o -name Makefile.am -o -name configure.ac \) \
          -newer Makefile.in -print 2>/dev/null | head -n 1)
[ -z "$stale" ] || (cd "$root" && ./autogen.sh)
# what the kit was made from (the GPU machine's copy of .git may be stale)
(cd "$root" && printf '%s%s\n' "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
   "$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo ' + uncommitted changes')") \
  >"$kit/source.txt"
(cd "$root" && cp -a configure Makefile.in aclocal.m4 config.h.in build-aux m4 "$kit/autotools/")
cd "$kit/debs"
apt-get download \
  libglib2.0-dev libglib2.0-0 libpcre2-dev libpcre2-8-0 \
  libxml2-dev libxml2 libicu72 libicu-dev liblzma5 liblzma-dev \
  libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libgfortran5 libgomp1 \
  zlib1g-dev zlib1g \
  pkgconf pkgconf-bin libpkgconf3 pkg-config
# Open MPI, relocated by check.sh (OPAL_PREFIX, PMIX_PREFIX): the libraries,
# mpirun/orted, the headers and ompi-c.pc, and what its components link
# (not libhwloc-plugins: hwloc runs without its X11/NVCtrl/OpenCL plugins;
# not ibverbs-providers: no InfiniBand is used, btl self,vader only)
cd "$kit/mpi-debs"
apt-get download \
  libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common \
  libpmix2 libhwloc15 libevent-core-2.1-7 libevent-pthreads-2.1-7 \
  libfabric1 libucx0 libibverbs1 librdmacm1 libnl-3-200 libnl-route-3-200 \
  libpsm2-2 libpsm-infinipath1 libnuma1 libatomic1 libmunge2 libudev1
du -sh "$kit"
