# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_amphigory_global_optspecs
    string join \n socket= h/help V/version
end

function __fish_amphigory_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_amphigory_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_amphigory_using_subcommand
    set -l cmd (__fish_amphigory_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c amphigory -n "__fish_amphigory_needs_command" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_needs_command" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_needs_command" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "daemon" -d 'Run the daemon in the foreground'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "demo" -d 'The whole flow on a simulated drive in a fresh temporary directory'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "doctor" -d 'Check makemkvcon, the configuration, the queue directory, the webapp and free space; say what to fix'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "enqueue" -d 'Write a scan or rip task into the queue exactly as the webapp would'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "history" -d 'The tasks the daemon finished, and per drive the average read speed by disc type and the failures (from history.jsonl; no daemon needed)'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "status" -d 'Daemon, drives, running tasks, queue depth, pause state'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "watch" -d 'Live progress bars (or `--json` event lines) until interrupted'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "queue" -d 'Tasks in queue order with their state'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "pause" -d 'Pause the queue after the current task (or `--now`)'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "resume" -d 'Resume the queue'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "cancel" -d 'Stop a running task (TASK_CANCELLED) or remove a queued one'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "drives" -d 'The drives, with their labels and discs'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "label" -d 'Give a drive a persistent human name'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "eject" -d 'Eject the disc from a drive'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "stop" -d 'Ask the running daemon to shut down cleanly'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "makemkv" -d 'MakeMKV tools'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "service" -d 'Run the daemon as a service of your session: started at login, restarted if it fails (launchd on macOS, systemd on Linux)'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "selftest" -d 'First contact with a real drive: detect it, fingerprint and scan the disc, show what the daemon would send, write a report file. Rips only with --rip, ejects only with --eject'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "record" -d 'Save a real session (makemkvcon\'s output, disc events, drive facts; serial numbers removed) into DIR, for `--simulate DIR` to replay'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "generate" -d 'Shell completions and man pages from these definitions (for packagers)'
complete -c amphigory -n "__fish_amphigory_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l config -d 'daemon.yaml to read (default ~/.config/amphigory/daemon.yaml)' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l tasks-dir -d 'Queue directory; bypasses path resolution from the webapp config (env AMPHIGORY_TASKS_DIR)' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l state-dir -d 'Labels, attempt counts, claim records and cached config' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l simulate -d 'Simulated drives instead of real ones: built-in disc names, transcript paths or recording folders (`amphigory record`)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l sim-rate -d 'Read rate of simulated drives, MB/s [default: 2000]' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l sim-fault -d 'Make the simulated drive fail once: stall@P, eject@P, unreadable, spinup, exit@P, nospace@P, badsector@P, corrupt@P (a broken Matroska header), short@P (the file stops early; success is reported anyway)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l stall-timeout -d 'Stall limit in seconds: a rip printing nothing for this long is killed [default: 120]' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l ws-port -d 'WebSocket server port on 127.0.0.1 and ::1 (0 = any free port, logged) (env AMPHIGORY_WS_PORT; default: the webapp\'s websocket_port, else 9847)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l notifications -d 'What to notify the desktop of: all, errors or off (daemon.yaml: `notifications:`; default all)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l log-level -d 'Log level (error, warn, info, debug, trace) or a tracing filter (env AMPHIGORY_LOG; default: daemon.yaml, the webapp\'s log_level, else info)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l log-file -d 'Log to this file (plain text with timestamps, rotated at 10 MiB, 4 old files kept) instead of stderr; the LaunchAgent uses ~/Library/Logs/Amphigory/daemon.log' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l lease-ms -d 'Lease length in milliseconds instead of five minutes (tests of lease expiry)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l sim-free-space-margin -d 'Check free space before simulated rips too, with this margin in bytes (tests of the free-space rules; simulated rips are sparse files and need no space)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l hook-timeout-ms -d 'A hook\'s time limit in milliseconds instead of 60 s (tests of the hook limit)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l lose-fs-events -d 'Lose this share (%) of file-system events on purpose (tests of the safety rescan)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l no-webapp -d 'Never contact a webapp'
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l headless -d 'No menu-bar / tray icon'
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -l auto-eject -d 'Eject a disc after the last task for it (daemon.yaml: `auto_eject: true`)'
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand daemon" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand demo" -l disc -d 'The disc in the simulated drive: `demo-bluray`, `demo-dvd` or a transcript path' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand demo" -l sim-rate -d 'Read rate of the simulated drive, MB/s' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand demo" -l sim-fault -d 'Make the simulated drive fail once (see `amphigory daemon --help`)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand demo" -l log-level -d 'Log level for the daemon\'s own messages' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand demo" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand demo" -l keep -d 'Keep the temporary directory instead of removing it'
complete -c amphigory -n "__fish_amphigory_using_subcommand demo" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand demo" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand doctor" -l config -d 'The daemon.yaml to check (default ~/.config/amphigory/daemon.yaml)' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand doctor" -l state-dir -d 'State directory (cached config)' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand doctor" -l tasks-dir -d 'Queue directory, as `amphigory daemon --tasks-dir` would use it' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand doctor" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand doctor" -l json -d 'Machine-readable output'
complete -c amphigory -n "__fish_amphigory_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and not __fish_seen_subcommand_from scan rip help" -l tasks-dir -d 'The queue directory' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and not __fish_seen_subcommand_from scan rip help" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and not __fish_seen_subcommand_from scan rip help" -l json -d 'Print `{"task_id": …}` instead of the bare id'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and not __fish_seen_subcommand_from scan rip help" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and not __fish_seen_subcommand_from scan rip help" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and not __fish_seen_subcommand_from scan rip help" -f -a "scan" -d 'Scan the disc in a drive'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and not __fish_seen_subcommand_from scan rip help" -f -a "rip" -d 'Rip one title'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and not __fish_seen_subcommand_from scan rip help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from scan" -l drive -d 'Target drive (id or device) when there are several' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from scan" -l tasks-dir -d 'The queue directory' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from scan" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from scan" -l json -d 'Print `{"task_id": …}` instead of the bare id'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from scan" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from scan" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from rip" -l track -d 'MakeMKV title index' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from rip" -l output -d 'Full output path (directory and file name)' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from rip" -l output-dir -d 'Output directory' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from rip" -l filename -d 'Output file name' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from rip" -l expected-size -d 'Expected size in bytes (enables the free-space check and verification)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from rip" -l fingerprint -d 'Fingerprint of the disc the title is on' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from rip" -l drive -d 'Target drive (id or device)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from rip" -l tasks-dir -d 'The queue directory' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from rip" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from rip" -l json -d 'Print `{"task_id": …}` instead of the bare id'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from rip" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from rip" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from help" -f -a "scan" -d 'Scan the disc in a drive'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from help" -f -a "rip" -d 'Rip one title'
complete -c amphigory -n "__fish_amphigory_using_subcommand enqueue; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c amphigory -n "__fish_amphigory_using_subcommand history" -l drive -d 'Only this drive (its id, device or device name, e.g. `sr0`)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand history" -l last -d 'How many of the latest tasks to list (0: all)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand history" -l state-dir -d 'State directory holding `history.jsonl` (default: daemon.yaml\'s `state_dir`, else ~/.config/amphigory)' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand history" -l config -d 'The daemon.yaml naming the state directory' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand history" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand history" -l json -d 'Machine-readable output: `{"entries": [...], "drives": [...]}`'
complete -c amphigory -n "__fish_amphigory_using_subcommand history" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand history" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand status" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand status" -l json -d 'Print the daemon\'s answer as one line of JSON'
complete -c amphigory -n "__fish_amphigory_using_subcommand status" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand status" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand watch" -l task -d 'Only this task\'s events (and daemon-wide ones)' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand watch" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand watch" -l replay -d 'With --json: first replay the daemon\'s recent events (up to 100)'
complete -c amphigory -n "__fish_amphigory_using_subcommand watch" -l json -d 'Print each event envelope as one line of JSON instead of drawing bars'
complete -c amphigory -n "__fish_amphigory_using_subcommand watch" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand watch" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand queue" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand queue" -l json -d 'Print the daemon\'s answer as one line of JSON'
complete -c amphigory -n "__fish_amphigory_using_subcommand queue" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand queue" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand pause" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand pause" -l now -d 'Stop the running task now, remove its partial output and put it back at the head of the queue'
complete -c amphigory -n "__fish_amphigory_using_subcommand pause" -l json -d 'Print the daemon\'s answer as one line of JSON'
complete -c amphigory -n "__fish_amphigory_using_subcommand pause" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand pause" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand resume" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand resume" -l json -d 'Print the daemon\'s answer as one line of JSON'
complete -c amphigory -n "__fish_amphigory_using_subcommand resume" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand resume" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand cancel" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand cancel" -l json -d 'Print the daemon\'s answer as one line of JSON'
complete -c amphigory -n "__fish_amphigory_using_subcommand cancel" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand cancel" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand drives" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand drives" -l json -d 'Print the daemon\'s answer as one line of JSON'
complete -c amphigory -n "__fish_amphigory_using_subcommand drives" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand drives" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand label" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand label" -l json -d 'Print the daemon\'s answer as one line of JSON'
complete -c amphigory -n "__fish_amphigory_using_subcommand label" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand label" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand eject" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand eject" -l json -d 'Print the daemon\'s answer as one line of JSON'
complete -c amphigory -n "__fish_amphigory_using_subcommand eject" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand eject" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand stop" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand stop" -l json -d 'Print the daemon\'s answer as one line of JSON'
complete -c amphigory -n "__fish_amphigory_using_subcommand stop" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand stop" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand makemkv; and not __fish_seen_subcommand_from parse help" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand makemkv; and not __fish_seen_subcommand_from parse help" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand makemkv; and not __fish_seen_subcommand_from parse help" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand makemkv; and not __fish_seen_subcommand_from parse help" -f -a "parse" -d 'Parse a saved `makemkvcon -r info` transcript and print the scan result'
complete -c amphigory -n "__fish_amphigory_using_subcommand makemkv; and not __fish_seen_subcommand_from parse help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c amphigory -n "__fish_amphigory_using_subcommand makemkv; and __fish_seen_subcommand_from parse" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand makemkv; and __fish_seen_subcommand_from parse" -l json -d 'Print JSON (the default)'
complete -c amphigory -n "__fish_amphigory_using_subcommand makemkv; and __fish_seen_subcommand_from parse" -l summary -d 'Print a table for a person instead of JSON'
complete -c amphigory -n "__fish_amphigory_using_subcommand makemkv; and __fish_seen_subcommand_from parse" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand makemkv; and __fish_seen_subcommand_from parse" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand makemkv; and __fish_seen_subcommand_from help" -f -a "parse" -d 'Parse a saved `makemkvcon -r info` transcript and print the scan result'
complete -c amphigory -n "__fish_amphigory_using_subcommand makemkv; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -f -a "install" -d 'Install the daemon as a service of the user\'s session (launchd LaunchAgent on macOS, systemd user unit on Linux) and start it'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -f -a "uninstall" -d 'Stop the service, disable it and remove its file'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -f -a "status" -d 'Say whether the service is installed, loaded and running'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and not __fish_seen_subcommand_from install uninstall status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from install" -l os -d 'Render for this platform\'s manager (tests; with --dry-run)' -r -f -a "macos\t'launchd'
linux\t'systemd'"
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from install" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from install" -l dry-run -d 'Print the file and the commands instead of writing and running them'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from install" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from uninstall" -l os -d 'Use this platform\'s manager (tests)' -r -f -a "macos\t'launchd'
linux\t'systemd'"
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from uninstall" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from uninstall" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from status" -l os -d 'Use this platform\'s manager (tests)' -r -f -a "macos\t'launchd'
linux\t'systemd'"
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from status" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from status" -l json -d 'One JSON object instead of text'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "install" -d 'Install the daemon as a service of the user\'s session (launchd LaunchAgent on macOS, systemd user unit on Linux) and start it'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Stop the service, disable it and remove its file'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "status" -d 'Say whether the service is installed, loaded and running'
complete -c amphigory -n "__fish_amphigory_using_subcommand service; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c amphigory -n "__fish_amphigory_using_subcommand selftest" -l device -d 'Only this drive (`/dev/sr0`, `/dev/rdisk4`) [default: the first with a disc]' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand selftest" -l simulate -d 'A simulated drive holding this disc instead of the real drives: a built-in disc, a transcript or a recording folder' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand selftest" -l config -d 'daemon.yaml to read makemkvcon_path and daemon_id from' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand selftest" -l rip -d 'Rip this title (its number in the scan) into --output: the one way selftest rips' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand selftest" -l output -d 'Folder for --rip\'s file (selftest-title<N>.mkv)' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand selftest" -l report -d 'Where to write the report [default: ./amphigory-selftest-<time>.txt]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand selftest" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand selftest" -l no-scan -d 'Detect only; do not scan the disc'
complete -c amphigory -n "__fish_amphigory_using_subcommand selftest" -l eject -d 'Eject the disc at the end'
complete -c amphigory -n "__fish_amphigory_using_subcommand selftest" -l json -d 'One JSON object instead of text'
complete -c amphigory -n "__fish_amphigory_using_subcommand selftest" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand selftest" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand record" -l device -d 'Only this drive (`/dev/sr0`, `/dev/rdisk4`) [default: the first with a disc]' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand record" -l simulate -d 'A simulated drive holding this disc instead of the real drives: a built-in disc, a transcript or a recording folder' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand record" -l config -d 'daemon.yaml to read makemkvcon_path and daemon_id from' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand record" -l watch -d 'Watch this many seconds for disc events first (put the disc in, or take it out and back, meanwhile); the disc in the drive at the end is scanned. On Linux the kernel\'s raw uevents are recorded too' -r
complete -c amphigory -n "__fish_amphigory_using_subcommand record" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand record" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand record" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and not __fish_seen_subcommand_from completions man info-plist icns all help" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and not __fish_seen_subcommand_from completions man info-plist icns all help" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and not __fish_seen_subcommand_from completions man info-plist icns all help" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and not __fish_seen_subcommand_from completions man info-plist icns all help" -f -a "completions" -d 'Completions for one shell, on stdout'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and not __fish_seen_subcommand_from completions man info-plist icns all help" -f -a "man" -d 'The man page amphigory(1), on stdout'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and not __fish_seen_subcommand_from completions man info-plist icns all help" -f -a "info-plist" -d 'The `Info.plist` of Amphigory.app, on stdout (version from this binary)'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and not __fish_seen_subcommand_from completions man info-plist icns all help" -f -a "icns" -d 'The app icon (the tray\'s disc) as an Apple .icns file'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and not __fish_seen_subcommand_from completions man info-plist icns all help" -f -a "all" -d 'Every completion file and man page, into DIR/completions and DIR/man'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and not __fish_seen_subcommand_from completions man info-plist icns all help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from completions" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from completions" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from completions" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from man" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from man" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from man" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from info-plist" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from info-plist" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from info-plist" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from icns" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from icns" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from icns" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from all" -l socket -d 'The daemon\'s control socket [default: $AMPHIGORY_SOCKET, else $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock]' -r -F
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from all" -s h -l help -d 'Print help'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from all" -s V -l version -d 'Print version'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "completions" -d 'Completions for one shell, on stdout'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "man" -d 'The man page amphigory(1), on stdout'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "info-plist" -d 'The `Info.plist` of Amphigory.app, on stdout (version from this binary)'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "icns" -d 'The app icon (the tray\'s disc) as an Apple .icns file'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "all" -d 'Every completion file and man page, into DIR/completions and DIR/man'
complete -c amphigory -n "__fish_amphigory_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "daemon" -d 'Run the daemon in the foreground'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "demo" -d 'The whole flow on a simulated drive in a fresh temporary directory'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "doctor" -d 'Check makemkvcon, the configuration, the queue directory, the webapp and free space; say what to fix'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "enqueue" -d 'Write a scan or rip task into the queue exactly as the webapp would'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "history" -d 'The tasks the daemon finished, and per drive the average read speed by disc type and the failures (from history.jsonl; no daemon needed)'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "status" -d 'Daemon, drives, running tasks, queue depth, pause state'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "watch" -d 'Live progress bars (or `--json` event lines) until interrupted'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "queue" -d 'Tasks in queue order with their state'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "pause" -d 'Pause the queue after the current task (or `--now`)'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "resume" -d 'Resume the queue'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "cancel" -d 'Stop a running task (TASK_CANCELLED) or remove a queued one'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "drives" -d 'The drives, with their labels and discs'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "label" -d 'Give a drive a persistent human name'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "eject" -d 'Eject the disc from a drive'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "stop" -d 'Ask the running daemon to shut down cleanly'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "makemkv" -d 'MakeMKV tools'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "service" -d 'Run the daemon as a service of your session: started at login, restarted if it fails (launchd on macOS, systemd on Linux)'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "selftest" -d 'First contact with a real drive: detect it, fingerprint and scan the disc, show what the daemon would send, write a report file. Rips only with --rip, ejects only with --eject'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "record" -d 'Save a real session (makemkvcon\'s output, disc events, drive facts; serial numbers removed) into DIR, for `--simulate DIR` to replay'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "generate" -d 'Shell completions and man pages from these definitions (for packagers)'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and not __fish_seen_subcommand_from daemon demo doctor enqueue history status watch queue pause resume cancel drives label eject stop makemkv service selftest record generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and __fish_seen_subcommand_from enqueue" -f -a "scan" -d 'Scan the disc in a drive'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and __fish_seen_subcommand_from enqueue" -f -a "rip" -d 'Rip one title'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and __fish_seen_subcommand_from makemkv" -f -a "parse" -d 'Parse a saved `makemkvcon -r info` transcript and print the scan result'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "install" -d 'Install the daemon as a service of the user\'s session (launchd LaunchAgent on macOS, systemd user unit on Linux) and start it'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "uninstall" -d 'Stop the service, disable it and remove its file'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and __fish_seen_subcommand_from service" -f -a "status" -d 'Say whether the service is installed, loaded and running'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "completions" -d 'Completions for one shell, on stdout'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "man" -d 'The man page amphigory(1), on stdout'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "info-plist" -d 'The `Info.plist` of Amphigory.app, on stdout (version from this binary)'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "icns" -d 'The app icon (the tray\'s disc) as an Apple .icns file'
complete -c amphigory -n "__fish_amphigory_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "all" -d 'Every completion file and man page, into DIR/completions and DIR/man'
