#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for trying the recipes here and for the test
# (tests/slurm.rs): munged, slurmctld and slurmd, all state under DIR, all as the current user.
#   deploy/slurm/local-cluster.sh start DIR   # prints `export SLURM_CONF=DIR/slurm.conf`
#   deploy/slurm/local-cluster.sh stop DIR    # stops every daemon it started
# Needs Debian's slurm-wlm and munge (slurmctld, slurmd, munged on PATH or in /usr/sbin).
set -euo pipefail
cmd=${1:?usage: local-cluster.sh start|stop DIR}
dir=$(mkdir -p "${2:?usage: local-cluster.sh start|stop DIR}" && cd "$2" && pwd)
export PATH="$PATH:/usr/sbin:/sbin"
ctl_port=${SLURMCTLD_PORT:-16817}
d_port=${SLURMD_PORT:-16818}

stop() {
  # Each daemon by the pid file it wrote; slurmctld last (it may be told to stop slurmd too).
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    if [ -s "$pidfile" ]; then
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$pidfile"
    fi
  done
}

case "$cmd" in
stop) stop; exit 0 ;;
start) ;;
*) echo "usage: local-cluster.sh start|stop DIR" >&2; exit 2 ;;
esac

command -v slurmctld >/dev/null || { echo "slurmctld not found: install slurm-wlm and munge" >&2; exit 1; }
host=$(hostname -s)
user=$(id -un)
mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
chmod 700 "$dir/munge"
# A fresh key for this cluster alone.
head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chmod 400 "$dir/munge/munge.key"
force=""
[ "$(id -u)" = 0 ] && force="--force"
munged $force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"

cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
cat > "$dir/slurm.conf" <<CONF
ClusterName=offersim
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=3600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
PlugStackConfig=/dev/null
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
trap 'stop' ERR
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
# Ready when the node is idle (bounded: 60 s).
for _ in $(seq 1 120); do
  if sinfo -h -o %t 2>/dev/null | grep -qx idle; then
    echo "export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.5
done
echo "the local Slurm cluster did not come up in 60 s; logs in $dir/log" >&2
tail -n 20 "$dir/log/"*.log >&2 || true
stop
exit 1
