package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/taskrouter/taskrouter/bus"
)

func runNATSConfig(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "nats-config", "", "Prints a nats-server configuration with the users, roles and permissions of nats.users (and\n"+
		"nats.tls, nats.monitor_addr, nats.store_dir), for running taskrouter on a NATS of your own:\n"+
		"  taskrouter nats-config --config taskrouter.yaml > nats.conf && nats-server -c nats.conf\n"+
		"Passwords are not printed: the configuration names each user's password_env, which\n"+
		"nats-server reads from its environment. Routers then set nats.url and log in as a router user.\n"+
		"With --cluster N it prints the configurations of N servers of one cluster, with JetStream, routes\n"+
		"to each other, and a server name and store directory each (set nats.replicas: 3 for the routers):\n"+
		"  taskrouter nats-config --config taskrouter.yaml --cluster 3 --routes a:6222,b:6222,c:6222 --out conf/")
	config := fs.String("config", "", "configuration `file` (YAML) whose nats.users to print")
	listen := fs.String("listen", "", "the server's client `address` (default: nats.listen, else 0.0.0.0:4222); with --cluster, one\n"+
		"for every server or a comma-separated list of N")
	var cf clusterFlags
	cf.register(fs)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("nats-config takes no arguments, got %q", strings.Join(rest, " "))}
	}
	cfg, err := loadConfig(env, *config)
	if err != nil {
		return err
	}
	n := cfg.NATS
	f := bus.ServerFile{Listen: n.Listen, StoreDir: n.StoreDir, MonitorAddr: n.MonitorAddr, TokenEnv: n.TokenEnv,
		Auth: bus.Auth{AllowAnonymous: n.AllowAnonymous, Windows: responseWindows(cfg.Router)}}
	if *listen != "" {
		f.Listen = *listen
	}
	if n.TLS.CertFile != "" {
		f.TLS = n.TLS.files()
	}
	for _, u := range n.Users {
		f.Auth.Users = append(f.Auth.Users, u.busUser(""))
	}
	if cf.size > 0 {
		return writeCluster(env, f, cf, *listen)
	}
	if cf.routes != "" || cf.out != "" {
		return usageError{"--routes and --out go with --cluster N"}
	}
	if err := bus.WriteServerFile(env.stdout, f); err != nil {
		return usageError{strings.TrimPrefix(err.Error(), "bus: ")}
	}
	return nil
}

// serviceVersion is the version routers and executors give NATS's service
// discovery: the module's, as semantic versioning has it, or 0.0.0.
func serviceVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || !strings.HasPrefix(bi.Main.Version, "v") {
		return "0.0.0"
	}
	return strings.TrimPrefix(bi.Main.Version, "v")
}
