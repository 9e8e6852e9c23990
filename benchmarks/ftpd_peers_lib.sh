# Helpers for the FTP server benchmarks (sourced, not run): a work directory
# on tmpfs with cleanup of the servers started, starting ftpd, vsftpd,
# pyftpdlib, pure-ftpd and proftpd on loopback, each configured for speed
# (no reverse DNS, no ident, no per-session namespaces, generous limits),
# and reading their CPU time. The caller sets PEER_DIR (where pure-ftpd and
# proftpd are unpacked from their Debian packages) if it runs those two.
#
#   source benchmarks/ftpd_peers_lib.sh
#   setup_work peers                     # sets WORK, PIDS; cleans up at exit
#   cp bazel-out/k8-opt/bin/ftpd/ftpd "$WORK/"
#   mkdir -p "$WORK/root/pub" "$WORK/root/incoming"
#   start_server vsftpd "$WORK/root"     # sets SERVER_PID, SERVER_PORT
# shellcheck shell=bash

# Makes WORK, a fresh directory on tmpfs (/dev/shm) named after $1, mode 755
# (servers that switch to the ftp user must reach the roots inside), and
# PIDS, an array of processes to kill at exit (start_server appends to it);
# at exit, kills them and removes WORK.
setup_work() {
  WORK="$(mktemp -d "/dev/shm/tpslab-$1.XXXXXX")"
  chmod 755 "$WORK"
  PIDS=()
  trap cleanup_work EXIT
}

cleanup_work() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

# Prints a TCP port on 127.0.0.1 that was free a moment ago.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits up to 5 s for 127.0.0.1:$1 to accept connections; false if it does
# not.
wait_listening() {
  for _ in $(seq 100); do
    if bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

# Seconds of CPU (user + system, own and reaped children) of process $1.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"
}

# Seconds of user + nice + system CPU of the whole machine since boot.
machine_cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { print ($2 + $3 + $4) / hz }' /proc/stat
}

# TIME_WAIT sockets on the machine.
time_wait_count() {
  awk '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "tw") print $(i + 1) }' /proc/net/sockstat
}

# Waits (at most SETTLE_SECONDS) until fewer than 1000 TIME_WAIT sockets
# remain, so that no server inherits the previous one's.
settle_time_wait() {
  local waited=0
  while (($(time_wait_count) >= 1000 && waited < SETTLE_SECONDS)); do
    sleep 1
    waited=$((waited + 1))
  done
  echo "(waited $waited s for TIME_WAIT sockets to expire: $(time_wait_count) left)" >&2
}

# Unpacks Debian packages $2... into $PEER_DIR/root (fetching them with
# `apt-get download` unless already there) so that binary $1 runs from there.
# Returns non-zero, with a message, when it cannot.
unpack_peer() {
  local binary="$1"
  shift
  [[ -x "$PEER_DIR/root/$binary" ]] && return 0
  mkdir -p "$PEER_DIR/debs" "$PEER_DIR/root"
  chmod 777 "$PEER_DIR/debs" # apt's _apt user downloads into it
  if ! (cd "$PEER_DIR/debs" && apt-get download "$@" >"$PEER_DIR/apt.log" 2>&1); then
    echo "cannot fetch $*: $(tail -1 "$PEER_DIR/apt.log")" >&2
    return 1
  fi
  for deb in "$PEER_DIR"/debs/*.deb; do dpkg -x "$deb" "$PEER_DIR/root"; done
  [[ -x "$PEER_DIR/root/$binary" ]] || {
    echo "no $binary in $*" >&2
    return 1
  }
}

# Makes peer $1 runnable; false (with a message) when it cannot be.
prepare_peer() {
  case "$1" in
    pure-ftpd)
      unpack_peer usr/sbin/pure-ftpd pure-ftpd || return 1
      # pure-ftpd serves anonymous users the ftp account's home; it runs in
      # a mount namespace of its own where that directory is the root.
      local home
      home="$(getent passwd ftp | cut -d: -f6)"
      [[ -n "$home" && -d "$home" ]] || {
        echo "user ftp has no home directory" >&2
        return 1
      }
      unshare -m true 2>/dev/null || {
        echo "unshare -m is not allowed here" >&2
        return 1
      }
      ;;
    proftpd)
      unpack_peer usr/sbin/proftpd proftpd-core libhiredis0.14 libmemcached11 \
        libmemcachedutil2 libhashkit2 libpcre2-posix3 || return 1
      LD_LIBRARY_PATH="$PEER_DIR/root/usr/lib/x86_64-linux-gnu" \
        "$PEER_DIR/root/usr/sbin/proftpd" --version >/dev/null 2>"$PEER_DIR/proftpd.err" || {
        echo "proftpd does not run from $PEER_DIR: $(head -1 "$PEER_DIR/proftpd.err")" >&2
        return 1
      }
      ;;
  esac
}

# Starts server $1 ($WORK/ftpd for ftpd) serving $2 (a directory with pub/
# and incoming/: anonymous users read the first and upload into the second)
# on a free loopback port; sets SERVER_PID and SERVER_PORT. Exits the script
# if it does not start listening.
start_server() {
  local name="$1" root="$2"
  SERVER_PORT="$(free_port)"
  case "$name" in
    ftpd)
      "$WORK/ftpd" --listen "127.0.0.1:$SERVER_PORT" --root "$root" --anonymous --anonymous-root / \
        --anonymous-upload-dir /incoming --anonymous-upload-readable \
        --max-sessions 100000 --max-sessions-per-ip 100000 --lockout-threshold 0 \
        --log-level warn >"$WORK/ftpd.out" 2>"$WORK/ftpd.err" &
      SERVER_PID=$!
      ;;
    vsftpd)
      chown -R ftp:ftp "$root/incoming"
      chmod 555 "$root"
      cat >"$WORK/vsftpd.conf" <<EOF
listen=YES
listen_address=127.0.0.1
listen_port=$SERVER_PORT
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$root
write_enable=YES
anon_upload_enable=YES
anon_other_write_enable=YES
anon_umask=022
local_enable=NO
max_clients=0
max_per_ip=0
pasv_enable=YES
pasv_address=127.0.0.1
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
xferlog_enable=NO
use_localtime=NO
secure_chroot_dir=/var/run/vsftpd/empty
EOF
      mkdir -p /var/run/vsftpd/empty
      /usr/sbin/vsftpd "$WORK/vsftpd.conf" >"$WORK/vsftpd.err" 2>&1 &
      SERVER_PID=$!
      ;;
    pyftpdlib)
      /usr/bin/python3 - "$root" "$SERVER_PORT" >"$WORK/pyftpdlib.err" 2>&1 <<'EOF' &
import logging, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
logging.basicConfig(level=logging.WARNING)
authorizer = DummyAuthorizer()
authorizer.add_anonymous(sys.argv[1], perm="elradfmw")
FTPHandler.authorizer = authorizer
FTPHandler.use_sendfile = True
server = FTPServer(("127.0.0.1", int(sys.argv[2])), FTPHandler)
server.max_cons = 0
server.max_cons_per_ip = 0
server.serve_forever()
EOF
      SERVER_PID=$!
      ;;
    pure-ftpd)
      chown -R ftp:ftp "$root/incoming"
      chmod 555 "$root"
      # -e anonymous only, -A chroot, -H no DNS lookups, -c/-C client limits.
      unshare -m sh -c "mount --bind '$root' '$(getent passwd ftp | cut -d: -f6)' && exec \
        '$PEER_DIR/root/usr/sbin/pure-ftpd' -S 127.0.0.1,$SERVER_PORT -e -A -H -c 10000 -C 10000" \
        >"$WORK/pure-ftpd.err" 2>&1 &
      SERVER_PID=$!
      ;;
    proftpd)
      chown -R ftp:ftp "$root/incoming"
      chmod 555 "$root"
      cat >"$WORK/proftpd.conf" <<EOF
ServerType standalone
DefaultAddress 127.0.0.1
Port $SERVER_PORT
SocketBindTight on
User nobody
Group nogroup
ScoreboardFile $WORK/proftpd.scoreboard
PidFile $WORK/proftpd.pid
SystemLog $WORK/proftpd.log
TransferLog none
WtmpLog off
UseReverseDNS off
DelayEngine off
MaxInstances none
UseFtpUsers off
AuthPAM off
Umask 022
<Anonymous $root>
  User ftp
  Group ftp
  UserAlias anonymous ftp
  RequireValidShell off
  <Directory incoming>
    <Limit STOR>
      AllowAll
    </Limit>
  </Directory>
</Anonymous>
EOF
      LD_LIBRARY_PATH="$PEER_DIR/root/usr/lib/x86_64-linux-gnu" \
        "$PEER_DIR/root/usr/sbin/proftpd" -n -q -c "$WORK/proftpd.conf" >"$WORK/proftpd.err" 2>&1 &
      SERVER_PID=$!
      ;;
    *)
      echo "unknown server $name" >&2
      exit 2
      ;;
  esac
  PIDS+=("$SERVER_PID")
  wait_listening "$SERVER_PORT" && return 0
  echo "$name did not start listening on $SERVER_PORT" >&2
  cat "$WORK/$name".* >&2 || true
  exit 1
}
