#!/usr/bin/env bash
# Network namespaces for kiln_bench_scaleout --network=netns: rank R runs in
# namespace kiln-so-R with address 10.77.0.(R+1) on interface kso<R>, every
# link shaped to RATE in both directions with tc tbf (netem is not in this
# kernel). Two ranks share one veth pair; more meet at a bridge in the
# namespace kiln-so-hub. Needs root.
#   bench/scaleout/netns.sh up 4 1gbit
#   bench/scaleout/netns.sh down
set -euo pipefail

shape() {  # namespace interface rate
  # burst: a few ms of traffic at the rate; latency bounds the queue.
  ip netns exec "$1" tc qdisc replace dev "$2" root tbf rate "$3" burst 256kb latency 20ms
  # Segments larger than the MTU would pass the bucket in one piece.
  ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
}

down() {
  for ns in $(ip netns list | awk '/^kiln-so-/ {print $1}'); do ip netns delete "$ns"; done
}

up() {
  local ranks="$1" rate="$2"
  down
  if [ "$ranks" -eq 2 ]; then
    ip netns add kiln-so-0
    ip netns add kiln-so-1
    ip link add kso0 netns kiln-so-0 type veth peer name kso1 netns kiln-so-1
  else
    ip netns add kiln-so-hub
    ip netns exec kiln-so-hub ip link add br0 type bridge
    ip netns exec kiln-so-hub ip link set br0 up
    for ((r = 0; r < ranks; r++)); do
      ip netns add "kiln-so-$r"
      ip link add "kso$r" netns "kiln-so-$r" type veth peer name "hub$r" netns kiln-so-hub
      ip netns exec kiln-so-hub ip link set "hub$r" master br0 up
      shape kiln-so-hub "hub$r" "$rate"
    done
  fi
  for ((r = 0; r < ranks; r++)); do
    ip netns exec "kiln-so-$r" ip addr add "10.77.0.$((r + 1))/24" dev "kso$r"
    ip netns exec "kiln-so-$r" ip link set "kso$r" up
    ip netns exec "kiln-so-$r" ip link set lo up
    shape "kiln-so-$r" "kso$r" "$rate"
  done
}

case "${1:-}" in
  up) up "${2:?ranks}" "${3:-1gbit}" ;;
  down) down ;;
  *) echo "usage: $0 up RANKS [RATE] | down" >&2; exit 2 ;;
esac
