#!/bin/sh
# test_install.sh BUILD_DIR [CFLAGS]: install libpupa-protocol into a scratch
# prefix and build tests/install/example.c against it with pkg-config only
# (CFLAGS: the sanitizer flags of a sanitized build, whose library needs them).
set -eu
build=$1
extra=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config missing"; exit 77; }
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib*/ | head -n 1)
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --exists pupa-protocol
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Wextra -Werror $extra -o "$prefix/example" "$here/example.c" \
    $(pkg-config --cflags --libs pupa-protocol)
out=$("$prefix/example")
[ "$out" = "1 frame(s), 24 bytes" ] || { echo "unexpected output: $out"; exit 1; }
test -x "$prefix/bin/pupa" && test -f "$prefix/include/pupa/abi.h" && test -f "$prefix/include/guest.pb.h"
echo "OK: installed and built against pupa-protocol.pc ($out)"
