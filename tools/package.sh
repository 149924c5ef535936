#!/usr/bin/env bash
# Builds the Debian package dist/gralarm_<version>_<arch>.deb from a Release build
# (build-pkg/) with Debian's own tools: dpkg-shlibdeps computes the library
# dependencies, dpkg-deb assembles the package. The version is CMakeLists.txt's
# project version; maintainer scripts, conffiles and the control template are in
# packaging/debian/.
#   bash tools/package.sh                      # installs the build dependencies first
#   bash tools/package.sh --no-install-deps    # they are already there (Dockerfile)
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022

install_deps=1
for arg in "$@"; do
  case "$arg" in
    --no-install-deps) install_deps="" ;;
    *) echo "usage: $0 [--no-install-deps]" >&2; exit 2 ;;
  esac
done
[ -z "$install_deps" ] || bash tools/install-deps.sh

build_dir=build-pkg
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DGRALARM_BUILD_TESTS=OFF -DGRALARM_BUILD_BENCH=OFF
cmake --build "$build_dir" --target gralarm --parallel "$(nproc)"

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build_dir/CMakeCache.txt")
arch=$(dpkg --print-architecture)
[ -n "$version" ] || { echo "package.sh: no project version in $build_dir/CMakeCache.txt" >&2; exit 1; }

stage="$PWD/$build_dir/deb-root"
rm -rf "$stage"
DESTDIR="$stage" cmake --install "$build_dir" --strip >/dev/null
install -m 0644 packaging/debian/copyright "$stage/usr/share/doc/gralarm/copyright"

mkdir -p "$stage/DEBIAN"
install -m 0644 packaging/debian/conffiles "$stage/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "packaging/debian/$script" "$stage/DEBIAN/$script"
done
while read -r conffile; do
  [ -f "$stage$conffile" ] || { echo "package.sh: conffile $conffile not installed" >&2; exit 1; }
done < packaging/debian/conffiles

# dpkg-shlibdeps wants a source tree's debian/control beside it.
shlibs_dir="$PWD/$build_dir/shlibdeps"
rm -rf "$shlibs_dir"
mkdir -p "$shlibs_dir/debian"
printf 'Source: gralarm\n\nPackage: gralarm\nArchitecture: any\n' > "$shlibs_dir/debian/control"
shlibs_depends=$(cd "$shlibs_dir" && dpkg-shlibdeps -O -e"$stage/usr/bin/gralarm" |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs_depends" ] || { echo "package.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" \
  -e "s/@INSTALLED_SIZE@/$installed_size/" -e "s/@SHLIBS_DEPENDS@/$shlibs_depends/" \
  packaging/debian/control.in > "$stage/DEBIAN/control"
# md5sums of every file but the conffiles, which dpkg tracks itself.
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
  grep -zv -x -F -f <(sed 's|^/||' "$stage/DEBIAN/conffiles") | xargs -0 md5sum) \
  > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"

mkdir -p dist
deb="dist/gralarm_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
dpkg-deb --field "$deb" Version Depends
