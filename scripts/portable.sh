# Shell helpers for the release scripts that also run on macOS (bash 3.2) and in Git Bash on
# Windows (GitHub's runners). Source it; it defines:
#   windows   "1" in Git Bash/MSYS/Cygwin, else ""
#   exe       ".exe" on Windows, else ""
#   py        python3, or python where only that is a Python 3 (Windows)
#   native PATH      the path as a native Windows program wants it (cygpath -w); PATH elsewhere
#   sha256sum_of FILE  "SHA256  FILE" as sha256sum prints it (shasum -a 256 where sha256sum is missing)
#   sha256sum_check FILE...  sha256sum --quiet -c FILE...
case $(uname -s) in
  MINGW* | MSYS* | CYGWIN*) windows=1 exe=.exe ;;
  *) windows="" exe="" ;;
esac

native() { if [ -n "$windows" ]; then cygpath -w "$1"; else printf '%s\n' "$1"; fi; }

py=""
for _p in python3 python; do
  # A bare `python3` on Windows may be the Microsoft Store stub, which runs nothing.
  if "$_p" -c 'import sys; sys.exit(sys.version_info < (3, 8))' >/dev/null 2>&1; then py=$_p; break; fi
done
unset _p

if command -v sha256sum >/dev/null 2>&1; then
  _sha256() { sha256sum "$@"; }
else
  _sha256() { shasum -a 256 "$@"; }
fi
# One format everywhere (text mode, two spaces), whatever the tool prints for binary mode.
sha256sum_of() { printf '%s  %s\n' "$(_sha256 "$1" | cut -d' ' -f1 | tr -d '\\')" "$1"; }
sha256sum_check() { _sha256 --quiet -c "$@"; }
