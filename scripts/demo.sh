#!/usr/bin/env bash
# make demo: bring up the lab, run the collection's playbooks against it, inject a host power loss, watch the
# engine react, show the state afterwards, and take the lab down (also on failure or Ctrl-C).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
py="$top/.venv/bin/python"
state="$top/.lab/demo"
export ANSIBLE_COLLECTIONS_PATH="$top/.build" ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_PYTHON_INTERPRETER="$py"
export ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_DISPLAY_SKIPPED_HOSTS=false ANSIBLE_NOCOLOR=1
step() { printf '\n\033[1m==== %s\033[0m\n' "$*"; }
down() { "$py" -m tests.lab down --state-dir "$state" >/dev/null 2>&1 || true; }
trap down EXIT
down

step "1. Bring up the lab: 4 hosts with BMCs, 12 VMs, a hosted engine; engine timeouts scaled down 30x"
"$py" -m tests.lab up --state-dir "$state" --hosts 4 --vms 12 --hosted-engine --time-scale 30
# shellcheck disable=SC1091
source "$state/lab.env"
inv="$state/inventory.yml"
meta=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["hosted_engine"]["metadata_volume"])' "$state/lab.json")
play() { ansible-playbook -i "$inv" "$@"; }

step "2. Health report: one engine snapshot, the hosted-engine metadata volume, every BMC (playbooks/health_report.yml)"
play playbooks/health_report.yml -e "ovirt_ha_he_metadata_path=$meta"

step "3. Configure fencing: BMC preflight, fence agents of all hosts in one task, fencing policy (--diff)"
play playbooks/configure_fencing.yml --diff

step "4. Make VMs highly available, all in one task (--diff); a second run changes nothing"
vms='{"ovirt_ha_vms": [{"name": "vm0002", "priority": 50}, {"name": "vm0004", "priority": 100}]}'
play playbooks/configure_vm_ha.yml -e "$vms" --diff
play playbooks/configure_vm_ha.yml -e "$vms" | grep -E "changed=" || true

victim=$("$py" scripts/demo_engine.py pick-host)
step "5. Fault: $victim loses power (python -m tests.lab fault host_power_loss $victim)"
"$py" -m tests.lab fault host_power_loss "$victim" --state-dir "$state"

step "6. The engine's reaction, as the SDK sees it"
# 121: fenced and restarted; 9013/9014/9015: fencing skipped or disabled by the cluster fencing policy
"$py" scripts/demo_engine.py watch --seconds 60 --until-event 121,9013,9014,9015

if "$py" scripts/demo_engine.py unreachable "$victim"; then
  step "7. The engine did not fence $victim (the fencing policy skipped it), so its HA VMs are stuck: fence it over IPMI"
  echo "   playbooks/fence_host.yml: engine must see it unreachable, another host up, BMC confirms OFF, then manual fence"
  play playbooks/fence_host.yml -e "ovirt_ha_fence_host=$victim" -e "ovirt_ha_he_metadata_path=$meta"
else
  step "7. The engine fenced $victim itself; waiting for it and its HA VMs"
fi
"$py" scripts/demo_engine.py watch --seconds 90 --until-host-up "$victim"

step "8. Health report after recovery (fails if anything is still wrong)"
play playbooks/health_report.yml -e "ovirt_ha_he_metadata_path=$meta" -e ovirt_ha_fail_on_problems=true

step "9. Take the lab down"
down
trap - EXIT
echo "demo finished; the lab is down"
