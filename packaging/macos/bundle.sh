#!/usr/bin/env bash
# Builds Amphigory.app from the release binary: Contents/MacOS/amphigory, Info.plist
# (LSUIElement, CFBundleIdentifier org.amphigory.daemon, the binary's Cargo version) and
# Resources/Amphigory.icns drawn from the tray art. Needs no Mac: the plist and the icon
# are made by `amphigory generate`, so the bundle's files can be produced on Linux too.
#
#   packaging/macos/bundle.sh                       # cargo build --release, then bundle
#   packaging/macos/bundle.sh --binary PATH [--tool PATH] [--out DIR]
#
# --binary: the amphigory to put in the bundle (on a Mac: target/release/amphigory).
# --tool:   an amphigory that runs here, to generate the plist and icon (default: --binary;
#           give one when bundling a macOS binary on Linux).
# --out:    where Amphigory.app goes (default: target/bundle).
# Then: cp -R target/bundle/Amphigory.app /Applications/ &&
#       /Applications/Amphigory.app/Contents/MacOS/amphigory service install
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
binary=""
tool=""
out="$repo/target/bundle"

while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary="$2"; shift 2 ;;
        --tool) tool="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "bundle.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done

if [ -z "$binary" ]; then
    (cd "$repo" && cargo build --release --locked -p amphigory)
    binary="${CARGO_TARGET_DIR:-$repo/target}/release/amphigory"
fi
[ -x "$binary" ] || { echo "bundle.sh: $binary is not an executable" >&2; exit 1; }
tool="${tool:-$binary}"

app="$out/Amphigory.app"
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp "$binary" "$app/Contents/MacOS/amphigory"
chmod 755 "$app/Contents/MacOS/amphigory"
"$tool" generate info-plist > "$app/Contents/Info.plist"
"$tool" generate icns "$app/Contents/Resources/Amphigory.icns"
printf 'APPL????' > "$app/Contents/PkgInfo"
# On a Mac, seal the bundle with an ad-hoc signature (Apple silicon runs nothing unsigned,
# and a bundle whose Info.plist changed after the binary was signed is refused).
if [ "$(uname -s)" = Darwin ] && command -v codesign >/dev/null; then
    codesign --force --sign - "$app"
fi
echo "$app"
