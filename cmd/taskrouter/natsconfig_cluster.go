package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/taskrouter/taskrouter/bus"
)

// clusterFlags are nats-config's flags for the servers of a cluster.
type clusterFlags struct {
	size   int
	routes string
	out    string
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&c.size, "cluster", 0, "print the configurations of `N` servers (3 or more) of one NATS cluster")
	fs.StringVar(&c.routes, "routes", "", "with --cluster: the servers' route `addresses`, host:port each, comma-separated\n"+
		"(default: 127.0.0.1:6222, 6223, ..., N servers on this machine, clients on 127.0.0.1:4222, 4223, ...)")
	fs.StringVar(&c.out, "out", "", "with --cluster: write taskrouter-1.conf ... into this `directory` instead of printing them")
}

// clusterName is the name of the cluster nats-config prints.
const clusterName = "taskrouter"

// minClusterSize: with three servers, JetStream keeps a quorum of
// replicated streams when one is lost.
const minClusterSize = 3

// writeCluster prints, or writes into cf.out, the configurations of the
// servers of a cluster: base's users, accounts and TLS in each, with its
// own name, addresses and store directory.
func writeCluster(env *cliEnv, base bus.ServerFile, cf clusterFlags, listen string) error {
	files, err := clusterFiles(base, cf, listen)
	if err != nil {
		return err
	}
	if cf.out != "" {
		if err := os.MkdirAll(cf.out, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", cf.out, err)
		}
	}
	for _, f := range files {
		var buf bytes.Buffer
		if err := bus.WriteServerFile(&buf, f); err != nil {
			return usageError{strings.TrimPrefix(err.Error(), "bus: ")}
		}
		if cf.out == "" {
			fmt.Fprintf(env.stdout, "# ==== %s.conf ====\n%s\n", f.ServerName, buf.Bytes())
			continue
		}
		path := filepath.Join(cf.out, f.ServerName+".conf")
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		fmt.Fprintf(env.stdout, "%s: clients on %s, routes on %s\n", path, f.Listen, f.Cluster.Listen)
	}
	return nil
}

// clusterFiles is base for every server of the cluster.
func clusterFiles(base bus.ServerFile, cf clusterFlags, listen string) ([]bus.ServerFile, error) {
	if cf.size < minClusterSize {
		return nil, usageError{fmt.Sprintf("--cluster %d: a JetStream cluster needs at least %d servers, so that it keeps a quorum when one is lost", cf.size, minClusterSize)}
	}
	oneHost := cf.routes == ""
	routes, err := addressList("--routes", cf.routes, cf.size, "127.0.0.1:6222")
	if err != nil {
		return nil, err
	}
	oneHost = oneHost || sameHost(routes)
	listens, err := clientAddresses(base.Listen, listen, cf.size, oneHost)
	if err != nil {
		return nil, err
	}
	if oneHost && base.StoreDir == "" {
		return nil, usageError{"servers on one machine need nats.store_dir: each keeps its JetStream state in a directory of its own under it"}
	}
	files := make([]bus.ServerFile, cf.size)
	for i := range files {
		f := base
		f.ServerName = fmt.Sprintf("%s-%d", clusterName, i+1)
		f.Listen = listens[i]
		if base.StoreDir != "" {
			f.StoreDir = filepath.Join(base.StoreDir, f.ServerName)
		}
		if base.MonitorAddr != "" && oneHost {
			f.MonitorAddr = offsetPort(base.MonitorAddr, i)
		}
		f.Cluster = &bus.ClusterFile{Name: clusterName, Listen: routes[i], Routes: routes}
		files[i] = f
	}
	return files, nil
}

// clientAddresses are the servers' client addresses: a list of n, or one
// for all (on one machine, its port counted up per server).
func clientAddresses(configured, flagValue string, n int, oneHost bool) ([]string, error) {
	if strings.Contains(flagValue, ",") {
		return addressList("--listen", flagValue, n, "")
	}
	one := flagValue
	if one == "" {
		one = configured
	}
	if one == "" {
		one = "0.0.0.0:4222"
		if oneHost {
			one = "127.0.0.1:4222"
		}
	}
	if _, _, err := net.SplitHostPort(one); err != nil {
		return nil, usageError{fmt.Sprintf("--listen %q is not host:port", one)}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = one
		if oneHost {
			out[i] = offsetPort(one, i)
		}
	}
	return out, nil
}

// addressList reads n comma-separated host:port addresses; an empty list
// is def's port counted up n times.
func addressList(flagName, list string, n int, def string) ([]string, error) {
	if list == "" {
		out := make([]string, n)
		for i := range out {
			out[i] = offsetPort(def, i)
		}
		return out, nil
	}
	out := strings.Split(list, ",")
	if len(out) != n {
		return nil, usageError{fmt.Sprintf("%s lists %d addresses for %d servers; give one per server", flagName, len(out), n)}
	}
	seen := map[string]bool{}
	for i, a := range out {
		out[i] = strings.TrimSpace(a)
		if _, _, err := net.SplitHostPort(out[i]); err != nil {
			return nil, usageError{fmt.Sprintf("%s: %q is not host:port", flagName, out[i])}
		}
		if seen[out[i]] {
			return nil, usageError{fmt.Sprintf("%s lists %s twice", flagName, out[i])}
		}
		seen[out[i]] = true
	}
	return out, nil
}

func sameHost(addrs []string) bool {
	first, _, _ := net.SplitHostPort(addrs[0])
	for _, a := range addrs[1:] {
		if h, _, _ := net.SplitHostPort(a); h != first {
			return false
		}
	}
	return true
}

// offsetPort adds i to the port of a host:port.
func offsetPort(hostport string, i int) string {
	host, port, err := net.SplitHostPort(hostport)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil {
		return hostport
	}
	return net.JoinHostPort(host, strconv.Itoa(p+i))
}
