#!/usr/bin/env bash
# Writes fuzz/large/<target>/*: inputs of about 1 MiB shaped to hurt each decoder (many
# records out of order, long lines, deep nesting, many keys…), made at run time. ci.sh and
# run-long.sh run every target once on each under libFuzzer's -timeout=1: a decoder whose
# time is not linear in its input takes seconds or minutes on these, a linear one a few
# milliseconds, so the bound is generous and still catches every quadratic blow-up.
# No pipefail: every generator is cut short by `head`, which ends it with SIGPIPE.
set -eu
fuzz="$(cd "$(dirname "$0")" && pwd)"
out="$fuzz/large"
rm -rf "$out"
MiB=1048576

put() { mkdir -p "$out/$1"; head -c "$MiB" > "$out/$1/$2"; }
# lines N FORMAT: FORMAT (printf, %d = the line's number) for N down to 1.
lines() { seq "$1" -1 1 | sed "s/.*/$2/"; }
# again TEXT: TEXT repeated forever (cut by put).
again() { yes -- "$1" | tr -d '\n'; }

# makemkvcon: titles, streams and drives listed backwards; huge lines of fields and escapes.
{ echo 'TCOUNT:70000'; lines 70000 'TINFO:&,2,0,"Title &"'; } | put scan_transcript titles-backwards
{ echo 'TCOUNT:1'; lines 60000 'SINFO:0,&,1,6202,"Audio"'; } | put scan_transcript streams-backwards
lines 60000 'DRV:&,2,999,12,"BD-RE drive","DISC","\/dev\/sr&"' | put scan_transcript drives-backwards
{ lines 40000 'MSG:5010,0,1,"Failed to open disc","Failed %1","&"'; } | put scan_transcript messages
{ printf 'MSG:1,0,3,"a","b"'; again ',"p"'; } | put robot_line params
{ printf 'CINFO:2,0,"'; again '\\"'; } | put robot_line escapes
{ printf 'TINFO:1,2,0,'; again 'x'; } | put robot_line bare-value
lines 60000 'SINFO:&,&,&,&,"&"' | put robot_line many-lines

# Queue files.
{ printf 'a-rip\n{"id":"a-rip","type":"rip","track":{"number":1},"output":{"directory":"/'; again 'd/'; } | put task_file long-path
{ printf 'a-rip\n{"id":"a-rip","type":"rip","x":['; again '{"a":[1,2,"b"]},'; } | put task_file big-array
{ printf '['; again '"20251221T143052.123456-rip",'; } | put tasks_json ids
{ printf '["a-rip"]'; printf '\0'; printf '["a-rip"'; again ',"b-rip"'; } | put tasks_json append

# Configuration.
{ printf '{'; seq 1 100000 | sed 's/.*/"k&":&,/' | tr -d '\n'; } | put webapp_config many-keys
{ printf '{"wiki_url":"'; again 'w'; } | put webapp_config long-string
seq 1 80000 | sed 's/.*/key&: &/' | put daemon_yaml unknown-keys
{ echo 'drives:'; seq 1 80000 | sed 's/.*/  sr&: "Drive &"/'; } | put daemon_yaml many-drives
{ echo 'a: &a [x, x, x, x, x, x, x, x, x, x]'; for i in b c d e f g h i j k l m n o p; do
    prev=$(printf '%s' "$i" | tr 'b-p' 'a-o'); echo "$i: &$i [*$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev]"; done
  echo 'simulate: *p'; } | put daemon_yaml alias-bomb

# Peers of the servers.
{ printf '{"type":"request","request_id":['; again '1.5,'; } | put ws_message big-id
{ printf '{"type":"request","request_id":1,"method":"get_drive_status","params":{"drive_id":"'; again 'sr'; } | put ws_message long-drive
lines 50000 '{"action":"label","args":{"drive_id":"sr&","label":"&"}}' | put control_line many-requests
again 'x' | put control_line one-long-line
yes '' | put control_line blank-lines

# Disc detection.
{ printf 'change@/devices/x/block/sr0'; seq 1 100000 | sed 's/.*/\x00K&=v/' | tr -d '\n'; } | put uevent netlink-many-keys
{ lines 40000 'KERNEL[&.0] change \/devices\/x\/block\/sr& (block)'; } | put uevent monitor-headers
{ lines 60000 'E: ID_CDROM_MEDIA_&=1'; } | put uevent info-lines
again 'Type: ' | put drutil_text many-labels
{ printf 'Type: DVD-ROM Space Used: 1 blocks: '; again '9'; } | put drutil_text long-number
{ printf 'disk4\n'; again '<array>'; } | put drutil_xml deep-arrays
{ printf 'disk4\n<plist><dict>'; again '<key>k</key><dict><key>blockCount</key>'; } | put drutil_xml deep-dicts
{ printf 'disk4\n<plist><array>'; again '<string>/dev/disk1</string>'; } | put drutil_xml many-strings
{ printf 'disk4\n<plist><array>'; again '<!-- c -->'; } | put drutil_xml comments

# Simulated drives.
{ printf '{"device":"/dev/sim0","disc":"'; again 'd'; } | put sim_state long-disc
seq 1 200000 | put sim_state pids

# Matroska headers: a Segment of unknown size full of empty Void elements, a SeekHead of
# endless Seek entries, and a Tracks element of endless tracks.
ebml='\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x88matroska\x42\x87\x81\x04\x42\x85\x81\x02'
unknown_segment='\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff'
{ printf '%b' "$ebml$unknown_segment"; again "$(printf '\xec\x80')"; } | put matroska_header voids
{ printf '%b' "$ebml$unknown_segment"'\x11\x4d\x9b\x74\x08\x10\x00\x00'; again "$(printf '\x4d\xbb\x8b\x53\xab\x84\x15\x49\xa9\x66\x53\xac\x81\x2a')"; } | put matroska_header seek-entries
{ printf '%b' "$ebml$unknown_segment"'\x16\x54\xae\x6b\x08\x10\x00\x00'; again "$(printf '\xae\x8a\xd7\x81\x01\x83\x81\x01\x86\x82V_')"; } | put matroska_header tracks

echo "large-inputs: $(find "$out" -type f | wc -l) inputs in $out"
