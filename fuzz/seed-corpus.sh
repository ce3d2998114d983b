#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds, at run time (nothing here is committed): the
# captures in ../shared/fixtures (makemkv/, udev/, macos/), the simulator's built-in
# discs, and a few small inputs written below in each decoder's own format. Existing
# corpus files (what earlier runs found) are kept.
#
#   fuzz/seed-corpus.sh [FIXTURES_DIR]     default: ../shared/fixtures beside the repo
set -euo pipefail
fuzz="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$fuzz")"
fixtures="${1:-${AMPHIGORY_FIXTURES:-$root/../shared/fixtures}}"
corpus="$fuzz/corpus"
discs="$root/crates/amphigory/src/sim/discs"

if [ ! -d "$fixtures" ]; then
    echo "seed-corpus: no fixtures at $fixtures; seeding from the project's own files only" >&2
fi

dir() { mkdir -p "$corpus/$1"; printf '%s' "$corpus/$1"; }
# seed TARGET NAME: stdin becomes corpus/TARGET/seed-NAME.
seed() { cat > "$(dir "$1")/seed-$2"; }
captures() { # captures SUBDIR: the capture files of a fixtures folder (not SOURCES.md)
    [ -d "$fixtures/$1" ] || return 0
    find "$fixtures/$1" -maxdepth 1 -type f -name '*.txt' | sort
}

# makemkvcon: whole transcripts for the assembler; 40-line pieces for the line parser.
for f in $(captures makemkv) "$discs"/*.txt; do
    name="$(basename "$f" .txt)"
    cp "$f" "$(dir scan_transcript)/seed-$name"
    split -l 40 -d -a 3 "$f" "$(dir robot_line)/seed-$name-"
done

# udev: every capture as text; kernel datagrams built from two of them.
for f in $(captures udev); do cp "$f" "$(dir uevent)/seed-$(basename "$f" .txt)"; done
printf 'change@/devices/pci0000:00/0000:00:1f.2/ata2/host1/target1:0:0/1:0:0:0/block/sr0\0ACTION=change\0DEVPATH=/devices/pci0000:00/0000:00:1f.2/ata2/host1/target1:0:0/1:0:0:0/block/sr0\0SUBSYSTEM=block\0DISK_MEDIA_CHANGE=1\0DEVNAME=/dev/sr0\0DEVTYPE=disk\0SEQNUM=2197\0MAJOR=11\0MINOR=0\0' | seed uevent netlink-change
printf 'add@/devices/virtual/block/sr1\0ACTION=add\0SUBSYSTEM=block\0DEVNAME=sr1\0ID_CDROM=1\0ID_CDROM_MEDIA=1\0ID_CDROM_MEDIA_BD=1\0ID_FS_LABEL=MOVIE\0' | seed uevent netlink-add

# macOS: drutil text captures (and the other captures: unrelated text is input too).
for f in $(captures macos); do cp "$f" "$(dir drutil_text)/seed-$(basename "$f" .txt)"; done
plist_head='<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">'
seed drutil_xml dvd <<EOF
disk4
$plist_head
<dict><key>statusInfo</key><dict>
 <key>deviceInfo</key><dict><key>vendorName</key><string>PIONEER</string>
  <key>productName</key><string>BD-RW   BDR-XD07</string>
  <key>writeCapabilities</key><array><string>CD-R</string><string>BD-R</string></array></dict>
 <key>mediaInfo</key><dict><key>mediaType</key><string>DVD-ROM</string>
  <key>blockCount</key><integer>3940480</integer><key>isBlank</key><false/>
  <key>volumeName</key><string>TEST_DISC</string></dict>
 <key>device</key><string>/dev/disk4</string></dict></dict>
</plist>
EOF
seed drutil_xml two-drives <<EOF
disk5
$plist_head
<array>
 <dict><key>device</key><string>/dev/disk4</string><key>mediaInfo</key><dict>
  <key>mediaType</key><string>CD-ROM</string><key>blockCount</key><integer>762352</integer>
  <key>sessionCount</key><integer>1</integer><key>trackCount</key><integer>2</integer>
  <key>leadOut</key><dict><key>msf</key><string>169:24:52</string></dict>
  <key>trackInfo</key><array><dict><key>startAddress</key><integer>0</integer>
   <key>trackSize</key><integer>700000</integer></dict></array></dict></dict>
 <dict><key>device</key><string>/dev/disk5</string><key>mediaInfo</key><dict>
  <key>mediaKind</key><string>bluray</string><key>blocks</key><string>12345678</string>
  <key>real</key><real>1.5</real><key>date</key><date>2025-01-01T00:00:00Z</date>
  <key>data</key><data>AAEC</data><!-- a comment --></dict></dict>
</array>
</plist>
EOF

# Task files: the stem on the first line, the file after it.
seed task_file rip-output-info <<'EOF'
20251221T143052.123456-rip
{"id":"20251221T143052.123456-rip","type":"rip","created_at":"2025-12-21T14:30:52.123456","input":null,"disc_fingerprint":"br-0a1b2c","drive":"me@host:sr0","track":{"number":1,"expected_size_bytes":11811160064,"expected_duration":"1:39:56"},"output":"/media/ripped/Movie (2004)/Movie (2004).mkv","output_info":{"directory":"/media/ripped/Movie (2004)/","filename":"Movie (2004).mkv"}}
EOF
seed task_file rip-output-object <<'EOF'
a-rip
{"id":"a-rip","type":"rip","track":{"number":0},"output":{"directory":"/m/T (2004)/","filename":"T (2004).mkv"}}
EOF
seed task_file scan <<'EOF'
20251221T143052.000001-scan
{"id":"20251221T143052.000001-scan","type":"scan","created_at":"2025-12-21T14:30:52Z","input":"/dev/sr0"}
EOF
seed task_file seed-style-insert <<'EOF'
20251221-143045-001
{"id":"20251221-143045-001","type":"insert","input":"20251221-143044-001"}
EOF
seed task_file bad-path <<'EOF'
b-rip
{"id":"b-rip","type":"rip","track":{"number":"0"},"output":"media/../../etc/x.mkv"}
EOF

# tasks.json: a file alone, or the file as last read, a NUL, and the file now.
seed tasks_json list <<'EOF'
["20251221T143052.123456-rip", "20251221T143052.000001-scan", 3, null, {"id": "x-rip"}, "../x-rip", "b\u002dscan"]
EOF
printf '["a-rip", "b-rip"]\0["a-rip", "b-rip", "c-rip", 7]' | seed tasks_json append
printf '[\n  "a-rip"\n]\n\0[\n  "a-rip",\n  "b-rip"\n]\n' | seed tasks_json append-pretty
printf '[]\0["x-rip"]' | seed tasks_json append-empty

# The webapp's /config.json (and its cache).
seed webapp_config full <<'EOF'
{"tasks_directory": "/data/tasks", "websocket_port": 9847, "wiki_url": "http://localhost:6199/wiki", "heartbeat_interval": 10, "log_level": "info", "makemkv_path": null, "ripped_directory": "/media/ripped", "theme": {"dark": true, "scale": 1.25}}
EOF
seed webapp_config fraction <<'EOF'
{"heartbeat_interval": 2.5, "websocket_port": 65535, "extra": [1, -2.5e-3, "x"]}
EOF

# daemon.yaml.
seed daemon_yaml full <<'EOF'
# Amphigory daemon configuration
webapp_url: http://localhost:6199
webapp_basedir: /opt/beehive-docker/amphigory
daemon_id: purp@beehive
makemkvcon_path: /Applications/MakeMKV.app/Contents/MacOS/makemkvcon
drives:
  sr0: "Top drive"
  "/dev/sr1": Bottom
heartbeat_interval: 10
auto_eject: true
simulate: [demo-bluray, demo-dvd]
sim_rate: 500.5
unknown_key: 1
EOF
seed daemon_yaml hooks <<'EOF'
keep_awake: false
hooks:
  on_rip_complete: [/usr/local/bin/move, --verbose]
  # comment
  "on_queue_empty": [systemctl, suspend]
  on_rip_done: [x]
EOF
seed daemon_yaml anchors <<'EOF'
---
base: &b {a: 1, b: [x, y]}
drives: *b
headless: yes
EOF

# WebSocket text frames from browsers, tools and the webapp.
seed ws_message get-drive-status <<< '{"type":"request","request_id":"r1","method":"get_drive_status","params":{"drive_id":"fuzz@host:sr0"}}'
seed ws_message list-drives <<< '{"type":"request","request_id":17,"method":"list_drives","params":null}'
seed ws_message unknown-method <<< '{"type":"request","request_id":{"n":[1.5,true]},"method":"reboot"}'
seed ws_message config <<< '{"type":"config_updated"}'
seed ws_message echo <<< '{"type":"disc_event","event":"inserted","device":"/dev/sr0","volume_name":"MOVIE"}'

# Control-socket input: several lines, as clients write them.
seed control_line session <<'EOF'
{"action":"version"}
{"action":"status","args":null}

{"action":"pause","args":{"now":true}}
{"action":"cancel","args":{"task_id":"a-rip"}}
{"action":"label","args":{"drive_id":"sr0","label":"Top\nDrive"}}
{"action":"enqueue","args":{"type":"rip","track":{"number":2},"output_info":{"directory":"/m/","filename":"x.mkv"}}}
{"action":"subscribe","args":{"task_id":null,"replay":true}}
{"action":"nope"}
not json
EOF
printf '{"action":"eject"}\r\n{"action":"tasks"}\n\xff\xfe\n{"action":"stop"}' | seed control_line crlf-binary

# Simulated drives' files.
seed sim_state state <<'EOF'
{
  "device": "/dev/sim0",
  "disc": "demo-bluray",
  "present": true,
  "rate_mbps": 2000.0,
  "fault": "eject@50"
}
EOF
seed sim_state state-min <<< '{"device":"/dev/sim1","disc":null,"present":false,"rate_mbps":0.1}'
seed sim_state fault <<< 'badsector@7'
printf '12345\n12346\nnot a pid\n' | seed sim_state pids

# Matroska headers: the simulated makemkvcon's (6300 s, 8-byte sizes, as
# crates/amphigory/src/sim/matroska.rs writes it) and one shaped like MakeMKV's (1-byte
# sizes, a Segment of unknown size, a SeekHead, a 32-bit float duration, two tracks).
printf '%b' '\x1a\x45\xdf\xa3\x01\x00\x00\x00\x00\x00\x00\x54\x42\x86\x01\x00'\
'\x00\x00\x00\x00\x00\x01\x01\x42\xf7\x01\x00\x00\x00\x00\x00\x00'\
'\x01\x01\x42\xf2\x01\x00\x00\x00\x00\x00\x00\x01\x04\x42\xf3\x01'\
'\x00\x00\x00\x00\x00\x00\x01\x08\x42\x82\x01\x00\x00\x00\x00\x00'\
'\x00\x08\x6d\x61\x74\x72\x6f\x73\x6b\x61\x42\x87\x01\x00\x00\x00'\
'\x00\x00\x00\x01\x04\x42\x85\x01\x00\x00\x00\x00\x00\x00\x01\x02'\
'\x18\x53\x80\x67\x01\x00\x00\x00\x00\x00\x00\xf5\x15\x49\xa9\x66'\
'\x01\x00\x00\x00\x00\x00\x00\x5f\x2a\xd7\xb1\x01\x00\x00\x00\x00'\
'\x00\x00\x03\x0f\x42\x40\x44\x89\x01\x00\x00\x00\x00\x00\x00\x08'\
'\x41\x58\x08\x58\x00\x00\x00\x00\x4d\x80\x01\x00\x00\x00\x00\x00'\
'\x00\x0d\x61\x6d\x70\x68\x69\x67\x6f\x72\x79\x2d\x73\x69\x6d\x57'\
'\x41\x01\x00\x00\x00\x00\x00\x00\x1e\x61\x6d\x70\x68\x69\x67\x6f'\
'\x72\x79\x20\x73\x69\x6d\x75\x6c\x61\x74\x65\x64\x20\x6d\x61\x6b'\
'\x65\x6d\x6b\x76\x63\x6f\x6e\x16\x54\xae\x6b\x01\x00\x00\x00\x00'\
'\x00\x00\x5f\xae\x01\x00\x00\x00\x00\x00\x00\x56\xd7\x01\x00\x00'\
'\x00\x00\x00\x00\x01\x01\x73\xc5\x01\x00\x00\x00\x00\x00\x00\x01'\
'\x01\x83\x01\x00\x00\x00\x00\x00\x00\x01\x01\x86\x01\x00\x00\x00'\
'\x00\x00\x00\x0f\x56\x5f\x4d\x50\x45\x47\x34\x2f\x49\x53\x4f\x2f'\
'\x41\x56\x43\xe0\x01\x00\x00\x00\x00\x00\x00\x16\xb0\x01\x00\x00'\
'\x00\x00\x00\x00\x02\x07\x80\xba\x01\x00\x00\x00\x00\x00\x00\x02'\
'\x04\x38\x1f\x43\xb6\x75\x01\x00\x00\x00\x00\x00\x00\x13\xe7\x01'\
'\x00\x00\x00\x00\x00\x00\x01\x00\xec\x01\x00\x00\x00\x00\x00\x00'\
'\x00' | seed matroska_header sim-6300
printf '%b' '\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81'\
'\x04\x42\xf3\x81\x08\x42\x82\x88\x6d\x61\x74\x72\x6f\x73\x6b\x61'\
'\x42\x87\x81\x04\x42\x85\x81\x02\x18\x53\x80\x67\x01\xff\xff\xff'\
'\xff\xff\xff\xff\x11\x4d\x9b\x74\x9e\x4d\xbb\x8c\x53\xab\x84\x15'\
'\x49\xa9\x66\x53\xac\x82\x00\x23\x4d\xbb\x8c\x53\xab\x84\x16\x54'\
'\xae\x6b\x53\xac\x82\x00\x56\x15\x49\xa9\x66\xae\x2a\xd7\xb1\x83'\
'\x0f\x42\x40\x44\x89\x84\x4a\xb6\xfb\xc0\x7b\xa9\x88\x44\x65\x61'\
'\x64\x70\x6f\x6f\x6c\x4d\x80\x92\x6c\x69\x62\x6d\x61\x6b\x65\x6d'\
'\x6b\x76\x20\x76\x31\x2e\x31\x37\x2e\x37\x16\x54\xae\x6b\xb4\xae'\
'\x9c\xd7\x81\x01\x73\xc5\x81\x07\x83\x81\x01\x86\x90\x56\x5f\x4d'\
'\x50\x45\x47\x48\x2f\x49\x53\x4f\x2f\x48\x45\x56\x43\xae\x94\xd7'\
'\x81\x02\x73\xc5\x81\x08\x83\x81\x02\x86\x88\x41\x5f\x54\x52\x55'\
'\x45\x48\x44\x1f\x43\xb6\x75\x99\xe7\x81\x00\xa3\x94\x81\x00\x00'\
'\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'\
'\x00' | seed matroska_header makemkv-like

echo "seed-corpus: $(find "$corpus" -type f | wc -l) files in $corpus"
