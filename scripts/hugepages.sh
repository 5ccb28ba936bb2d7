#!/usr/bin/env bash
# hugepages.sh reserve <N>: makes sure at least N 2 MB hugepages are free and
# hugetlbfs is mounted at /dev/hugepages. Exits non-zero when it cannot.
set -euo pipefail
want=${2:-512}
[ "${1:-}" = reserve ] || { echo "usage: $0 reserve <pages>" >&2; exit 2; }
free_pages() { awk '/^HugePages_Free:/ {print $2}' /proc/meminfo; }
if [ "$(free_pages)" -lt "$want" ]; then
    total=$(awk '/^HugePages_Total:/ {print $2}' /proc/meminfo)
    echo $((total + want - $(free_pages))) > /proc/sys/vm/nr_hugepages 2>/dev/null || exit 1
fi
[ "$(free_pages)" -ge "$want" ] || exit 1
mkdir -p /dev/hugepages
mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages || exit 1
echo "hugepages: $(free_pages) free"
