#!/usr/bin/env bash
# Cross-component: a real Prometheus (Debian's /usr/bin/prometheus) scrapes
# the coordinator, a monitor and ftpd with docs/deploy/prometheus.yml (its
# three addresses rewritten to freshly started binaries); every job is up,
# each component's metrics are queryable, every metric name the Grafana
# dashboard uses is on a live /metrics, and every dashboard query returns
# data through Prometheus. The configs pass promtool and the Kubernetes
# manifests parse as YAML.
#   $1 analyzer, $2 monitor, $3 ftpd, $4 loadgen, $5 prometheus.yml,
#   $6 k8s-prometheus.yml, $7 grafana-dashboard.json, $8... k8s manifests
source "$(dirname "$0")/lib.sh"
analyzer="$1"
monitor="$2"
ftpd="$3"
loadgen="$4"
prometheus_yml="$5"
k8s_prometheus_yml="$6"
dashboard="$7"
shift 7
manifests=("$@")
python=/usr/bin/python3

# --- Static checks: promtool and YAML. --------------------------------------
promtool check config "$prometheus_yml" >"$work/promtool.out" 2>&1 ||
  fail "promtool rejects $prometheus_yml" "$work/promtool.out"
# Debian's promtool has no Kubernetes discovery: check the rest of
# k8s-prometheus.yml (globals, relabelling) with static targets instead.
"$python" - "$k8s_prometheus_yml" "$work/k8s-prometheus-static.yml" <<'PY'
import sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
for job in config["scrape_configs"]:
    assert job.pop("kubernetes_sd_configs")[0]["namespaces"]["names"] == ["tpslab"], job["job_name"]
    job["static_configs"] = [{"targets": ["127.0.0.1:1"]}]
yaml.safe_dump(config, open(sys.argv[2], "w"))
PY
promtool check config "$work/k8s-prometheus-static.yml" >"$work/promtool-k8s.out" 2>&1 ||
  fail "promtool rejects $k8s_prometheus_yml" "$work/promtool-k8s.out"

"$python" - "${manifests[@]}" <<'PY'
import sys, yaml
kinds = []
for path in sys.argv[1:]:
    for doc in yaml.safe_load_all(open(path)):
        assert doc["apiVersion"] and doc["metadata"]["name"], path
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "tpslab", (path, doc["metadata"])
        kinds.append(doc["kind"] + "/" + doc["metadata"]["name"])
want = {"Namespace/tpslab", "PersistentVolumeClaim/coordinator-db",
        "Deployment/coordinator", "Service/coordinator", "Deployment/loadgen-agent",
        "DaemonSet/monitor", "Deployment/ftpd", "Service/ftpd", "ConfigMap/scenario",
        "Job/loadgen-run"}
missing = want - set(kinds)
assert not missing, "manifests lack %s" % sorted(missing)
print("k8s manifests: %d objects: %s" % (len(kinds), " ".join(sorted(kinds))))
PY

# --- The components. --------------------------------------------------------
token=prom-test-token
start_ftpd --admin 127.0.0.1:0
ftpd_admin="$(address_from "$work/ftpd.out" "admin on")"
start_analyzer 127.0.0.1:0 --token "$token"
"$monitor" --coordinator "$grpc_address" --token "$token" --prometheus 127.0.0.1:0 --process ftpd \
  --interval 500ms --log-level warn >"$work/monitor.out" 2>"$work/monitor.err" &
pids+=($!)
monitor_http="$(address_from "$work/monitor.out" "prometheus on")"
# A loadgen agent as in k8s/loadgen-agents.yaml: registers and stays connected.
"$loadgen" agent --coordinator "$grpc_address" --token "$token" --name agent-1 \
  >"$work/agent.out" 2>"$work/agent.err" &
pids+=($!)

# --- Prometheus with docs/deploy/prometheus.yml. ------------------------------
sed -e "s/127\.0\.0\.1:8080/$http_address/" -e "s/127\.0\.0\.1:9100/$monitor_http/" \
  -e "s/127\.0\.0\.1:9121/$ftpd_admin/" "$prometheus_yml" >"$work/prometheus.yml"
for address in "$http_address" "$monitor_http" "$ftpd_admin"; do
  grep -q "\"$address\"" "$work/prometheus.yml" ||
    fail "prometheus.yml has no target line to point at $address"
done
prom_port="$(free_port)"
/usr/bin/prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn \
  >/dev/null 2>"$work/prometheus.err" &
pids+=($!)

# Load through the coordinator while Prometheus scrapes, so the live gauges
# (tpslab_tps, latency, errors: "the latest complete second") are seen
# non-zero; after the load they rightly fall back to zero.
"$loadgen" run --target "ftp://anonymous:test@$ftp_address/incoming/" --transaction upload:1KiB \
  --users 2 --duration 6s --progress off --coordinator "$grpc_address" --token "$token" \
  >"$work/loadgen.out" 2>"$work/loadgen.err" &
loadgen_pid=$!
pids+=("$loadgen_pid")

# The coordinator exposes the live load gauges from the first interval on.
for _ in $(seq 150); do
  curl -sf "http://$http_address/metrics" | grep -q '^tpslab_tps{' && break
  sleep 0.2
done
for name in analyzer monitor ftpd; do
  case "$name" in
    analyzer) address="$http_address" ;;
    monitor) address="$monitor_http" ;;
    ftpd) address="$ftpd_admin" ;;
  esac
  curl -sf "http://$address/metrics" >"$work/$name.prom" ||
    fail "GET http://$address/metrics ($name) failed"
done

"$python" - "$prom_port" "$dashboard" "$work" <<'PY'
import json, re, sys, time, urllib.parse, urllib.request
port, dashboard_path, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def query(promql):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": promql}))
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
    except urllib.error.HTTPError as e:
        raise AssertionError("Prometheus rejects %r: %s" % (promql, e.read().decode()))
    except OSError:
        return None  # Not listening yet.
    assert body["status"] == "success", (promql, body)
    return body["data"]["result"]

def wait_for(what, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value is not None and value != []:  # 0 is a value.
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.25)

# Every job of prometheus.yml is up.
def all_up():
    result = query("up")
    if result is None:
        return None
    up = {r["metric"]["job"]: float(r["value"][1]) for r in result}
    return up if up == {"analyzer": 1, "monitor": 1, "ftpd": 1} else None
print("up:", wait_for("analyzer, monitor and ftpd up", all_up))

# A few series of each component, through PromQL.
def value(promql):
    result = query(promql)
    return float(result[0]["value"][1]) if result else None
# The live gauges: some scrape during the load saw them positive.
checks = {
    'max_over_time(tpslab_tps{job="analyzer",transaction="upload"}[5m])': lambda v: v > 0,
    'max_over_time(tpslab_latency_seconds{job="analyzer",transaction="upload",quantile="0.99"}[5m])':
        lambda v: v > 0,
    'tpslab_agent_connected{job="analyzer",source="agent-1",kind="AGENT_KIND_LOADGEN"}': lambda v: v == 1,
    'sum(tpslab_agent_connected{job="analyzer",kind="AGENT_KIND_MONITOR"})': lambda v: v == 1,
    'count(node_cpu_seconds_total{job="monitor",mode="idle"})': lambda v: v >= 1,
    'node_memory_MemTotal_bytes{job="monitor"}': lambda v: v > 0,
    'tpslab_process_up{job="monitor",selector="name:ftpd"}': lambda v: v == 1,
    'ftpd_transfers_total{job="ftpd",direction="upload",result="ok"}': lambda v: v > 0,
    'ftpd_sessions{job="ftpd"}': lambda v: v == 0,  # Once the load is over.
}
for promql, ok in checks.items():
    last = []
    def holds():
        v = value(promql)
        last[:] = [v]
        return v if v is not None and ok(v) else None
    try:
        v = wait_for(promql, holds, 30)
    except AssertionError:
        raise AssertionError("%s = %r" % (promql, last[0] if last else None))
    print("%s = %g" % (promql, v))

# Every metric name of the dashboard is on a live /metrics.
dashboard = json.load(open(dashboard_path))
assert dashboard["schemaVersion"] >= 36, dashboard["schemaVersion"]
assert dashboard["__inputs"][0]["name"] == "DS_PROMETHEUS"
exprs = []
for panel in dashboard["panels"]:
    if panel["type"] == "row":
        continue
    assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
    exprs += [t["expr"] for t in panel["targets"]]
variables = [v["query"]["query"] for v in dashboard["templating"]["list"]]
exposed = set()
for name in ("analyzer", "monitor", "ftpd"):
    for line in open("%s/%s.prom" % (work, name)):
        if line.strip() and not line.startswith("#"):
            exposed.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
used = set()
for expr in exprs + variables:
    used |= set(re.findall(r"\b(?:tpslab|node|ftpd|monitor)_[A-Za-z0-9_]+", expr))
missing = sorted(used - exposed)
assert not missing, "dashboard metrics on no /metrics: %s" % missing
print("dashboard: %d queries, %d metric names, all exposed" % (len(exprs), len(used)))

# Every dashboard query evaluates to data, with Grafana's variables as
# Grafana would fill them ("All" and a rate window of a few scrapes).
def substitute(expr):
    return (expr.replace("$__rate_interval", "5s").replace("$transaction", ".*")
            .replace("$node", ".*"))
for expr in exprs:
    wait_for("data for " + expr, lambda: query(substitute(expr)), 30)
for variable in variables:
    metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable).groups()
    assert any(label in r["metric"] for r in query(metric)), variable
print("dashboard: every query returns data")
PY
wait "$loadgen_pid" || fail "loadgen exited with $?" "$work/loadgen.err"
echo PASS
