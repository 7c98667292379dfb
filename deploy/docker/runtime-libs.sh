#!/usr/bin/env bash
# Works out what a runtime image needs to run the given programs, so that it
# installs only that (run in the image's build stage):
#   OUT/packages  the Debian packages whose shared libraries the programs load
#   OUT/lib/      copies of libtorch's libraries without their dead links
# Debian links libtorch_cpu against OpenCV and ffmpeg (and, through OpenCV,
# Qt and GTK) without importing a single symbol from them. Each copy drops
# such a NEEDED entry only after checking that none of the symbols it imports
# is defined by that library, so nothing that is called can go missing.
#   deploy/docker/runtime-libs.sh OUT PROGRAM...
set -euo pipefail
out="$1"; shift
mkdir -p "$out/lib"
: > "$out/packages"
dead_links='^lib(opencv_|avcodec|avformat|avutil|swscale|swresample)'

# Resolved library paths of the programs, one a line.
resolved_libraries() {
  LD_LIBRARY_PATH="$out/lib" ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u
}

package_of() {
  local path="$1" other
  case "$path" in /usr/*) other="${path#/usr}" ;; *) other="/usr$path" ;; esac
  for candidate in "$path" "$other" "$(readlink -f "$path")"; do
    if owner="$(dpkg -S "$candidate" 2>/dev/null)"; then
      echo "${owner%%:*}"; return 0
    fi
  done
  echo "runtime-libs: no package owns $path" >&2; return 1
}

imported_symbols() { nm -D --undefined-only "$1" | awk '{print $2}' | sed 's/@.*//' | sort -u; }
defined_symbols() { nm -D --defined-only "$1" | awk '{print $3}' | sed 's/@.*//' | sort -u; }

for library in $(resolved_libraries "$@"); do
  case "$(package_of "$library")" in libtorch[0-9]*) ;; *) continue ;; esac
  copy="$out/lib/$(basename "$library")"
  cp -L "$library" "$copy"
  imports="$(imported_symbols "$copy")"
  links="$(ldd "$library")"
  for needed in $(readelf -d "$copy" | awk '/NEEDED/ {gsub(/[][]/, "", $5); print $5}'); do
    [[ "$needed" =~ $dead_links ]] || continue
    target="$(echo "$links" | awk -v n="$needed" '$1 == n {print $3}')"
    used="$(comm -12 <(echo "$imports") <(defined_symbols "$target") | wc -l)"
    if [ "$used" -eq 0 ]; then
      patchelf --remove-needed "$needed" "$copy"
    else
      echo "runtime-libs: $(basename "$copy") imports $used symbols from $needed: kept" >&2
    fi
  done
done

for library in $(resolved_libraries "$@"); do
  case "$library" in "$out"/lib/*) continue ;; esac
  package_of "$library"
done | sort -u > "$out/packages"
echo "runtime-libs: $(wc -l < "$out/packages") packages, $(ls "$out/lib" | wc -l) pruned libraries for $#" \
     "program(s)"
