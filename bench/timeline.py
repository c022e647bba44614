#!/usr/bin/env python3
"""Prints when each hop of an apply happened, in seconds after START (epoch
ms), from the objects of one cluster as `kubectl get -o json` lists them:

  bench/timeline.py START objects.json

objects.json holds Clusters, AWSClusters, KubeadmControlPlanes,
MachineDeployments, MachineSets, Machines, KubeadmConfigs and AWSMachines.
For each kind of machine (control plane, worker) it gives the first,
median and last machine's moment of each hop: the Machine created, its
KubeadmConfig's bootstrap data ready, its AWSMachine's instance running,
its node known to Cluster API (status.nodeRef), the node Ready. Kubernetes
timestamps have one-second resolution."""
import json
import statistics
import sys
from datetime import datetime


def ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timestamp()


def cond(obj, kind):
    for c in obj.get("status", {}).get("conditions", []) or []:
        if c["type"] == kind and c["status"] == "True":
            return ts(c["lastTransitionTime"])
    return None


def main():
    start = int(sys.argv[1]) / 1000
    items = json.load(open(sys.argv[2]))["items"]
    by_kind = {}
    for o in items:
        by_kind.setdefault(o["kind"], []).append(o)
    rel = lambda t: None if t is None else t - start

    def once(kind, label, pick):
        for o in by_kind.get(kind, []):
            print(f"  {label:<48} {fmt(rel(pick(o)))}")

    print("cluster:")
    once("AWSCluster", "AWSCluster created", lambda o: ts(o["metadata"]["creationTimestamp"]))
    once("AWSCluster", "network and load balancer ready (Ready)", lambda o: cond(o, "Ready"))
    once("KubeadmControlPlane", "KubeadmControlPlane initialized", lambda o: cond(o, "Initialized"))
    once("Cluster", "Cluster ControlPlaneAvailable", lambda o: cond(o, "ControlPlaneAvailable"))
    once("MachineDeployment", "MachineDeployment created", lambda o: ts(o["metadata"]["creationTimestamp"]))
    once("MachineSet", "MachineSet created", lambda o: ts(o["metadata"]["creationTimestamp"]))

    configs = {o["metadata"]["name"]: o for o in by_kind.get("KubeadmConfig", [])}
    infra = {o["metadata"]["name"]: o for o in by_kind.get("AWSMachine", [])}
    groups = {}
    for m in by_kind.get("Machine", []):
        role = "control plane" if "cluster.x-k8s.io/control-plane" in m["metadata"].get("labels", {}) else "workers"
        spec = m["spec"]
        cfg = configs.get(spec.get("bootstrap", {}).get("configRef", {}).get("name"))
        aws = infra.get(spec.get("infrastructureRef", {}).get("name"))
        hops = {
            "Machine created": ts(m["metadata"]["creationTimestamp"]),
            "bootstrap data ready": cond(cfg, "DataSecretAvailable") if cfg else None,
            "AWSMachine created": ts(aws["metadata"]["creationTimestamp"]) if aws else None,
            "instance running (AWSMachine Ready)": cond(aws, "Ready") if aws else None,
            "Machine InfrastructureReady": cond(m, "InfrastructureReady"),
            "Machine NodeReady": cond(m, "NodeReady"),
            "Machine Ready": cond(m, "Ready"),
        }
        for k, v in hops.items():
            groups.setdefault(role, {}).setdefault(k, []).append(rel(v))
    for role, hops in groups.items():
        n = len(next(iter(hops.values())))
        print(f"{role} ({n} machines): first / median / last")
        for k, vs in hops.items():
            known = sorted(v for v in vs if v is not None)
            if not known:
                print(f"  {k:<48} -")
                continue
            print(f"  {k:<48} {fmt(known[0])} / {fmt(statistics.median(known))} / {fmt(known[-1])}"
                  + ("" if len(known) == len(vs) else f"  ({len(vs) - len(known)} unknown)"))


def fmt(v):
    return "-" if v is None else f"{v:6.1f} s"


if __name__ == "__main__":
    main()
