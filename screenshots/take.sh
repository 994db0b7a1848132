#!/bin/sh
# Takes the README screenshots from a real terminal: `darlings demo` in an
# xterm under Xvfb, driven by xdotool key presses, captured with ImageMagick
# `import`. Rerun it after changing the TUI: ./screenshots/take.sh
#
# Needs: xvfb, xterm, imagemagick, xdotool, fonts-dejavu-core (installed with
# apt-get when missing, as root or through sudo).
set -eu
cd "$(dirname "$0")/.."
out=$(pwd)/screenshots

missing=""
for pair in Xvfb:xvfb xterm:xterm import:imagemagick xdotool:xdotool fc-list:fontconfig; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair##*:}"
done
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || missing="$missing fonts-dejavu-core"
if [ -n "$missing" ]; then
    echo "installing:$missing"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -q
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing
fi

cargo build --release --quiet
bin=$(pwd)/target/release/darlings

display=:${SCREENSHOT_DISPLAY:-97}
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
xterm_pid=""
cleanup() {
    [ -n "$xterm_pid" ] && kill "$xterm_pid" 2>/dev/null || true
    kill "$xvfb" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
export DISPLAY="$display"
for _ in 1 2 3 4 5 6 7 8 9 10; do
    xdotool getmouselocation >/dev/null 2>&1 && break
    sleep 0.5
done

xterm -geometry 120x36+0+0 -fa 'DejaVu Sans Mono' -fs 11 -bg '#1c1c1c' -fg '#d0d0d0' \
    -xrm 'XTerm*cursorBlink: false' -title darlings -e "$bin" demo &
xterm_pid=$!
win=$(xdotool search --sync --pid "$xterm_pid" | head -n 1)
eval "$(xdotool getwindowgeometry --shell "$win")"
# Keys go to the window under the pointer (there is no window manager).
xdotool mousemove $((X + WIDTH / 2)) $((Y + HEIGHT / 2))
sleep 3 # the demo builds its root and scans it

key() {
    for k in "$@"; do
        xdotool key "$k"
        sleep 0.25
    done
}
typed() {
    xdotool type --delay 60 "$1"
    sleep 0.3
}
shot() {
    sleep 0.8
    import -window root -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$out/$1"
    echo "wrote screenshots/$1"
}

# Main view: the first screen opens the way to the largest stray directory.
shot main.png

# Findings: what `darlings check` finds wrong with the demo's whitelist.
key exclam
shot findings.png
key Escape

# Detail pane: a modified file with its diff against the baseline.
key slash
typed configuration.nix
key Return
shot detail.png

# Write confirmation: mark the docker directory and the ssh host keys, preview.
key slash
typed lib/docker
key Return space slash
typed ssh_host_ed25519_key
key Return space w
shot write.png

# Migration plan: write, then m plans copying the written paths into storage.
key y m
sleep 1 # the plan walks the paths and compares them with storage
shot migrate.png

key n q
